// /readyz follows the Kafka cluster: 503 while the broker is down, 200 again once it is
// back, without restarting mailhook. Uses a broker of its own so the outage touches no
// other test.
#include <gtest/gtest.h>

#include <chrono>

#include "support/daemon.h"

namespace mailhook::testing {
namespace {

using namespace std::chrono_literals;

TEST(daemon_readiness, follows_a_broker_outage_and_recovers) {
  kafka_broker broker;
  daemon d(broker.bootstrap());
  ASSERT_TRUE(d.wait_for_readyz(200, 60s)) << d.admin_get("/readyz").body;

  broker.stop();
  ASSERT_TRUE(d.wait_for_readyz(503, 30s)) << d.admin_get("/readyz").body;
  auto down = d.admin_get("/readyz");
  EXPECT_NE(down.body.find(R"("kafka":"unreachable)"), std::string::npos) << down.body;
  EXPECT_NE(d.admin_get("/metrics").body.find("mailhook_kafka_up 0"), std::string::npos);
  EXPECT_EQ(d.admin_get("/healthz").status, 200) << "liveness must not follow Kafka";

  broker.start();
  ASSERT_TRUE(d.wait_for_readyz(200, 90s)) << d.admin_get("/readyz").body << "\n" << d.output();
  EXPECT_NE(d.admin_get("/metrics").body.find("mailhook_kafka_up 1"), std::string::npos);
}

TEST(daemon_readiness, starts_unready_without_kafka_and_becomes_ready_when_it_appears) {
  kafka_broker broker;
  broker.stop();
  daemon d(broker.bootstrap());
  EXPECT_EQ(d.admin_get("/readyz").status, 503);
  broker.start();
  ASSERT_TRUE(d.wait_for_readyz(200, 90s)) << d.admin_get("/readyz").body << "\n" << d.output();
}

}  // namespace
}  // namespace mailhook::testing
