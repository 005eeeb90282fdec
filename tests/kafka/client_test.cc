// The kafka module's client helpers against librdkafka's in-process mock cluster; the
// real broker is exercised in tests/integration.
#include "kafka/client.h"

#include <gtest/gtest.h>

namespace mailhook::kafka {
namespace {

using namespace std::chrono_literals;

TEST(make_conf, names_the_property_librdkafka_refuses) {
  config::kafka_config kafka;
  kafka.properties["no.such.property"] = "1";
  auto conf = make_conf(kafka);
  ASSERT_FALSE(conf);
  EXPECT_EQ(conf.error().code, errc::bad_property);
  EXPECT_NE(conf.error().describe().find("no.such.property"), std::string::npos)
      << conf.error().describe();
}

TEST(make_conf, overrides_win_over_configured_properties) {
  config::kafka_config kafka;
  kafka.properties["linger.ms"] = "50";
  auto conf = make_conf(kafka, {{"linger.ms", "7"}});
  ASSERT_TRUE(conf);
  char value[64];
  size_t size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(conf->get(), "linger.ms", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "7");
}

TEST(make_conf, gives_every_client_the_password_of_sasl_password_file) {
  config::kafka_config kafka;
  kafka.properties["sasl.username"] = "mailhook";
  kafka.sasl_password = "from-the-file";
  auto conf = make_conf(kafka, {{"group.id", "a-role"}});
  ASSERT_TRUE(conf) << conf.error().describe();
  char value[64];
  size_t size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(conf->get(), "sasl.password", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "from-the-file");
}

TEST(probe_cluster, counts_the_brokers_of_a_mock_cluster) {
  config::kafka_config kafka;
  kafka.bootstrap_servers = "";
  auto conf = make_conf(kafka, {{"test.mock.num.brokers", "3"}});
  ASSERT_TRUE(conf) << conf.error().describe();
  auto handle = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(handle) << handle.error().describe();
  auto brokers = probe_cluster(handle->get(), 5s);
  ASSERT_TRUE(brokers) << brokers.error().describe();
  EXPECT_EQ(*brokers, 3u);
}

TEST(probe_cluster, fails_with_unreachable_when_no_broker_answers) {
  config::kafka_config kafka;
  kafka.bootstrap_servers = "127.0.0.1:1";  // nothing listens on port 1
  auto conf = make_conf(kafka);
  ASSERT_TRUE(conf);
  auto handle = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(handle);
  auto brokers = probe_cluster(handle->get(), 300ms);
  ASSERT_FALSE(brokers);
  EXPECT_EQ(brokers.error().code, errc::unreachable);
}

}  // namespace
}  // namespace mailhook::kafka
