# What `cmake --install` puts where (GNUInstallDirs, under CMAKE_INSTALL_PREFIX):
#   bin/mailhook                                   the daemon
#   lib*/libmailhook_lookup.so.0 (+ .so)           the lookup library send workers link
#   include/mailhook/                              its public headers
#   lib*/cmake/mailhook/                           find_package(mailhook): mailhook::lookup
#   lib*/pkgconfig/mailhook.pc                     pkg-config --cflags --libs mailhook
#   lib/systemd/system/mailhook.service            the unit, naming this prefix's binary
#   share/doc/mailhook/                            README, docs/, the example configuration
# docs/library.md describes the library and its package files, docs/package.md the
# Debian package built from the same rules.
include(CMakePackageConfigHelpers)

set(MAILHOOK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mailhook)
set(MAILHOOK_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(TARGETS mailhook RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mailhook_lookup EXPORT mailhook_targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mailhook
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

# The package files name no absolute path: the tree can be installed or moved anywhere.
install(EXPORT mailhook_targets NAMESPACE mailhook:: FILE mailhookTargets.cmake
  DESTINATION ${MAILHOOK_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/mailhookConfig.cmake.in
  ${PROJECT_BINARY_DIR}/mailhookConfig.cmake INSTALL_DESTINATION ${MAILHOOK_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mailhookConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mailhookConfig.cmake
              ${PROJECT_BINARY_DIR}/mailhookConfigVersion.cmake
  DESTINATION ${MAILHOOK_CMAKE_DIR})

file(RELATIVE_PATH MAILHOOK_PC_TO_PREFIX /root/${MAILHOOK_PKGCONFIG_DIR} /root)
configure_file(${CMAKE_CURRENT_LIST_DIR}/mailhook.pc.in ${PROJECT_BINARY_DIR}/mailhook.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mailhook.pc DESTINATION ${MAILHOOK_PKGCONFIG_DIR})

# The unit names the binary by its absolute path, known only when installing: the
# prefix of `cmake --install --prefix`, or /usr in the Debian package. deploy/systemd
# keeps the /usr/local one for a copy by hand.
string(CONFIGURE [[
  set(unit_source "@PROJECT_SOURCE_DIR@/deploy/systemd/mailhook.service")
  file(READ "${unit_source}" unit)
  string(REPLACE "/usr/local/bin/mailhook" "${CMAKE_INSTALL_PREFIX}/@CMAKE_INSTALL_BINDIR@/mailhook"
         unit "${unit}")
  string(REPLACE "/usr/local/share/doc/mailhook" "${CMAKE_INSTALL_PREFIX}/@CMAKE_INSTALL_DOCDIR@"
         unit "${unit}")
  # One file per destination: a package build and an install may run at the same time.
  string(MD5 destination "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
  file(WRITE "@PROJECT_BINARY_DIR@/install/${destination}/mailhook.service" "${unit}")
  file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
       FILES "@PROJECT_BINARY_DIR@/install/${destination}/mailhook.service")
]] install_unit @ONLY)
install(CODE "${install_unit}")

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/config/mailhook.example.toml
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
