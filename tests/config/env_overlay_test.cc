// Tests for how MAILHOOK_* variable names map to config paths.
#include "config/env_overlay.h"

#include <gtest/gtest.h>

namespace mailhook::config {
namespace {

constexpr std::string_view top_level[] = {"roles"};
constexpr std::string_view dotted[] = {"kafka.properties"};
const env_rules rules{top_level, dotted};

key_path path_of(std::string_view name) {
  auto mapped = env_key_path(name, rules);
  if (!mapped || !*mapped) return {};
  return **mapped;
}

TEST(env_key_path, splits_on_double_underscores_and_lower_cases) {
  EXPECT_EQ(path_of("MAILHOOK_KAFKA__BOOTSTRAP_SERVERS"), (key_path{"kafka", "bootstrap_servers"}));
  EXPECT_EQ(path_of("MAILHOOK_TOPICS__EVENTS__PARTITIONS"),
            (key_path{"topics", "events", "partitions"}));
}

TEST(env_key_path, reads_kafka_property_underscores_as_dots) {
  EXPECT_EQ(path_of("MAILHOOK_KAFKA__PROPERTIES__SECURITY_PROTOCOL"),
            (key_path{"kafka", "properties", "security.protocol"}));
  EXPECT_EQ(path_of("MAILHOOK_KAFKA__PROPERTIES__SASL__MECHANISMS"),
            (key_path{"kafka", "properties", "sasl.mechanisms"}));
}

TEST(env_key_path, knows_top_level_keys_without_a_separator) {
  EXPECT_EQ(path_of("MAILHOOK_ROLES"), (key_path{"roles"}));
}

TEST(env_key_path, ignores_variables_that_are_not_config) {
  for (const char* name : {"HOME", "MAILHOOK_SOURCE_DIR", "MAILHOOK_TEST_KAFKA_BOOTSTRAP",
                           "XMAILHOOK_A__B", "mailhook_kafka__client_id"}) {
    EXPECT_FALSE(env_key_path(name, rules).has_value()) << name;
  }
}

TEST(env_key_path, refuses_empty_segments) {
  for (const char* name : {"MAILHOOK_KAFKA____CLIENT_ID", "MAILHOOK___KAFKA", "MAILHOOK_KAFKA__"}) {
    auto mapped = env_key_path(name, rules);
    ASSERT_TRUE(mapped.has_value()) << name;
    EXPECT_FALSE(*mapped) << name;
  }
}

}  // namespace
}  // namespace mailhook::config
