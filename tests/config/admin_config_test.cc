// Tests for [admin]: the admin API's tokens (their secrets read from files and variables
// at load, every problem reported on its key without the secret), the unauthenticated
// opt-out, the Host allow-list, TLS and the monitoring listener.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <string>

#include "config/daemon_config.h"
#include "support/temp_dir.h"

namespace mailhook::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view read_secret = "r3ad-secret-0123456789abcdef";
constexpr std::string_view write_secret = "wr1te-secret-0123456789abcdef";

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}

std::string error_of(const result<daemon_config>& loaded) {
  return loaded ? std::string("<loaded without error>") : loaded.error().message;
}

class admin_config_test : public ::testing::Test {
 protected:
  result<daemon_config> load(std::string_view text, const environment& env = {},
                             load_options options = {}) const {
    return load_string(text, "mailhook.toml", env, options);
  }

  // A [[admin.tokens]] entry whose secret is in a file of the test's own.
  std::string file_token(std::string_view name, std::string_view scope,
                         std::string_view secret) const {
    auto file = dir_.write(std::string(name) + ".secret", secret);
    return "[[admin.tokens]]\nname = \"" + std::string(name) + "\"\nscope = \"" +
           std::string(scope) + "\"\nfile = \"" + file.string() + "\"\n\n";
  }

  testing::temp_dir dir_;
};

TEST_F(admin_config_test, defaults_have_no_tokens_no_opt_out_and_no_monitoring_listener) {
  auto loaded = load("");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_TRUE(loaded->admin.tokens.empty());
  EXPECT_FALSE(loaded->admin.allow_unauthenticated);
  EXPECT_TRUE(loaded->admin.allowed_hosts.empty());
  EXPECT_EQ(loaded->admin.tls, admin_tls_config{});
  EXPECT_FALSE(loaded->admin.monitoring_listen.has_value());
}

TEST_F(admin_config_test, reads_tokens_from_a_file_and_a_variable_keeping_only_their_digests) {
  // The file ends in a newline, as `echo` and editors write it: not part of the secret.
  auto toml = file_token("ops-oncall", "write", std::string(write_secret) + "\n") +
              "[[admin.tokens]]\nname = \"dashboard\"\nscope = \"read\"\nenv = \"DASH_TOKEN\"\n";
  auto loaded = load(toml, {{"DASH_TOKEN", std::string(read_secret)}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  ASSERT_EQ(loaded->admin.tokens.size(), 2u);
  const auto& ops = loaded->admin.tokens[0];
  EXPECT_EQ(ops.name, "ops-oncall");
  EXPECT_EQ(ops.scope, admin_scope::write);
  EXPECT_EQ(ops.secret_sha256, sha256(write_secret));
  const auto& dashboard = loaded->admin.tokens[1];
  EXPECT_EQ(dashboard.name, "dashboard");
  EXPECT_EQ(dashboard.scope, admin_scope::read);
  EXPECT_EQ(dashboard.env, "DASH_TOKEN");
  EXPECT_EQ(dashboard.secret_sha256, sha256(read_secret));
}

TEST_F(admin_config_test, a_crlf_line_end_is_dropped_too_but_inner_spaces_are_refused) {
  auto loaded = load(file_token("a", "read", std::string(read_secret) + "\r\n"));
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->admin.tokens[0].secret_sha256, sha256(read_secret));

  auto spaced = load(file_token("b", "read", "two words of a secret text\n"));
  EXPECT_THAT(error_of(spaced), HasSubstr("admin.tokens[0].file: token 'b': the secret in the "
                                          "file "));
  EXPECT_THAT(error_of(spaced), HasSubstr("must be visible ASCII"));
  EXPECT_THAT(error_of(spaced), Not(HasSubstr("two words")));
}

TEST_F(admin_config_test, a_missing_file_is_an_error_on_its_file_key_with_position) {
  auto loaded = load(
      "[admin]\nlisten = \"127.0.0.1:9464\"\n\n[[admin.tokens]]\nname = \"a\"\n"
      "scope = \"read\"\nfile = \"/nonexistent/mailhook-token\"\n");
  EXPECT_EQ(error_of(loaded),
            "mailhook.toml:7:8: admin.tokens[0].file: cannot read the secret of token 'a' from "
            "/nonexistent/mailhook-token: No such file or directory");
}

TEST_F(admin_config_test, an_unset_variable_is_an_error_on_its_env_key) {
  auto loaded = load("[[admin.tokens]]\nname = \"a\"\nscope = \"write\"\nenv = \"NOT_SET_HERE\"\n");
  EXPECT_EQ(error_of(loaded),
            "mailhook.toml:4:7: admin.tokens[0].env: token 'a': the environment variable "
            "NOT_SET_HERE is not set");
}

TEST_F(admin_config_test, empty_and_short_secrets_are_refused_without_showing_them) {
  auto empty = load(file_token("a", "read", "\n"));
  EXPECT_THAT(error_of(empty), HasSubstr("admin.tokens[0].file: token 'a': the secret in the "
                                         "file "));
  EXPECT_THAT(error_of(empty), HasSubstr(" is empty"));

  auto short_one = load(file_token("b", "read", "fifteen-bytes!!"));
  EXPECT_THAT(error_of(short_one), HasSubstr("is 15 bytes; it needs at least 16"));
  EXPECT_THAT(error_of(short_one), Not(HasSubstr("fifteen")));

  // 16 bytes is enough.
  EXPECT_TRUE(load(file_token("c", "read", "sixteen-bytes!!!")));

  auto short_env = load("[[admin.tokens]]\nname = \"d\"\nscope = \"read\"\nenv = \"SHORT\"\n",
                        {{"SHORT", "abc"}});
  EXPECT_THAT(error_of(short_env),
              HasSubstr("admin.tokens[0].env: token 'd': the secret in the environment "
                        "variable SHORT is 3 bytes"));
}

TEST_F(admin_config_test, duplicate_names_and_duplicate_secrets_are_refused) {
  auto names =
      load(file_token("ops", "read", read_secret) + file_token("ops", "write", write_secret));
  EXPECT_THAT(error_of(names),
              HasSubstr("admin.tokens[1].name: 'ops' is also the name of admin.tokens[0]"));

  auto same = load(file_token("ops", "write", write_secret) +
                       "[[admin.tokens]]\nname = \"dash\"\nscope = \"read\"\nenv = \"DASH\"\n",
                   {{"DASH", std::string(write_secret)}});
  EXPECT_THAT(error_of(same), HasSubstr("admin.tokens[1].env: token 'dash' has the same secret as "
                                        "admin.tokens[0] ('ops')"));
  EXPECT_THAT(error_of(same), Not(HasSubstr(std::string(write_secret))));
}

TEST_F(admin_config_test, a_token_needs_a_name_a_scope_and_exactly_one_secret_source) {
  auto loaded = load(
      "[[admin.tokens]]\nscope = \"admin\"\nfile = \"/x\"\nenv = \"X\"\n\n"
      "[[admin.tokens]]\nname = \"no scope\"\n");
  auto error = error_of(loaded);
  EXPECT_THAT(error, HasSubstr("admin.tokens[0].name: every token has a name"));
  EXPECT_THAT(error, HasSubstr("admin.tokens[0].scope: expected read or write, got 'admin'"));
  EXPECT_THAT(error, HasSubstr("admin.tokens[0].env: a token reads its secret from exactly one "
                               "of file"));
  EXPECT_THAT(error, HasSubstr("admin.tokens[1].name: every token has a name"));
  EXPECT_THAT(error, HasSubstr("admin.tokens[1].scope: every token says its scope"));
  EXPECT_THAT(error, HasSubstr("admin.tokens[1].file: a token reads its secret from exactly one"));
}

TEST_F(admin_config_test, a_secret_written_in_the_configuration_is_refused_and_not_repeated) {
  auto loaded = load(
      "[[admin.tokens]]\nname = \"a\"\nscope = \"read\"\nsecret = \"pasted-secret-value-123\"\n"
      "env = \"pasted-secret-value-456\"\n");
  auto error = error_of(loaded);
  EXPECT_THAT(error, HasSubstr("admin.tokens[0].secret: a token's secret is never written in the "
                               "configuration"));
  EXPECT_THAT(error, HasSubstr("admin.tokens[0].env: expected the name of the environment "
                               "variable"));
  EXPECT_THAT(error, Not(HasSubstr("pasted-secret")));
}

TEST_F(admin_config_test, unknown_keys_of_a_token_are_reported_with_its_index) {
  auto loaded = load(file_token("a", "read", read_secret) + "scoep = \"read\"\n");
  EXPECT_THAT(error_of(loaded), HasSubstr("admin.tokens[0].scoep: unknown key (did you mean "
                                          "'admin.tokens[0].scope'?)"));
}

TEST_F(admin_config_test, secrets_are_not_read_when_the_load_does_not_ask_for_them) {
  auto toml = "[[admin.tokens]]\nname = \"a\"\nscope = \"read\"\nfile = \"/nonexistent/x\"\n";
  EXPECT_FALSE(load(toml));
  auto loaded = load(toml, {}, load_options{.read_secrets = false});
  ASSERT_TRUE(loaded) << error_of(loaded);
  ASSERT_EQ(loaded->admin.tokens.size(), 1u);
  EXPECT_EQ(loaded->admin.tokens[0].secret_sha256, (std::array<unsigned char, 32>{}));
}

TEST_F(admin_config_test, tokens_can_come_from_the_environment_as_an_array_of_inline_tables) {
  auto loaded = load("", {{"MAILHOOK_ADMIN__TOKENS",
                           R"([{ name = "ci", scope = "write", env = "CI_ADMIN_TOKEN" }])"},
                          {"CI_ADMIN_TOKEN", std::string(write_secret)}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  ASSERT_EQ(loaded->admin.tokens.size(), 1u);
  EXPECT_EQ(loaded->admin.tokens[0].name, "ci");
  EXPECT_EQ(loaded->admin.tokens[0].secret_sha256, sha256(write_secret));

  auto missing = load(
      "", {{"MAILHOOK_ADMIN__TOKENS", R"([{ name = "ci", scope = "write", env = "UNSET_VAR" }])"}});
  EXPECT_EQ(error_of(missing),
            "environment MAILHOOK_ADMIN__TOKENS: admin.tokens[0].env: token 'ci': the "
            "environment variable UNSET_VAR is not set");
}

TEST_F(admin_config_test, allow_unauthenticated_is_for_a_loopback_listener_without_tokens) {
  for (const char* host : {"127.0.0.1:9464", "[::1]:9464", "localhost:0", "127.0.0.2:1"}) {
    auto loaded =
        load("[admin]\nlisten = \"" + std::string(host) + "\"\nallow_unauthenticated = true\n");
    ASSERT_TRUE(loaded) << host << ": " << error_of(loaded);
    EXPECT_TRUE(loaded->admin.allow_unauthenticated);
  }
  auto wide = load("[admin]\nlisten = \"0.0.0.0:9464\"\nallow_unauthenticated = true\n");
  EXPECT_THAT(error_of(wide),
              HasSubstr("admin.allow_unauthenticated: is only for a development listener on "
                        "loopback (127.0.0.1, ::1 or localhost), but admin.listen is "
                        "'0.0.0.0:9464'"));
  auto both =
      load("[admin]\nallow_unauthenticated = true\n\n" + file_token("a", "read", read_secret));
  EXPECT_THAT(error_of(both), HasSubstr("admin.allow_unauthenticated: contradicts admin.tokens"));
}

TEST_F(admin_config_test, allowed_hosts_are_host_names_or_a_star) {
  auto loaded = load("[admin]\nallowed_hosts = [\"mailhook.internal\", \"Admin-1.example\"]\n");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->admin.allowed_hosts,
            (std::vector<std::string>{"mailhook.internal", "Admin-1.example"}));
  EXPECT_TRUE(load("[admin]\nallowed_hosts = [\"*\"]\n"));
  auto bad = load("[admin]\nallowed_hosts = [\"mailhook.internal:9464\"]\n");
  EXPECT_THAT(error_of(bad), HasSubstr("admin.allowed_hosts: expected host names as the Host "
                                       "header carries them, without port or scheme"));
  EXPECT_THAT(error_of(load("[admin]\nallowed_hosts = [\"http://x\"]\n")),
              HasSubstr("got 'http://x'"));
}

TEST_F(admin_config_test, tls_certificate_and_private_key_go_together) {
  auto loaded = load("[admin.tls]\ncertificate = \"/etc/c.pem\"\nprivate_key = \"/etc/k.pem\"\n");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->admin.tls.certificate, "/etc/c.pem");
  EXPECT_EQ(loaded->admin.tls.private_key, "/etc/k.pem");
  EXPECT_THAT(error_of(load("[admin.tls]\ncertificate = \"/etc/c.pem\"\n")),
              HasSubstr("admin.tls.private_key: certificate and private_key go together"));
}

TEST_F(admin_config_test, the_monitoring_listener_is_read_and_must_differ_from_the_admin_one) {
  auto loaded = load("[admin.monitoring]\nlisten = \"0.0.0.0:9465\"\n");
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->admin.monitoring_listen, (listen_address{"0.0.0.0", 9465}));
  auto env = load("", {{"MAILHOOK_ADMIN__MONITORING__LISTEN", "127.0.0.1:0"}});
  ASSERT_TRUE(env) << error_of(env);
  EXPECT_EQ(env->admin.monitoring_listen, (listen_address{"127.0.0.1", 0}));
  EXPECT_THAT(error_of(load("[admin.monitoring]\nlisten = \"127.0.0.1:9464\"\n")),
              HasSubstr("admin.monitoring.listen: must differ from admin.listen"));
}

}  // namespace
}  // namespace mailhook::config
