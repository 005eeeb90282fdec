// Tests for the Kafka password: read from kafka.sasl_password_file at load, or given by
// MAILHOOK_KAFKA__PROPERTIES__SASL_PASSWORD as written, never required in the file, and
// never repeated in a message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/daemon_config.h"
#include "support/temp_dir.h"

namespace mailhook::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view password = "scram-Pass word#1";

std::string error_of(const result<daemon_config>& loaded) {
  return loaded ? std::string("<loaded without error>") : loaded.error().message;
}

class kafka_password_test : public ::testing::Test {
 protected:
  result<daemon_config> load(std::string_view text, const environment& env = {},
                             load_options options = {}) const {
    return load_string(text, "mailhook.toml", env, options);
  }
  // A [kafka] table naming the file `name` of the test's directory.
  std::string naming(const std::string& name) const {
    return "[kafka]\nsasl_password_file = \"" + (dir_.path() / name).string() + "\"\n";
  }

  testing::temp_dir dir_;
};

TEST_F(kafka_password_test, is_read_from_its_file_without_the_final_newline) {
  dir_.write("password", std::string(password) + "\r\n");
  auto loaded = load(naming("password"));
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->kafka.sasl_password, password);
  EXPECT_EQ(loaded->kafka.sasl_password_file, (dir_.path() / "password").string());
  // It reaches librdkafka through kafka::make_conf, not as a configured property.
  EXPECT_FALSE(loaded->kafka.properties.contains("sasl.password"));
}

TEST_F(kafka_password_test, its_file_may_be_named_by_the_environment) {
  auto file = dir_.write("password", std::string(password) + "\n");
  auto loaded = load("", {{"MAILHOOK_KAFKA__SASL_PASSWORD_FILE", file.string()}});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->kafka.sasl_password, password);
}

TEST_F(kafka_password_test, a_missing_file_is_an_error_on_its_key_naming_the_file) {
  auto loaded = load(naming("absent"));
  EXPECT_THAT(error_of(loaded),
              HasSubstr("mailhook.toml:2:22: kafka.sasl_password_file: cannot read the SASL "
                        "password from " +
                        (dir_.path() / "absent").string() + ": No such file or directory"));
}

TEST_F(kafka_password_test, an_empty_or_two_line_file_is_refused_without_showing_it) {
  dir_.write("empty", "\n");
  EXPECT_THAT(error_of(load(naming("empty"))),
              HasSubstr("kafka.sasl_password_file: the SASL password in " +
                        (dir_.path() / "empty").string() + " is empty"));

  dir_.write("two-lines", std::string(password) + "\nsecond-line\n");
  auto message = error_of(load(naming("two-lines")));
  EXPECT_THAT(message, HasSubstr("holds a control character or a second line"));
  EXPECT_THAT(message, Not(HasSubstr("scram-Pass")));
  EXPECT_THAT(message, Not(HasSubstr("second-line")));

  dir_.write("nul", std::string("scram\0Pass", 10));
  EXPECT_THAT(error_of(load(naming("nul"))), HasSubstr("holds a control character"));

  dir_.write("long", std::string(5000, 'p'));
  EXPECT_THAT(error_of(load(naming("long"))), HasSubstr("is longer than 4096 bytes"));
}

TEST_F(kafka_password_test, is_given_one_way_only) {
  dir_.write("password", password);
  auto in_file =
      load(naming("password") + "[kafka.properties]\n\"sasl.password\" = \"other-secret\"\n");
  EXPECT_THAT(error_of(in_file),
              HasSubstr("kafka.sasl_password_file: kafka.properties sets sasl.password too"));
  EXPECT_THAT(error_of(in_file), Not(HasSubstr("other-secret")));

  auto in_env =
      load(naming("password"), {{"MAILHOOK_KAFKA__PROPERTIES__SASL_PASSWORD", "other-secret"}});
  EXPECT_THAT(error_of(in_env), HasSubstr("kafka.properties sets sasl.password too"));
  EXPECT_THAT(error_of(in_env), Not(HasSubstr("other-secret")));
}

TEST_F(kafka_password_test, is_not_read_by_commands_that_do_not_connect_to_kafka) {
  // `suppressions check` and `send-test` load the configuration with neither secret: an
  // operator who may not read the daemon's password file still runs them.
  auto loaded =
      load(naming("unreadable"), {}, {.read_secrets = false, .read_kafka_password = false});
  ASSERT_TRUE(loaded) << error_of(loaded);
  EXPECT_EQ(loaded->kafka.sasl_password, "");
  // Commands that write to Kafka read it even without the admin tokens' secrets.
  EXPECT_THAT(error_of(load(naming("unreadable"), {}, {.read_secrets = false})),
              HasSubstr("cannot read the SASL password"));
}

TEST_F(kafka_password_test, from_the_environment_is_passed_on_exactly_as_written) {
  // Texts that read as TOML values keep their own spelling: quotes, a comment mark, a
  // number, an array.
  for (std::string text : {"\"quoted\"", "0123 # not a comment", "[1, 2]", "1e5", "true"}) {
    auto loaded = load("", {{"MAILHOOK_KAFKA__PROPERTIES__SASL_PASSWORD", text}});
    ASSERT_TRUE(loaded) << text << ": " << error_of(loaded);
    EXPECT_EQ(loaded->kafka.properties.at("sasl.password"), text);
  }
}

}  // namespace
}  // namespace mailhook::config
