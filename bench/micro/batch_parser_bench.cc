// Micro-benchmarks for the ingest hot path: parsing a SendGrid batch, normalizing and
// encoding every event into the record arena (batch_encoder::encode), for batches of 1,
// 100 and 1000 realistic mixed events in SendGrid's wire format, in both output
// encodings. Reports time per event (items) and bytes of body per second. A baseline
// walks every field with simdjson alone, reading each value, to show what the encoding
// adds on top of parsing.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "webhook/batch_parser.h"

namespace mailhook::webhook {
namespace {

// Builds events the way SendGrid sends them: compact JSON, keys in alphabetical order,
// events joined by ",\r\n", "\r\n" after the closing bracket.
class batch_generator {
 public:
  explicit batch_generator(unsigned seed) : rng_(seed) {}

  std::string batch(int events) {
    std::string body = "[";
    for (int i = 0; i < events; ++i) {
      if (i != 0) body += ",\r\n";
      body += event(i);
    }
    body += "]\r\n";
    return body;
  }

 private:
  std::string pick(std::initializer_list<const char*> choices) {
    std::uniform_int_distribution<std::size_t> d(0, choices.size() - 1);
    return *(choices.begin() + d(rng_));
  }
  int number(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return number(1, 100) <= percent; }

  std::string id(std::size_t length) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string s;
    for (std::size_t i = 0; i < length; ++i) s += alphabet[number(0, 63)];
    return s;
  }

  std::string event(int index) {
    const char* types[] = {"processed",         "delivered", "open",      "click", "bounce",
                           "dropped",           "deferred",  "delivered", "open",  "unsubscribe",
                           "group_unsubscribe", "processed"};
    std::string type = types[number(0, 11)];
    std::string message = id(22);
    std::string user =
        pick({"john.smith", "Maria.Garcia", "li.wei", "OConnor.Pat", "anna", "k.mueller"}) +
        std::to_string(number(1, 99999));
    std::string domain =
        pick({"gmail.com", "Example.com", "yahoo.co.uk", "outlook.com", "corp.example.org"});
    std::string email = user + "@" + domain;
    long ts = 1700000000 + index;
    std::string smtp = "<" + message + "@ismtpd0039p1iad1.sendgrid.net>";
    std::string sg_message = message + ".filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0";

    // Fields by name, to be emitted in alphabetical order as SendGrid does.
    std::vector<std::pair<std::string, std::string>> f;
    auto str = [&f](const std::string& k, const std::string& v) {
      f.emplace_back(k, "\"" + v + "\"");
    };
    auto raw = [&f](const std::string& k, const std::string& v) { f.emplace_back(k, v); };
    str("email", email);
    str("event", type);
    str("sg_event_id", id(48));
    raw("timestamp", std::to_string(ts));
    if (type != "group_unsubscribe") {
      str("sg_message_id", sg_message);
    }
    if (chance(60)) {
      if (chance(25)) {
        raw("category", "[\"" + pick({"newsletter", "receipt", "welcome"}) + "\",\"" +
                            pick({"weekly", "transactional", "promo"}) + "\"]");
      } else {
        str("category", pick({"newsletter", "receipt", "password-reset", "welcome"}));
      }
    }
    if (type == "processed") {
      str("smtp-id", smtp);
      raw("send_at", "0");
      if (chance(30)) raw("pool", "{\"id\":210,\"name\":\"transactional_pool\"}");
    } else if (type == "delivered") {
      str("smtp-id", smtp);
      str("ip", "167.89.101." + std::to_string(number(1, 254)));
      str("response", "250 2.0.0 OK  1700000000 " + id(12) + " - gsmtp");
      raw("tls", "1");
    } else if (type == "deferred") {
      str("smtp-id", smtp);
      str("ip", "167.89.101." + std::to_string(number(1, 254)));
      str("response", "451 4.7.1 Please try again later");
      str("attempt", std::to_string(number(1, 9)));
      raw("tls", "1");
    } else if (type == "bounce") {
      str("smtp-id", smtp);
      str("ip", "167.89.101." + std::to_string(number(1, 254)));
      str("reason",
          "550 5.1.1 The email account that you tried to reach does not exist. Please try "
          "double-checking the recipient's email address for typos or unnecessary spaces. " +
              id(12) + " - gsmtp");
      str("status", "5.1.1");
      str("type", chance(70) ? "bounce" : "blocked");
      str("bounce_classification", pick({"Invalid Address", "Reputation", "Technical", "Content"}));
      raw("tls", "1");
    } else if (type == "dropped") {
      str("smtp-id", smtp);
      str("reason",
          pick({"Bounced Address", "Unsubscribed Address", "Spam Reporting Address", "Invalid"}));
      str("status", "5.0.0");
    } else if (type == "open") {
      str("ip", "66.249.84." + std::to_string(number(1, 254)));
      str("useragent",
          "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com "
          "GoogleImageProxy)");
      raw("sg_machine_open", chance(30) ? "true" : "false");
      if (chance(50)) raw("asm_group_id", std::to_string(number(1, 20)));
    } else if (type == "click") {
      str("ip", "66.249.84." + std::to_string(number(1, 254)));
      str("useragent",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
          "like Gecko) Mobile/15E148");
      str("url",
          "https://www.example.com/landing/"
          "spring-sale?utm_source=sendgrid&utm_medium=email&utm_campaign=" +
              id(8));
      raw("url_offset", "{\"index\":" + std::to_string(number(0, 9)) + ",\"type\":\"html\"}");
      if (chance(50)) raw("asm_group_id", std::to_string(number(1, 20)));
    } else if (type == "unsubscribe") {
      // base fields only
    } else if (type == "group_unsubscribe") {
      str("ip", "66.249.84." + std::to_string(number(1, 254)));
      str("useragent",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
          "Gecko)");
      str("url", "https://www.example.com/unsubscribe");
      raw("asm_group_id", std::to_string(number(1, 20)));
    }
    if (chance(20)) {
      raw("marketing_campaign_id", std::to_string(number(10000, 99999)));
      str("marketing_campaign_name", "Spring sale " + std::to_string(number(2020, 2025)));
    }
    // Custom args, flattened at top level as SendGrid does.
    if (chance(70)) str("userid", std::to_string(number(1, 9999999)));
    if (chance(40)) str("tenant_ref", "acct_" + id(10));
    if (chance(10))
      raw("order", "{\"id\":" + std::to_string(number(1, 999999)) + ",\"items\":[1,2,3]}");

    std::sort(f.begin(), f.end());
    std::string s = "{";
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (i != 0) s += ",";
      s += "\"" + f[i].first + "\":" + f[i].second;
    }
    return s + "}";
  }

  std::mt19937 rng_;
};

std::string padded_batch(int events) {
  std::string body = batch_generator(42).batch(events);
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  return body;
}

void encode_batch(benchmark::State& state, output_encoding encoding, bool keep_raw = false) {
  const int events = static_cast<int>(state.range(0));
  std::string body = padded_batch(events);
  batch_context ctx;
  ctx.tenant = "acme";
  ctx.source = "main";
  ctx.received_at_ms = 1700000000123;
  ctx.encoding = encoding;
  ctx.keep_raw_event = keep_raw;
  batch_encoder encoder;
  encoded_batch out;
  for (auto _ : state) {
    auto r = encoder.encode(body, body.capacity(), ctx, out);
    if (!r || out.records.size() != static_cast<std::size_t>(events)) {
      state.SkipWithError("the batch did not encode");
      break;
    }
    benchmark::DoNotOptimize(out.arena.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * events);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.counters["arena_bytes_per_event"] =
      static_cast<double>(out.arena.size()) / static_cast<double>(events);
}

void encode_protobuf(benchmark::State& state) {
  encode_batch(state, output_encoding::protobuf);
}
void encode_json(benchmark::State& state) {
  encode_batch(state, output_encoding::json);
}
BENCHMARK(encode_protobuf)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(encode_json)->Arg(1)->Arg(100)->Arg(1000);

// With ingest.keep_raw_event: every event's bytes are copied (JSON: escaped) as well.
void encode_protobuf_keep_raw(benchmark::State& state) {
  encode_batch(state, output_encoding::protobuf, true);
}
void encode_json_keep_raw(benchmark::State& state) {
  encode_batch(state, output_encoding::json, true);
}
BENCHMARK(encode_protobuf_keep_raw)->Arg(1000);
BENCHMARK(encode_json_keep_raw)->Arg(1000);

// Baseline: simdjson On-Demand alone, reading every value once (strings unescaped,
// numbers parsed, nested values as raw JSON), no encoding.
void simdjson_walk(benchmark::State& state) {
  namespace od = simdjson::ondemand;
  const int events = static_cast<int>(state.range(0));
  std::string body = padded_batch(events);
  od::parser parser;
  for (auto _ : state) {
    std::size_t sum = 0;
    od::document doc;
    if (parser.iterate(body.data(), body.size(), body.capacity()).get(doc) != simdjson::SUCCESS) {
      state.SkipWithError("parse failed");
      break;
    }
    for (auto event : doc.get_array()) {
      for (auto field : event.get_object()) {
        od::value v = field.value();
        sum += static_cast<unsigned char>(field.key().value_unsafe().raw()[0]);
        od::json_type t;
        if (v.type().get(t) != simdjson::SUCCESS) continue;
        switch (t) {
          case od::json_type::string:
            sum += v.get_string().value_unsafe().size();
            break;
          case od::json_type::number:
            sum += static_cast<std::size_t>(v.get_int64().value_unsafe());
            break;
          case od::json_type::boolean:
            sum += v.get_bool().value_unsafe() ? 1u : 0u;
            break;
          case od::json_type::object:
            sum += v.get_object().value_unsafe().raw_json().value_unsafe().size();
            break;
          case od::json_type::array:
            sum += v.get_array().value_unsafe().raw_json().value_unsafe().size();
            break;
          case od::json_type::null:
            break;
        }
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * events);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(simdjson_walk)->Arg(1)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace mailhook::webhook

BENCHMARK_MAIN();
