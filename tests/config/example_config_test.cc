// Keeps deploy/config/mailhook.example.toml, the configuration reference by example, in step
// with the code: it must load cleanly and hold exactly the defaults.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "config/daemon_config.h"

namespace mailhook::config {
namespace {

TEST(example_config, loads_and_equals_the_defaults) {
  // CTest sets MAILHOOK_SOURCE_DIR; a direct run falls back to where this was built from.
  const char* source_dir = std::getenv("MAILHOOK_SOURCE_DIR");
  if (source_dir == nullptr) source_dir = MAILHOOK_BUILD_SOURCE_DIR;
  auto file = std::filesystem::path(source_dir) / "deploy/config/mailhook.example.toml";
  auto loaded = load_file(file, environment{});
  ASSERT_TRUE(loaded) << loaded.error().message;
  // A named object: g++ 12 at -O3 warns (wrongly) about a temporary of this size.
  const daemon_config defaults;
  EXPECT_EQ(*loaded, defaults);
}

}  // namespace
}  // namespace mailhook::config
