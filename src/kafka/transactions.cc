#include "kafka/transactions.h"

#include <unistd.h>

namespace mailhook::kafka {

std::string host_identity(std::string_view role) {
  std::string id = "mailhook-" + std::string(role);
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) id += std::string("-") + host;
  return id;
}

failure take_error(rd_kafka_error_t* error, std::string_view what) {
  std::string message = std::string(what) + ": " + rd_kafka_error_string(error);
  auto code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  return kafka_failure(errc::produce_failed, code, message);
}

result<handle_ptr> make_transactional_producer(const config::kafka_config& kafka,
                                               const std::string& transactional_id,
                                               std::chrono::milliseconds timeout) {
  auto conf = make_conf(kafka, {{"transactional.id", transactional_id},
                                {"enable.idempotence", "true"},
                                {"acks", "all"},
                                {"transaction.timeout.ms", std::to_string(timeout.count())},
                                {"linger.ms", "5"},
                                {"compression.codec", "lz4"}});
  if (!conf) return conf.error();
  auto producer = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!producer) return producer.error();
  if (auto* error =
          rd_kafka_init_transactions(producer->get(), static_cast<int>(timeout.count()))) {
    return take_error(error, "init transactions as " + transactional_id);
  }
  return producer;
}

result<handle_ptr> make_transactional_consumer(
    const config::kafka_config& kafka, const std::string& group_id, const std::string& instance_id,
    const std::string& topic,
    void (*rebalance)(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*, void*),
    void* opaque) {
  auto conf = make_conf(kafka, {{"group.id", group_id},
                                {"group.instance.id", instance_id},
                                {"enable.auto.commit", "false"},
                                {"enable.auto.offset.store", "false"},
                                {"auto.offset.reset", "earliest"},
                                {"isolation.level", "read_committed"}});
  if (!conf) return conf.error();
  if (rebalance != nullptr) rd_kafka_conf_set_rebalance_cb(conf->get(), rebalance);
  if (opaque != nullptr) rd_kafka_conf_set_opaque(conf->get(), opaque);
  auto consumer = make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!consumer) return consumer.error();
  rd_kafka_poll_set_consumer(consumer->get());
  partition_list_ptr topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(consumer->get(), topics.get())) {
    return kafka_failure(errc::consume_failed, err, "subscribe to " + topic);
  }
  return consumer;
}

rd_kafka_resp_err_t produce_copy(rd_kafka_t* producer, rd_kafka_topic_t* topic,
                                 std::int32_t partition, std::string_view key,
                                 std::string_view value, void* opaque) {
  rd_kafka_vu_t fields[6];
  fields[0].vtype = RD_KAFKA_VTYPE_RKT;
  fields[0].u.rkt = topic;
  fields[1].vtype = RD_KAFKA_VTYPE_PARTITION;
  fields[1].u.i32 = partition;
  fields[2].vtype = RD_KAFKA_VTYPE_KEY;
  fields[2].u.mem = {const_cast<char*>(key.data()), key.size()};
  fields[3].vtype = RD_KAFKA_VTYPE_VALUE;
  fields[3].u.mem = {const_cast<char*>(value.data()), value.size()};
  fields[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  fields[4].u.i = RD_KAFKA_MSG_F_COPY;
  fields[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
  fields[5].u.ptr = opaque;
  for (;;) {
    rd_kafka_error_t* error = rd_kafka_produceva(producer, fields, 6);
    if (error == nullptr) return RD_KAFKA_RESP_ERR_NO_ERROR;
    auto err = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return err;
    rd_kafka_poll(producer, 10);
  }
}

result<void> commit_transaction(rd_kafka_t* producer, rd_kafka_t* consumer,
                                const rd_kafka_topic_partition_list_t* offsets,
                                std::chrono::milliseconds timeout) {
  auto* group = rd_kafka_consumer_group_metadata(consumer);
  auto* error = rd_kafka_send_offsets_to_transaction(producer, offsets, group,
                                                     static_cast<int>(timeout.count()));
  rd_kafka_consumer_group_metadata_destroy(group);
  if (error == nullptr) {
    error = rd_kafka_commit_transaction(producer, static_cast<int>(timeout.count()));
  }
  if (error == nullptr) return {};
  auto failed = take_error(error, "commit transaction");
  abort_transaction(producer, timeout);
  return failed;
}

void abort_transaction(rd_kafka_t* producer, std::chrono::milliseconds timeout) {
  if (auto* error = rd_kafka_abort_transaction(producer, static_cast<int>(timeout.count())))
    rd_kafka_error_destroy(error);
}

}  // namespace mailhook::kafka
