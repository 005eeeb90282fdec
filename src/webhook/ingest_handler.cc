#include "webhook/ingest_handler.h"

#include <openssl/evp.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/json_writer.h"
#include "http/reply.h"
#include "kafka/record_framing.h"
#include "mailhook/v1/email_event.pb.h"
#include "webhook/batch_parser.h"

namespace mailhook::webhook {
namespace {

namespace asio = boost::asio;

constexpr std::string_view event_id_header = "mailhook-event-id";
constexpr std::string_view tenant_header = "mailhook-tenant";
constexpr std::string_view schema_header = "mailhook-schema";

std::string_view header_value(const http::request_header& h, http::field f) {
  auto it = h.find(f);
  if (it == h.end()) return {};
  return {it->value().data(), it->value().size()};
}

std::string_view header_value(const http::request_header& h, std::string_view name) {
  auto it = h.find(boost::beast::string_view(name.data(), name.size()));
  if (it == h.end()) return {};
  return {it->value().data(), it->value().size()};
}

bool is_json_content_type(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  std::string_view media = content_type.substr(0, semicolon);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return boost::beast::iequals(boost::beast::string_view(media.data(), media.size()),
                               "application/json");
}

// The Confluent framing of a value of `message` under `schema_id`: a protobuf value names
// its message's place in email_event.proto, a JSON value nothing more.
std::string framing_of(const google::protobuf::Descriptor* message, std::uint32_t schema_id,
                       config::event_encoding encoding) {
  if (encoding == config::event_encoding::json) return kafka::confluent_prefix(schema_id, {});
  MAILHOOK_CHECK(message->containing_type() == nullptr, "framed messages are top-level ones");
  const std::int32_t path[] = {message->index()};
  return kafka::confluent_prefix(schema_id, path);
}

std::int64_t unix_millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

// One request's batch, from parsing to its answer. It owns every byte the producer
// points at (the body, the encoded records, the dead letters), so it lives until the
// last delivery report; its budget is given back when it is freed.
struct ingest_handler::batch {
  // `connection` is where the request's connection runs (responder::executor()).
  batch(asio::any_io_executor connection, std::shared_ptr<ingest_handler::budget> b)
      : deadline(std::move(connection)), budget(std::move(b)) {}
  ~batch() { budget->used.fetch_sub(reserved, std::memory_order_relaxed); }

  http::request request;
  encoded_batch encoded;
  std::vector<std::pair<std::string, std::string>> dead_letters;  // key, value
  std::vector<kafka::record_header> headers;
  // What to count once Kafka has confirmed the batch: events by type, dead letters by reason.
  std::array<std::uint32_t, email::event_type_count> events_by_type{};
  std::vector<std::string_view> dead_letter_reasons;  // static reason words

  // The answer is decided on the connection's executor (the deadline's), by whichever
  // comes first: the producer's outcome or the deadline. The connection reads nothing
  // more until it is answered, so the batch has the executor to itself; and the
  // answer is written from there at once.
  asio::steady_timer deadline;
  std::optional<http::responder> responder;
  const source_metrics* counters = nullptr;  // the source's, with its name
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::shared_ptr<ingest_handler::budget> budget;
  std::uint64_t reserved = 0;
  // The signature this request claimed from the replay guard: given back unless the
  // answer is 2xx, so that SendGrid's retry of a refused request gets through.
  std::optional<signature_id> claimed_signature;
};

ingest_handler::ingest_handler(const config::ingest_config& config,
                               const config::topics_config& topics, source_table sources,
                               kafka::producer& producer, const kafka::cluster_monitor& cluster,
                               metrics::registry& registry)
    : config_(config),
      sources_(std::move(sources)),
      producer_(producer),
      cluster_(cluster),
      events_topic_(producer.topic(topics.events.name)),
      dlq_topic_(producer.topic(topics.dlq.name)),
      schema_(config.encoding == config::event_encoding::json ? "mailhook.v1.EmailEvent+json"
                                                              : "mailhook.v1.EmailEvent"),
      event_value_prefix_(
          config.format == config::record_format::confluent
              ? framing_of(v1::EmailEvent::descriptor(), config.event_schema_id, config.encoding)
              : std::string()),
      dead_letter_value_prefix_(config.format == config::record_format::confluent
                                    ? framing_of(v1::DeadLetter::descriptor(),
                                                 config.dead_letter_schema_id, config.encoding)
                                    : std::string()),
      requests_(registry.counter("mailhook_webhook_requests_total",
                                 "Webhook requests by source and answer", {"source", "status"})),
      events_(registry.counter("mailhook_webhook_events_total",
                               "Events accepted into Kafka by source and event type",
                               {"source", "event"})),
      rejected_events_(registry.counter("mailhook_webhook_rejected_events_total",
                                        "Events or bodies sent to the dead-letter topic, by reason",
                                        {"source", "reason"})),
      auth_failures_(registry.counter("mailhook_webhook_auth_failures_total",
                                      "Requests refused as not from SendGrid, by reason",
                                      {"source", "reason"})),
      replays_seen_(registry.counter("mailhook_webhook_replays_total",
                                     "Signed requests whose signature was accepted before: "
                                     "answered 200, nothing published again",
                                     {"source"})),
      body_bytes_(registry
                      .histogram("mailhook_webhook_body_bytes", "Size of webhook bodies",
                                 metrics::exponential_buckets(256, 4, 10))
                      .get()),
      request_seconds_(registry
                           .histogram("mailhook_webhook_request_seconds",
                                      "From a complete request to its answer",
                                      metrics::default_latency_buckets())
                           .get()) {
  if (config.replay_cache_entries > 0) {
    replays_ =
        std::make_shared<replay_guard>(static_cast<std::size_t>(config.replay_cache_entries));
    registry.add_collector([guard = replays_](metrics::collector_sink& sink) {
      sink.gauge("mailhook_webhook_replay_guard_signatures",
                 "Signatures of accepted requests remembered to recognise replays")
          .set(static_cast<double>(guard->size()));
      sink.counter("mailhook_webhook_replay_guard_evicted_total",
                   "Signatures forgotten before their window ended, for lack of room")
          .set(static_cast<double>(guard->evicted()));
    });
  }
  for (const auto& [name, s] : sources_.all()) {
    source_metrics& m = source_metrics_[&s];
    m.name = name;
    m.answered_ok = &requests_.with({name, "200"});
    for (std::size_t t = 0; t < m.events.size(); ++t) {
      m.events[t] = &events_.with({name, to_string(static_cast<event_type>(t))});
    }
  }
  registry.add_collector([b = budget_](metrics::collector_sink& sink) {
    sink.gauge("mailhook_webhook_inflight_bytes",
               "Bytes held for batches Kafka has not confirmed yet")
        .set(static_cast<double>(b->used.load()));
  });
}

const source* ingest_handler::source_of(std::string_view target) const {
  if (!target.starts_with(route_prefix)) return nullptr;
  std::string_view name = target.substr(route_prefix.size());
  name = name.substr(0, name.find('?'));
  return sources_.find(name);
}

http::response ingest_handler::unavailable(std::string_view code, std::string_view message) const {
  return http::error_reply({error_kind::unavailable, code}, message,
                           std::chrono::duration_cast<std::chrono::seconds>(config_.retry_after));
}

std::optional<http::response> ingest_handler::on_header(const http::request_header& header) {
  std::string_view target(header.target().data(), header.target().size());
  if (!target.starts_with(route_prefix)) {
    requests_.with({"", "404"}).inc();
    return http::error_reply({error_kind::not_found, "not_found"},
                             "webhooks are posted to /webhooks/sendgrid/{source}");
  }
  const source* s = source_of(target);
  if (s == nullptr) {
    // The name came from the network: it is not a label value.
    requests_.with({"", "404"}).inc();
    return http::error_reply({error_kind::not_found, "unknown_source"},
                             "no source is configured with that name");
  }
  auto refuse = [&](http::response r) {
    requests_.with({s->name, std::to_string(r.result_int())}).inc();
    return r;
  };
  if (header.method() != http::verb::post) {
    auto r = http::error_reply({error_kind::method_not_allowed, "method_not_allowed"},
                               "webhooks are POSTed");
    r.set(http::field::allow, "POST");
    return refuse(std::move(r));
  }
  std::string_view content_type = header_value(header, http::field::content_type);
  if (!content_type.empty() && !is_json_content_type(content_type)) {
    return refuse(http::error_reply({error_kind::unsupported_media_type, "unsupported_media_type"},
                                    "the body must be application/json"));
  }
  // Beast's parser accepts only chunked as a transfer coding, so its presence means chunked.
  const bool chunked = header.find(http::field::transfer_encoding) != header.end();
  std::string_view length = header_value(header, http::field::content_length);
  if (!chunked && length.empty()) {
    return refuse(http::error_reply({error_kind::length_required, "length_required"},
                                    "send Content-Length or a chunked body"));
  }
  if (auto f = authenticate_header(*s, header, std::chrono::system_clock::now())) {
    auth_failures_.with({s->name, label(*f)}).inc();
    return refuse(reply_for(*f));
  }
  if (!cluster_.reachable()) {
    return refuse(unavailable("kafka_unavailable", "Kafka is unreachable; retry later"));
  }
  // Refuse before reading a body that the budget could not hold anyway. (A body over
  // max_body never gets here: Beast's parser answers 413 while reading the header.)
  std::uint64_t announced = chunked ? 0 : std::strtoull(std::string(length).c_str(), nullptr, 10);
  std::uint64_t reading = server_ != nullptr ? server_->stats().body_bytes_reading.load() : 0;
  if (budget_->used.load() + reading + announced > config_.inflight_budget) {
    return refuse(unavailable("overloaded", "too many batches wait for Kafka; retry later"));
  }
  return std::nullopt;
}

bool ingest_handler::admit_body_bytes(std::uint64_t bytes_reading) {
  return budget_->used.load() + bytes_reading <= config_.inflight_budget;
}

void ingest_handler::on_request(http::request&& req, http::responder res) {
  const auto received = std::chrono::system_clock::now();
  // Counted before refusing_ is read, so that stop() waiting for zero cannot miss a
  // request that is about to publish.
  in_flight_requests_.fetch_add(1);
  std::string_view target(req.target().data(), req.target().size());
  const source* s = source_of(target);
  MAILHOOK_CHECK(s != nullptr, "on_header admitted an unknown source");
  body_bytes_.observe(static_cast<double>(req.body().size()));
  auto answer_now = [&](http::response r) {
    requests_.with({s->name, std::to_string(r.result_int())}).inc();
    res.send(std::move(r));
    in_flight_requests_.fetch_sub(1);
  };
  if (refusing_.load())
    return answer_now(unavailable("stopping", "mailhook is stopping; retry later"));

  if (auto f = authenticate_body(*s, req.base(), req.body(), received)) {
    auth_failures_.with({s->name, label(*f)}).inc();
    return answer_now(reply_for(*f));
  }

  auto b = std::make_shared<batch>(res.executor(), budget_);
  if (replays_ && s->verifier && s->replay_window.count() > 0) {
    // Both headers were checked at header time: well-formed, one of each.
    const auto signature = signature_r(header_value(req.base(), signature_header_name));
    const auto stamp = parse_timestamp(header_value(req.base(), timestamp_header_name));
    MAILHOOK_CHECK(signature && stamp, "on_header admitted a malformed signature");
    const std::int64_t now_s = unix_millis(received) / 1000;
    if (replays_->claim(*signature, *stamp + s->replay_window.count(), now_s) ==
        replay_guard::claim_outcome::replayed) {
      // The same signed bytes were accepted before, or are being published now (should
      // that fail, the claim is released and SendGrid's retry passes): nothing is
      // published again. A 2xx, because SendGrid retries anything else for 24 hours, and
      // for an attacker it changes nothing.
      replays_seen_.with({s->name}).inc();
      return answer_now(http::make_response(http::status::ok,
                                            R"({"accepted":0,"dead_lettered":0,"replay":true})"));
    }
    b->claimed_signature = signature;
  }
  b->counters = &source_metrics_.at(s);
  b->request = std::move(req);
  std::string& body = b->request.body();

  batch_context ctx;
  ctx.tenant = s->tenant;
  ctx.source = s->name;
  ctx.received_at_ms = unix_millis(received);
  ctx.encoding = config_.encoding == config::event_encoding::json ? output_encoding::json
                                                                  : output_encoding::protobuf;
  ctx.keep_raw_event = config_.keep_raw_event;
  ctx.event_value_prefix = event_value_prefix_;
  ctx.dead_letter_value_prefix = dead_letter_value_prefix_;

  thread_local batch_encoder encoder;
  auto encoded = encoder.encode(body, ctx, b->encoded);
  auto dead_letter = [&](std::string_view reason, std::string_view detail, std::string_view payload,
                         std::int32_t index) {
    const std::size_t part_bytes = static_cast<std::size_t>(config_.dead_letter_part_bytes);
    if (payload.size() <= part_bytes) {
      auto& [key, value] = b->dead_letters.emplace_back();
      encode_dead_letter(ctx, reason, detail, payload, index, key, value);
    } else {
      std::array<unsigned char, 32> digest{};
      EVP_Digest(payload.data(), payload.size(), digest.data(), nullptr, EVP_sha256(), nullptr);
      payload_part part;
      part.parts = static_cast<std::int32_t>((payload.size() + part_bytes - 1) / part_bytes);
      part.payload_size = static_cast<std::int64_t>(payload.size());
      part.payload_sha256 = {reinterpret_cast<const char*>(digest.data()), digest.size()};
      for (; part.part < part.parts; ++part.part) {
        auto& [key, value] = b->dead_letters.emplace_back();
        encode_dead_letter(
            ctx, reason, detail,
            payload.substr(static_cast<std::size_t>(part.part) * part_bytes, part_bytes), index,
            key, value, part);
      }
    }
    b->dead_letter_reasons.push_back(reason);
  };
  if (!encoded) {
    // Authentic but unusable as a whole: kept on the dead-letter topic, and answered 2xx
    // once it is there, since a retry would bring the same bytes for 24 hours.
    b->encoded.clear();
    dead_letter(reason_word(encoded.error().code), encoded.error().describe(), body, -1);
  } else {
    for (const auto& r : b->encoded.rejected) dead_letter(r.reason, r.detail, r.raw, r.index);
  }

  std::uint64_t reserve = body.capacity() + b->encoded.arena.capacity();
  for (const auto& [key, value] : b->dead_letters) reserve += key.size() + value.size();
  if (budget_->used.fetch_add(reserve) + reserve > config_.inflight_budget) {
    budget_->used.fetch_sub(reserve);
    if (b->claimed_signature) replays_->release(*b->claimed_signature);
    return answer_now(unavailable("overloaded", "too many batches wait for Kafka; retry later"));
  }
  b->reserved = reserve;

  // Records point into the batch's own buffers, which outlive them.
  const auto& arena = b->encoded.arena;
  const std::size_t events = b->encoded.records.size();
  std::vector<kafka::outgoing_record> records;
  records.reserve(events + b->dead_letters.size());
  const bool with_headers = config_.format == config::record_format::headers;
  if (with_headers) b->headers.reserve(3 * (events + b->dead_letters.size()));
  auto headers_for = [&](std::string_view event_id) -> std::span<const kafka::record_header> {
    if (!with_headers) return {};
    auto first = b->headers.size();
    if (!event_id.empty()) b->headers.push_back({event_id_header, event_id});
    b->headers.push_back({tenant_header, s->tenant});
    b->headers.push_back({schema_header, schema_});
    return std::span<const kafka::record_header>(b->headers).subspan(first);
  };
  for (const auto& r : b->encoded.records) {
    std::string_view event_id(arena.data() + r.event_id_offset, r.event_id_size);
    records.push_back({events_topic_, std::string_view(arena.data() + r.key_offset, r.key_size),
                       std::string_view(arena.data() + r.value_offset, r.value_size),
                       headers_for(event_id), ctx.received_at_ms});
    auto type = static_cast<std::size_t>(r.type);
    ++b->events_by_type[type < b->events_by_type.size() ? type : 0];
  }
  for (const auto& [key, value] : b->dead_letters) {
    records.push_back({dlq_topic_, key, value, headers_for({}), ctx.received_at_ms});
  }
  publish(std::move(b), records, std::move(res));
}

void ingest_handler::publish(std::shared_ptr<batch> b,
                             const std::vector<kafka::outgoing_record>& records,
                             http::responder res) {
  b->responder.emplace(std::move(res));
  b->deadline.expires_after(config_.request_deadline);
  b->deadline.async_wait([this, b](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the outcome came first
    finish(b, unavailable("kafka_timeout", "Kafka did not confirm the batch in time; retry later"));
  });
  const std::size_t accepted = b->encoded.records.size();
  const std::size_t dead_lettered = b->dead_letter_reasons.size();  // a split payload is one
  producer_.publish(
      records, b, [this, b, accepted, dead_lettered](const kafka::publish_outcome& outcome) {
        // Counted when Kafka holds them, whoever answered first: a batch that beat its
        // deadline late is still in Kafka.
        if (outcome.ok()) count_published(*b);
        asio::post(b->deadline.get_executor(), [this, b, outcome, accepted, dead_lettered] {
          b->deadline.cancel();
          if (outcome.ok()) {
            std::string body;
            json_writer(body)
                .begin_object()
                .field("accepted", accepted)
                .field("dead_lettered", dead_lettered)
                .end_object();
            finish(b, http::make_response(http::status::ok, std::move(body)));
          } else {
            finish(b, unavailable("kafka_failed", "Kafka did not take the batch (" +
                                                      outcome.first_error + "); retry later"));
          }
        });
      });
}

void ingest_handler::count_published(const batch& b) {
  for (std::size_t t = 0; t < b.events_by_type.size(); ++t) {
    if (b.events_by_type[t] != 0) b.counters->events[t]->inc(b.events_by_type[t]);
  }
  for (auto reason : b.dead_letter_reasons) rejected_events_.with({b.counters->name, reason}).inc();
}

void ingest_handler::finish(const std::shared_ptr<batch>& b, http::response r) {
  if (!b->responder) return;  // answered already
  if (b->claimed_signature && r.result_int() / 100 != 2) replays_->release(*b->claimed_signature);
  if (r.result() == http::status::ok) {
    b->counters->answered_ok->inc();
  } else {
    requests_.with({b->counters->name, std::to_string(r.result_int())}).inc();
  }
  request_seconds_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - b->started).count());
  b->responder->send(std::move(r));
  b->responder.reset();
  in_flight_requests_.fetch_sub(1);
}

}  // namespace mailhook::webhook
