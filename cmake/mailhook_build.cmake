# Build-wide settings shared by every mailhook target: the warning set, sanitizers,
# and mailhook_library(), which gives each src/<module>/ folder one library with a
# mailhook::<module> alias.

add_library(mailhook_warnings INTERFACE)
target_compile_options(mailhook_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
  # g++ 12 reports impossible overlaps in inlined std::string concatenation at -O2 and
  # above (GCC bug 105329): a false positive that would fail every -Werror build.
  -Wno-restrict)
if(MAILHOOK_WERROR)
  target_compile_options(mailhook_warnings INTERFACE -Werror)
endif()
add_library(mailhook::warnings ALIAS mailhook_warnings)

if(MAILHOOK_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(MAILHOOK_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT MAILHOOK_SANITIZE STREQUAL "")
  message(FATAL_ERROR "MAILHOOK_SANITIZE must be empty, 'address' or 'thread'")
endif()

# mailhook_library(<module> SOURCES ... [DEPS ...])
#   Builds src/<module>/ as the static library mailhook_<module>, aliased
#   mailhook::<module>. Headers are included as "<module>/<file>.h" from src/.
function(mailhook_library module)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(mailhook_${module} STATIC ${ARG_SOURCES})
  add_library(mailhook::${module} ALIAS mailhook_${module})
  target_include_directories(mailhook_${module}
    PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(mailhook_${module} PUBLIC ${ARG_DEPS} PRIVATE mailhook::warnings)
endfunction()
