// Keeps deploy/config/mailhook.example.toml, the configuration reference by example, in step
// with the code: it must load cleanly and hold exactly the defaults. The local configuration
// that scripts/run uses must load too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "config/daemon_config.h"

namespace mailhook::config {
namespace {

std::filesystem::path deploy_config(const char* name) {
  // CTest sets MAILHOOK_SOURCE_DIR; a direct run falls back to where this was built from.
  const char* source_dir = std::getenv("MAILHOOK_SOURCE_DIR");
  if (source_dir == nullptr) source_dir = MAILHOOK_BUILD_SOURCE_DIR;
  return std::filesystem::path(source_dir) / "deploy/config" / name;
}

TEST(example_config, loads_and_equals_the_defaults) {
  auto loaded = load_file(deploy_config("mailhook.example.toml"), environment{});
  ASSERT_TRUE(loaded) << loaded.error().message;
  // A named object: g++ 12 at -O3 warns (wrongly) about a temporary of this size.
  const daemon_config defaults;
  EXPECT_EQ(*loaded, defaults);
}

// scripts/run starts mailhook with this file; the sender sends the local tenant's mail
// through one integration whose key scripts/run writes to .run/sendgrid-api-key.
TEST(local_config, loads_with_its_integration) {
  // Without secrets: scripts/run writes the admin token's file before it starts mailhook.
  auto loaded = load_file(deploy_config("mailhook.local.toml"), environment{},
                          load_options{.read_secrets = false});
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->sources.size(), 1u);
  ASSERT_EQ(loaded->integrations.size(), 1u);
  const integration_config& local = loaded->integrations[0];
  EXPECT_EQ(local.name, "local");
  EXPECT_EQ(local.tenant, loaded->sources[0].tenant);
  // A file that scripts/run writes, not a variable of scripts/run's environment, so that the
  // send-test command it prints works in another terminal (tests/scripts/run_hints_test.sh).
  EXPECT_EQ(local.api_key_file, ".run/sendgrid-api-key");
  EXPECT_EQ(local.api_key_env, "");
  EXPECT_EQ(local.from_email, "sender@example.com");
  EXPECT_EQ(local.reply_to_email, "replies@example.com");
  EXPECT_EQ(loaded->sender.transactional_id, "mailhook-sender-local");
  EXPECT_EQ(loaded->topics.send_ledger.partitions, loaded->topics.send_requests.partitions);
  // The admin API takes the token scripts/run makes, with write scope for the README's
  // commands.
  ASSERT_EQ(loaded->admin.tokens.size(), 1u);
  EXPECT_EQ(loaded->admin.tokens[0].name, "local");
  EXPECT_EQ(loaded->admin.tokens[0].scope, admin_scope::write);
  EXPECT_EQ(loaded->admin.tokens[0].file, ".run/admin-token");
  EXPECT_FALSE(loaded->admin.allow_unauthenticated);
}

}  // namespace
}  // namespace mailhook::config
