// Batch parsing with simdjson On-Demand (see batch_parser.h). Over 600 lines because the
// walk is one class whose steps inline into each other on the hot path; the raw-token
// checks it calls are in json_tokens.h.
//
// How the walk stays one pass and still strict:
// - Each event's fields are iterated once; keys are matched on their raw bytes (length,
//   then bytes), so a key written with escapes is simply a custom arg.
// - Scalars are read from their raw token (simdjson's raw_json_token) and checked by us:
//   the number grammar, true/false/null, and escapes of strings that have a backslash.
//   Only strings with escapes are decoded, by simdjson into its string buffer; all other
//   values are views into the body.
// - Every value is either read or walked (walk() checks containers element by element),
//   so simdjson never skips unread bytes unchecked: a syntax error anywhere fails the
//   body, while a wrong type only rejects its event. We check the type before reading,
//   so simdjson never sees a type mismatch that could leave its iterator in doubt.
// - Nesting depth is counted by walk(); On-Demand itself does not enforce max_depth.
#include "webhook/batch_parser.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <optional>

#include "common/check.h"
#include "common/text.h"
#include "email/address.h"
#include "webhook/json_tokens.h"

namespace mailhook::webhook {
namespace {

namespace od = simdjson::ondemand;
using namespace json_tokens;

std::string_view type_name(od::json_type t) noexcept {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "value";
}

// --- keys -----------------------------------------------------------------------------

// The raw bytes of a key (between its quotes), from where simdjson's key starts and where
// the value's token starts: between them lie only the closing quote, whitespace and the
// colon, which On-Demand has already checked.
std::string_view raw_key(const char* key_begin, const char* value_begin) noexcept {
  const char* p = value_begin - 1;
  while (is_json_space(*p)) --p;  // now at ':'
  --p;
  while (is_json_space(*p)) --p;  // now at the closing quote
  return {key_begin, static_cast<std::size_t>(p - key_begin)};
}

enum class key_id : std::uint8_t {
  custom,
  event,
  email,
  timestamp,
  sg_event_id,
  sg_message_id,
  smtp_id,
  category,
  reason,
  status,
  response,
  attempt,
  type,
  bounce_classification,
  asm_group_id,
  tls,
  ip,
  useragent,
  url,
  url_offset,
  sg_machine_open,
  pool,
  send_at,
  marketing_campaign_id,
  marketing_campaign_name,
};

key_id classify_key(std::string_view k) noexcept {
  switch (k.size()) {
    case 2:
      if (k == "ip") return key_id::ip;
      break;
    case 3:
      if (k == "tls") return key_id::tls;
      if (k == "url") return key_id::url;
      break;
    case 4:
      if (k == "type") return key_id::type;
      if (k == "pool") return key_id::pool;
      break;
    case 5:
      if (k == "email") return key_id::email;
      if (k == "event") return key_id::event;
      break;
    case 6:
      if (k == "reason") return key_id::reason;
      if (k == "status") return key_id::status;
      break;
    case 7:
      if (k == "smtp-id") return key_id::smtp_id;
      if (k == "attempt") return key_id::attempt;
      if (k == "send_at") return key_id::send_at;
      break;
    case 8:
      if (k == "category") return key_id::category;
      if (k == "response") return key_id::response;
      break;
    case 9:
      if (k == "timestamp") return key_id::timestamp;
      if (k == "useragent") return key_id::useragent;
      break;
    case 10:
      if (k == "url_offset") return key_id::url_offset;
      break;
    case 11:
      if (k == "sg_event_id") return key_id::sg_event_id;
      break;
    case 12:
      if (k == "asm_group_id") return key_id::asm_group_id;
      break;
    case 13:
      if (k == "sg_message_id") return key_id::sg_message_id;
      break;
    case 15:
      if (k == "sg_machine_open") return key_id::sg_machine_open;
      break;
    case 21:
      if (k == "bounce_classification") return key_id::bounce_classification;
      if (k == "marketing_campaign_id") return key_id::marketing_campaign_id;
      break;
    case 23:
      if (k == "marketing_campaign_name") return key_id::marketing_campaign_name;
      break;
    default:
      break;
  }
  return key_id::custom;
}

}  // namespace

// --- errors ---------------------------------------------------------------------------

const char* describe(batch_errc e) noexcept {
  switch (e) {
    case batch_errc::invalid_json:
      return "the body is not valid JSON";
    case batch_errc::not_an_array:
      return "the body is not a JSON array";
    case batch_errc::trailing_content:
      return "the body has content after its JSON array";
    case batch_errc::too_deep:
      return "the body nests arrays or objects too deeply";
    case batch_errc::too_large:
      return "the body is too large to encode";
  }
  return "unknown batch error";
}

std::string_view reason_word(batch_errc e) noexcept {
  switch (e) {
    case batch_errc::invalid_json:
      return "invalid_json";
    case batch_errc::not_an_array:
      return "not_an_array";
    case batch_errc::trailing_content:
      return "trailing_content";
    case batch_errc::too_deep:
      return "too_deep";
    case batch_errc::too_large:
      return "too_large";
  }
  return "unknown";
}

error_class classify(batch_errc e) noexcept {
  return {e == batch_errc::too_large ? error_kind::too_large : error_kind::bad_input,
          reason_word(e)};
}

std::string_view reason_word(const std::error_code& code) noexcept {
  if (code.category() != batch_errc_category()) return "unknown";
  return reason_word(static_cast<batch_errc>(code.value()));
}

void encoded_batch::clear() noexcept {
  arena.clear();
  records.clear();
  rejected.clear();
}

// --- the parser -------------------------------------------------------------------------

struct batch_encoder::state {
  od::parser parser;
  // Reused for every event, so that steady state allocates nothing per event.
  std::vector<json_string> categories;
  std::vector<raw_member> custom_args;
  std::string scratch;  // a zero-terminated copy of a body prefix (error diagnosis only)
};

namespace {

// The first thing wrong with the current event (the event is then rejected).
struct event_problem {
  std::string_view reason;  // empty: none
  std::string_view field;
  std::string_view expected;
  std::string_view got;
};

// One body's parse. Methods answer false when the whole body has failed (failure_ set).
class body_parser {
 public:
  body_parser(od::parser& parser, std::vector<json_string>& categories,
              std::vector<raw_member>& custom_args, std::string& scratch, const batch_context& ctx,
              encoded_batch& out)
      : parser_(parser),
        categories_(categories),
        custom_args_(custom_args),
        scratch_(scratch),
        ctx_(ctx),
        out_(out) {}

  result<void> run(std::string_view body, std::size_t capacity, bool diagnosing_trailer);

 private:
  // --- failures of the whole body ---
  bool fail(batch_errc code, std::string message) {
    failure_.emplace(code, std::move(message));
    return false;
  }
  bool fail_at(batch_errc code, std::string_view what, const char* where) {
    std::string message(what);
    if (where != nullptr && where >= body_.data() && where <= body_.data() + body_.size()) {
      message += " at byte ";
      message += std::to_string(where - body_.data());
    }
    return fail(code, std::move(message));
  }
  bool fail_json(simdjson::error_code e) {
    if (e == simdjson::CAPACITY || e == simdjson::MEMALLOC) {
      return fail(batch_errc::too_large, std::string("simdjson: ") + simdjson::error_message(e));
    }
    const char* where = nullptr;
    if (doc_ready_) {
      if (auto loc = doc_.current_location(); loc.error() == simdjson::SUCCESS)
        where = loc.value_unsafe();
    }
    return fail_at(batch_errc::invalid_json,
                   std::string("invalid JSON: ") + simdjson::error_message(e), where);
  }

  // --- problems of one event ---
  void problem(std::string_view reason, std::string_view field, std::string_view expected,
               std::string_view got) {
    if (problem_.reason.empty()) problem_ = {reason, field, expected, got};
  }
  void bad_type(std::string_view field, std::string_view expected, od::json_type got) {
    problem(reject_reason::bad_field_type, field, expected, type_name(got));
  }
  // Sets event_.email_normalized, or the problem that rejects the event: every event but
  // an account_status_change needs an address that normalizes.
  bool normalize_email() {
    auto normalized = email::normalize_address(event_.email.text, email_normalized_);
    if (normalized) {
      event_.email_normalized = normalized->str();
      return true;
    }
    if (type_ == event_type::account_status_change) return true;
    if (normalized.error().code == email::address_errc::empty) {
      problem(reject_reason::missing_field, "email", "required, missing or empty", {});
    } else {
      problem(
          reject_reason::invalid_email, "email", "expected one bare address",
          email::reason_word(static_cast<email::address_errc>(normalized.error().code.value())));
    }
    return false;
  }

  bool parse_event(od::value& element, const char* begin);
  void reject(std::int32_t index,
              std::string_view
                  raw);  // The per-value fast paths are forced inline: they run for every field.
  [[gnu::always_inline]] bool peek(od::value& v, od::json_type& t, std::string_view& token);
  bool walk(od::value& v, od::json_type t, std::string_view token, std::uint32_t depth);
  bool walk_object(od::object& object, std::uint32_t depth);
  bool check_scalar(od::json_type t, std::string_view token);
  bool check_key(std::string_view key);
  // The value's bytes from `begin` to its end, once it has been read or walked.
  bool value_end(od::value& v, const char* begin, std::string_view& raw);

  bool string_content(std::string_view token, std::string_view& content);
  [[gnu::always_inline]] bool read_string(od::value& v, od::json_type t, std::string_view token,
                                          std::uint32_t depth, std::string_view field,
                                          json_string& out);
  bool read_non_string(od::value& v, od::json_type t, std::string_view token, std::uint32_t depth,
                       std::string_view field, json_string& out);
  [[gnu::always_inline]] bool decode_string(od::value& v, std::string_view token,
                                            std::string_view field, json_string& out);
  bool decode_escaped_string(od::value& v, std::string_view token, std::string_view field,
                             json_string& out);
  bool read_int(od::value& v, od::json_type t, std::string_view token, std::uint32_t depth,
                std::string_view field, std::optional<std::int64_t>& out);
  bool read_flag(od::value& v, od::json_type t, std::string_view token, std::uint32_t depth,
                 std::string_view field, std::optional<bool>& out);
  bool read_category(od::value& v, od::json_type t, std::string_view token, std::uint32_t depth);
  bool read_url_offset(od::value& v, od::json_type t, std::string_view token, std::string_view key);
  bool read_pool(od::value& v, od::json_type t, std::string_view token, std::string_view key);
  bool read_campaign_id(od::value& v, od::json_type t, std::string_view token, std::uint32_t depth);
  bool read_custom(od::value& v, od::json_type t, std::string_view token, std::string_view key);
  template <class Fn>
  bool read_sub_object(od::value& v, od::json_type t, std::string_view token, std::string_view key,
                       std::string_view field, bool& present, Fn&& on_field);

  od::parser& parser_;
  std::vector<json_string>& categories_;
  std::vector<raw_member>& custom_args_;
  std::string& scratch_;
  const batch_context& ctx_;
  encoded_batch& out_;
  std::string_view body_;
  od::document doc_;
  std::optional<failure> failure_;

  bool doc_ready_ = false;

  parsed_event event_;
  event_type type_ = event_type::unknown;
  std::string email_normalized_;  // what event_.email_normalized views
  bool has_timestamp_ = false;
  event_problem problem_;
};

result<void> body_parser::run(std::string_view body, std::size_t capacity,
                              bool diagnosing_trailer) {
  body_ = body;
  simdjson::padded_string_view padded(body.data(), body.size(), capacity);
  if (auto e = parser_.iterate(padded).get(doc_); e != simdjson::SUCCESS) {
    switch (e) {
      case simdjson::EMPTY:
        return failure(batch_errc::invalid_json, "empty body");
      case simdjson::UTF8_ERROR:
        return failure(batch_errc::invalid_json, "the body is not valid UTF-8");
      case simdjson::UNESCAPED_CHARS:
        return failure(batch_errc::invalid_json, "a string holds an unescaped control character");
      case simdjson::UNCLOSED_STRING:
        return failure(batch_errc::invalid_json, "a string is not closed");
      default:
        fail_json(e);
        return std::move(*failure_);
    }
  }
  doc_ready_ = true;

  od::json_type top{};
  if (auto e = doc_.type().get(top); e != simdjson::SUCCESS) {
    fail_json(e);
    return std::move(*failure_);
  }
  if (top != od::json_type::array) {
    return failure(batch_errc::not_an_array, "the body is a JSON " + std::string(type_name(top)) +
                                                 ", not an array of events");
  }

  od::array array;
  if (auto e = doc_.get_array().get(array); e != simdjson::SUCCESS) {
    // On-Demand refuses an array whose last token is not its "]": either the body was cut
    // short, or something follows the array. Tell which (this path may be slow).
    std::size_t close = find_closing_bracket(body);
    if (!diagnosing_trailer && close != std::string_view::npos) {
      // Parse the array alone, from a copy: On-Demand reads the byte after its input as
      // the end, so that byte must be a 0, not the body's next byte.
      scratch_.assign(body.substr(0, close));
      scratch_.reserve(close + simdjson::SIMDJSON_PADDING);
      body_parser prefix(parser_, categories_, custom_args_, scratch_, ctx_, out_);
      out_.clear();
      auto r = prefix.run(scratch_, scratch_.capacity(), true);
      if (!r) return r;
      return failure(batch_errc::trailing_content,
                     "content after the closing ] at byte " + std::to_string(close));
    }
    if (close == std::string_view::npos) {
      return failure(batch_errc::invalid_json, "the array is not closed (is the body truncated?)");
    }
    fail_json(e);
    return std::move(*failure_);
  }

  record_writer writer(out_.arena);
  std::int32_t index = 0;
  for (auto element_result : array) {
    if (auto e = element_result.error(); e != simdjson::SUCCESS) {
      fail_json(e);
      return std::move(*failure_);
    }
    od::value& element = element_result.value_unsafe();
    od::json_type t{};
    std::string_view token;
    if (!peek(element, t, token)) return std::move(*failure_);
    if (t == od::json_type::object) {
      if (!parse_event(element, token.data())) return std::move(*failure_);
      if (problem_.reason.empty()) {
        encoded_record record;
        if (!writer.append(ctx_, type_, event_, record)) {
          return failure(batch_errc::too_large, "the encoded batch would pass 4 GiB");
        }
        out_.records.push_back(record);
      } else {
        reject(index, event_.raw_json);
      }
    } else {
      std::string_view raw = token;
      if (!walk(element, t, raw, 2)) return std::move(*failure_);
      if (t == od::json_type::array && !value_end(element, token.data(), raw)) {
        return std::move(*failure_);
      }
      problem_ = {};
      problem(reject_reason::event_not_object, "event", "expected an object", type_name(t));
      reject(index, raw);
    }
    ++index;
  }

  // Anything but whitespace after the closing ] (On-Demand stops at the array's end).
  if (auto rest = doc_.current_location(); rest.error() == simdjson::SUCCESS) {
    const char* at = rest.value_unsafe();
    return failure(batch_errc::trailing_content,
                   "content after the closing ] at byte " + std::to_string(at - body.data()));
  }
  return {};
}

void body_parser::reject(std::int32_t index, std::string_view raw) {
  rejected_event r;
  r.index = index;
  r.reason = problem_.reason;
  r.detail.reserve(problem_.field.size() + problem_.expected.size() + problem_.got.size() + 8);
  r.detail.append(problem_.field).append(": ").append(problem_.expected);
  if (!problem_.got.empty()) r.detail.append(", got ").append(problem_.got);
  r.raw = raw;
  out_.rejected.push_back(std::move(r));
}

bool body_parser::parse_event(od::value& element, const char* begin) {
  event_ = {};
  has_timestamp_ = false;
  problem_ = {};
  categories_.clear();
  custom_args_.clear();
  constexpr std::uint32_t depth = 2;  // the array is 1, the event object 2

  od::object object;
  if (auto e = element.get_object().get(object); e != simdjson::SUCCESS) return fail_json(e);
  for (auto field_result : object) {
    if (auto e = field_result.error(); e != simdjson::SUCCESS) return fail_json(e);
    od::field& field = field_result.value_unsafe();
    od::value& v = field.value();
    od::json_type t{};
    std::string_view token;
    if (!peek(v, t, token)) return false;
    const std::string_view key = raw_key(field.key().raw(), token.data());

    bool ok = true;
    switch (classify_key(key)) {
      case key_id::custom:  // a known name has no backslash; only these keys need checking
        ok = check_key(key) && read_custom(v, t, token, key);
        break;
      case key_id::event:
        ok = read_string(v, t, token, depth, "event", event_.event);
        break;
      case key_id::email:
        ok = read_string(v, t, token, depth, "email", event_.email);
        break;
      case key_id::timestamp: {
        std::optional<std::int64_t> ts;
        ok = read_int(v, t, token, depth, "timestamp", ts);
        event_.timestamp = ts.value_or(0);
        has_timestamp_ = ts.has_value();
        break;
      }
      case key_id::sg_event_id:
        ok = read_string(v, t, token, depth, "sg_event_id", event_.sg_event_id);
        break;
      case key_id::sg_message_id:
        ok = read_string(v, t, token, depth, "sg_message_id", event_.sg_message_id);
        break;
      case key_id::smtp_id:
        ok = read_string(v, t, token, depth, "smtp-id", event_.smtp_id);
        break;
      case key_id::category:
        ok = read_category(v, t, token, depth);
        break;
      case key_id::reason:
        ok = read_string(v, t, token, depth, "reason", event_.reason);
        break;
      case key_id::status:
        ok = read_string(v, t, token, depth, "status", event_.status);
        break;
      case key_id::response:
        ok = read_string(v, t, token, depth, "response", event_.response);
        break;
      case key_id::attempt:
        ok = read_int(v, t, token, depth, "attempt", event_.attempt);
        break;
      case key_id::type:
        ok = read_string(v, t, token, depth, "type", event_.bounce_type);
        break;
      case key_id::bounce_classification:
        ok = read_string(v, t, token, depth, "bounce_classification", event_.bounce_classification);
        break;
      case key_id::asm_group_id:
        ok = read_int(v, t, token, depth, "asm_group_id", event_.asm_group_id);
        break;
      case key_id::tls:
        ok = read_flag(v, t, token, depth, "tls", event_.tls);
        break;
      case key_id::ip:
        ok = read_string(v, t, token, depth, "ip", event_.ip);
        break;
      case key_id::useragent:
        ok = read_string(v, t, token, depth, "useragent", event_.useragent);
        break;
      case key_id::url:
        ok = read_string(v, t, token, depth, "url", event_.url);
        break;
      case key_id::url_offset:
        ok = read_url_offset(v, t, token, key);
        break;
      case key_id::sg_machine_open:
        ok = read_flag(v, t, token, depth, "sg_machine_open", event_.sg_machine_open);
        break;
      case key_id::pool:
        ok = read_pool(v, t, token, key);
        break;
      case key_id::send_at:
        ok = read_int(v, t, token, depth, "send_at", event_.send_at);
        break;
      case key_id::marketing_campaign_id:
        ok = read_campaign_id(v, t, token, depth);
        break;
      case key_id::marketing_campaign_name:
        ok = read_string(v, t, token, depth, "marketing_campaign_name",
                         event_.marketing_campaign_name);
        break;
    }
    if (!ok) return false;
  }
  if (!value_end(element, begin, event_.raw_json)) return false;
  event_.category = categories_;
  event_.custom_args = custom_args_;

  // Required fields, checked once every key is read (duplicates: the last one counts; a
  // wrongly typed value has already rejected the event, even if a later duplicate is fine).
  type_ = email::classify_event(event_.event.text);
  if (problem_.reason.empty()) {
    if (event_.event.empty()) {
      problem(reject_reason::missing_field, "event", "required, missing or empty", {});
    } else if (event_.sg_event_id.empty()) {
      problem(reject_reason::missing_field, "sg_event_id", "required, missing or empty", {});
    } else if (!normalize_email()) {
      // normalize_email() said why.
    } else if (!has_timestamp_) {
      problem(reject_reason::missing_field, "timestamp", "required, missing", {});
    }
  }
  return true;
}

// --- generic checks ---------------------------------------------------------------------

bool body_parser::check_key(std::string_view key) {
  if (!has_backslash(key)) [[likely]]
    return true;
  if (check_escapes(key) == escapes::invalid) {
    return fail_at(batch_errc::invalid_json, "invalid escape in a key", key.data());
  }
  return true;
}

bool body_parser::check_scalar(od::json_type t, std::string_view token) {
  switch (t) {
    case od::json_type::string: {
      std::string_view content;
      if (!string_content(token, content)) return false;
      if (has_backslash(content) && check_escapes(content) == escapes::invalid) {
        return fail_at(batch_errc::invalid_json, "invalid escape in a string", token.data());
      }
      return true;
    }
    case od::json_type::number:
      if (check_number(token) != number_kind::invalid) return true;
      return fail_at(batch_errc::invalid_json, "invalid number", token.data());
    case od::json_type::boolean:
      if (token == "true" || token == "false") return true;
      return fail_at(batch_errc::invalid_json, "invalid literal", token.data());
    case od::json_type::null:
      if (token == "null") return true;
      return fail_at(batch_errc::invalid_json, "invalid literal", token.data());
    case od::json_type::array:
    case od::json_type::object:
      break;
  }
  return fail_at(batch_errc::invalid_json, "unexpected value", token.data());
}

inline bool body_parser::peek(od::value& v, od::json_type& t, std::string_view& token) {
  // The type first: only once simdjson has seen a value start there is the token's length
  // (the distance to the next structural) meaningful.
  if (auto e = v.type().get(t); e != simdjson::SUCCESS) return fail_json(e);
  token = trim_json_space_right(v.raw_json_token());
  return true;
}

bool body_parser::walk(od::value& v, od::json_type t, std::string_view token, std::uint32_t depth) {
  if (t != od::json_type::object && t != od::json_type::array) return check_scalar(t, token);
  if (depth > max_nesting_depth) {
    return fail_at(batch_errc::too_deep,
                   "arrays and objects nest deeper than " + std::to_string(max_nesting_depth),
                   token.data());
  }
  if (t == od::json_type::object) {
    od::object object;
    if (auto e = v.get_object().get(object); e != simdjson::SUCCESS) return fail_json(e);
    return walk_object(object, depth);
  }
  od::array array;
  if (auto e = v.get_array().get(array); e != simdjson::SUCCESS) return fail_json(e);
  for (auto element_result : array) {
    if (auto e = element_result.error(); e != simdjson::SUCCESS) return fail_json(e);
    od::value& element = element_result.value_unsafe();
    od::json_type et{};
    std::string_view element_token;
    if (!peek(element, et, element_token)) return false;
    if (!walk(element, et, element_token, depth + 1)) return false;
  }
  return true;
}

bool body_parser::walk_object(od::object& object, std::uint32_t depth) {
  for (auto field_result : object) {
    if (auto e = field_result.error(); e != simdjson::SUCCESS) return fail_json(e);
    od::field& field = field_result.value_unsafe();
    od::value& v = field.value();
    od::json_type t{};
    std::string_view token;
    if (!peek(v, t, token)) return false;
    if (!check_key(raw_key(field.key().raw(), token.data()))) return false;
    if (!walk(v, t, token, depth + 1)) return false;
  }
  return true;
}

bool body_parser::value_end(od::value& v, const char* begin, std::string_view& raw) {
  // After a container is consumed, simdjson points at the next token (",", "}" or "]");
  // the value ends before the whitespace that precedes it.
  auto next = v.current_location();
  if (next.error() != simdjson::SUCCESS) return fail_json(next.error());
  const char* end = next.value_unsafe();
  while (end > begin && is_json_space(end[-1])) --end;
  raw = std::string_view(begin, static_cast<std::size_t>(end - begin));
  return true;
}

// --- typed reads ------------------------------------------------------------------------

bool body_parser::string_content(std::string_view token, std::string_view& content) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') [[unlikely]] {
    return fail_at(batch_errc::invalid_json, "malformed string", token.data());
  }
  content = token.substr(1, token.size() - 2);
  return true;
}

inline bool body_parser::decode_string(od::value& v, std::string_view token, std::string_view field,
                                       json_string& out) {
  if (token.size() >= 2 && token.front() == '"' && token.back() == '"') [[likely]] {
    std::string_view content = token.substr(1, token.size() - 2);
    if (!has_backslash(content)) [[likely]] {
      out = json_string::plain(content);
      return true;
    }
  }
  return decode_escaped_string(v, token, field, out);
}

bool body_parser::decode_escaped_string(od::value& v, std::string_view token,
                                        std::string_view field, json_string& out) {
  std::string_view content;
  if (!string_content(token, content)) return false;
  switch (check_escapes(content)) {
    case escapes::invalid:
      return fail_at(batch_errc::invalid_json, "invalid escape in a string", token.data());
    case escapes::lone_surrogate:
      problem(reject_reason::bad_field_type, field, "expected a string of valid Unicode",
              "an unpaired surrogate escape");
      out = {};
      return true;
    case escapes::valid:
      break;
  }
  std::string_view text;
  if (auto e = v.get_string().get(text); e != simdjson::SUCCESS) return fail_json(e);
  out = {text, content};
  return true;
}

inline bool body_parser::read_string(od::value& v, od::json_type t, std::string_view token,
                                     std::uint32_t depth, std::string_view field,
                                     json_string& out) {
  if (t == od::json_type::string) [[likely]]
    return decode_string(v, token, field, out);
  return read_non_string(v, t, token, depth, field, out);
}

bool body_parser::read_non_string(od::value& v, od::json_type t, std::string_view token,
                                  std::uint32_t depth, std::string_view field, json_string& out) {
  if (t == od::json_type::null) {
    out = {};
    return true;
  }
  bad_type(field, "expected a string", t);
  return walk(v, t, token, depth + 1);
}

bool body_parser::read_int(od::value& v, od::json_type t, std::string_view token,
                           std::uint32_t depth, std::string_view field,
                           std::optional<std::int64_t>& out) {
  std::string_view digits;
  number_kind kind = number_kind::invalid;
  if (t == od::json_type::number) [[likely]] {
    kind = check_number(token);
    if (kind == number_kind::invalid)
      return fail_at(batch_errc::invalid_json, "invalid number", token.data());
    digits = token;
  } else if (t == od::json_type::string) {
    json_string s;
    if (!decode_string(v, token, field, s)) return false;
    // A numeric string: an optional minus and digits, nothing else (no spaces, no
    // fraction), as SendGrid writes "attempt":"5" or "timestamp":"123456789".
    std::string_view text = s.text;
    std::size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
    bool numeric = i < text.size();
    for (; i < text.size(); ++i) numeric = numeric && is_digit(text[i]);
    if (!numeric) {
      problem(reject_reason::bad_field_type, field, "expected an integer or a numeric string",
              "a string that is not an integer");
      out.reset();
      return true;
    }
    kind = number_kind::integer;
    digits = text;
  } else if (t == od::json_type::null) {
    out.reset();
    return true;
  } else {
    bad_type(field, "expected an integer or a numeric string", t);
    out.reset();
    return walk(v, t, token, depth + 1);
  }

  if (kind == number_kind::integer) [[likely]] {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc{} && end == digits.data() + digits.size()) {
      out = value;
      return true;
    }
    problem(reject_reason::bad_field_type, field, "expected a 64-bit integer",
            "a number out of range");
    out.reset();
    return true;
  }
  // We accept a number written with a fraction or exponent when it is a whole number
  // that a double holds exactly (1.6e9, 1600000000.0); anything else would be rounded.
  double d = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
  constexpr double exact_limit = 9007199254740992.0;  // 2^53
  if (ec == std::errc{} && end == digits.data() + digits.size() && std::trunc(d) == d &&
      std::fabs(d) <= exact_limit) {
    out = static_cast<std::int64_t>(d);
    return true;
  }
  problem(reject_reason::bad_field_type, field, "expected an integer",
          "a number that is not a whole number");
  out.reset();
  return true;
}

bool body_parser::read_flag(od::value& v, od::json_type t, std::string_view token,
                            std::uint32_t depth, std::string_view field, std::optional<bool>& out) {
  constexpr std::string_view expected = "expected true, false, 0 or 1";
  switch (t) {
    case od::json_type::boolean:
      if (token == "true") {
        out = true;
      } else if (token == "false") {
        out = false;
      } else {
        return fail_at(batch_errc::invalid_json, "invalid literal", token.data());
      }
      return true;
    case od::json_type::number: {
      // SendGrid sends tls as 1; we accept exactly 0 and 1 as integers.
      auto kind = check_number(token);
      if (kind == number_kind::invalid)
        return fail_at(batch_errc::invalid_json, "invalid number", token.data());
      if (token == "0" || token == "1") {
        out = token == "1";
      } else {
        problem(reject_reason::bad_field_type, field, expected, "another number");
        out.reset();
      }
      return true;
    }
    case od::json_type::null:
      out.reset();
      return true;
    default:
      bad_type(field, expected, t);
      out.reset();
      return walk(v, t, token, depth + 1);
  }
}

bool body_parser::read_category(od::value& v, od::json_type t, std::string_view token,
                                std::uint32_t depth) {
  categories_.clear();  // a repeated key replaces the earlier value
  if (t == od::json_type::string) {
    json_string s;
    if (!decode_string(v, token, "category", s)) return false;
    categories_.push_back(s);
    return true;
  }
  if (t == od::json_type::null) return true;
  if (t != od::json_type::array) {
    bad_type("category", "expected a string or an array of strings", t);
    return walk(v, t, token, depth + 1);
  }
  od::array array;
  if (auto e = v.get_array().get(array); e != simdjson::SUCCESS) return fail_json(e);
  for (auto element_result : array) {
    if (auto e = element_result.error(); e != simdjson::SUCCESS) return fail_json(e);
    od::value& element = element_result.value_unsafe();
    od::json_type et{};
    std::string_view element_token;
    if (!peek(element, et, element_token)) return false;
    if (et == od::json_type::string) {
      json_string s;
      if (!decode_string(element, element_token, "category", s)) return false;
      categories_.push_back(s);
    } else {
      bad_type("category", "expected a string or an array of strings", et);
      if (!walk(element, et, element_token, depth + 2)) return false;
    }
  }
  return true;
}

template <class Fn>
bool body_parser::read_sub_object(od::value& v, od::json_type t, std::string_view token,
                                  std::string_view key, std::string_view field, bool& present,
                                  Fn&& on_field) {
  constexpr std::uint32_t depth = 3;  // array, event, this object
  if (t == od::json_type::null) {
    present = false;
    return true;
  }
  if (t != od::json_type::object) {
    bad_type(field, "expected an object", t);
    present = false;
    return walk(v, t, token, depth);
  }
  present = true;
  od::object object;
  if (auto e = v.get_object().get(object); e != simdjson::SUCCESS) return fail_json(e);
  bool unknown_keys = false;
  for (auto field_result : object) {
    if (auto e = field_result.error(); e != simdjson::SUCCESS) return fail_json(e);
    od::field& sub = field_result.value_unsafe();
    od::value& sv = sub.value();
    od::json_type st{};
    std::string_view sub_token;
    if (!peek(sv, st, sub_token)) return false;
    std::string_view sub_key = raw_key(sub.key().raw(), sub_token.data());
    if (!check_key(sub_key)) return false;
    bool known = false;
    if (!on_field(sub_key, sv, st, sub_token, depth, known)) return false;
    if (!known) {
      unknown_keys = true;
      if (!walk(sv, st, sub_token, depth + 1)) return false;
    }
  }
  if (unknown_keys) {
    // Keys the schema does not model would be lost: the whole object is also kept
    // verbatim among the custom args, under its own key.
    std::string_view raw;
    if (!value_end(v, token.data(), raw)) return false;
    custom_args_.push_back({key, raw});
  }
  return true;
}

bool body_parser::read_url_offset(od::value& v, od::json_type t, std::string_view token,
                                  std::string_view key) {
  event_.url_offset_index = 0;
  event_.url_offset_type = {};
  return read_sub_object(v, t, token, key, "url_offset", event_.has_url_offset,
                         [this](std::string_view k, od::value& sv, od::json_type st,
                                std::string_view stoken, std::uint32_t depth, bool& known) {
                           if (k == "index") {
                             known = true;
                             std::optional<std::int64_t> index;
                             if (!read_int(sv, st, stoken, depth, "url_offset.index", index))
                               return false;
                             event_.url_offset_index = index.value_or(0);
                           } else if (k == "type") {
                             known = true;
                             return read_string(sv, st, stoken, depth, "url_offset.type",
                                                event_.url_offset_type);
                           }
                           return true;
                         });
}

bool body_parser::read_pool(od::value& v, od::json_type t, std::string_view token,
                            std::string_view key) {
  event_.pool_name = {};
  event_.pool_id = 0;
  return read_sub_object(v, t, token, key, "pool", event_.has_pool,
                         [this](std::string_view k, od::value& sv, od::json_type st,
                                std::string_view stoken, std::uint32_t depth, bool& known) {
                           if (k == "name") {
                             known = true;
                             return read_string(sv, st, stoken, depth, "pool.name",
                                                event_.pool_name);
                           }
                           if (k == "id") {
                             known = true;
                             std::optional<std::int64_t> id;
                             if (!read_int(sv, st, stoken, depth, "pool.id", id)) return false;
                             event_.pool_id = id.value_or(0);
                           }
                           return true;
                         });
}

bool body_parser::read_campaign_id(od::value& v, od::json_type t, std::string_view token,
                                   std::uint32_t depth) {
  if (t == od::json_type::number) {
    if (check_number(token) == number_kind::invalid) {
      return fail_at(batch_errc::invalid_json, "invalid number", token.data());
    }
    event_.marketing_campaign_id = json_string::plain(token);  // kept as written
    return true;
  }
  if (t == od::json_type::string || t == od::json_type::null) {
    return read_string(v, t, token, depth, "marketing_campaign_id", event_.marketing_campaign_id);
  }
  bad_type("marketing_campaign_id", "expected a number or a string", t);
  event_.marketing_campaign_id = {};
  return walk(v, t, token, depth + 1);
}

bool body_parser::read_custom(od::value& v, od::json_type t, std::string_view token,
                              std::string_view key) {
  if (t != od::json_type::object && t != od::json_type::array) [[likely]] {
    if (!check_scalar(t, token)) return false;
    custom_args_.push_back({key, token});
    return true;
  }
  std::string_view raw;
  if (!walk(v, t, token, 3) || !value_end(v, token.data(), raw)) return false;
  custom_args_.push_back({key, raw});
  return true;
}

}  // namespace

// --- batch_encoder ----------------------------------------------------------------------

batch_encoder::batch_encoder() : state_(std::make_unique<state>()) {
  // On-Demand checks max_depth only in development builds; walk() enforces the real limit.
  // The margin keeps simdjson's own bookkeeping in range at the limit.
  // If this allocation fails, iterate() allocates again (and reports MEMALLOC then).
  [[maybe_unused]] auto e = state_->parser.allocate(64 * 1024, max_nesting_depth + 2);
}

batch_encoder::~batch_encoder() = default;

std::size_t batch_encoder::padding() noexcept {
  return simdjson::SIMDJSON_PADDING;
}

result<void> batch_encoder::encode(std::string_view body, std::size_t capacity,
                                   const batch_context& ctx, encoded_batch& out) {
  MAILHOOK_CHECK(
      capacity >= body.size() + simdjson::SIMDJSON_PADDING,
      "batch_encoder::encode needs simdjson::SIMDJSON_PADDING readable bytes after the body");
  // On-Demand takes the byte after the input for its end; a ',' or ']' there could walk
  // an unbalanced body past its end.
  MAILHOOK_CHECK(body.data()[body.size()] == '\0',
                 "batch_encoder::encode needs a 0 after the body");
  out.clear();
  // Records take about the body's size (a little more in JSON, tenant and normalized
  // address added); reserving once avoids most regrowth.
  std::size_t estimate = body.size() + body.size() / 4 + 256;
  if (ctx.keep_raw_event) estimate += body.size();
  out.arena.reserve(estimate);
  out.records.reserve(body.size() / 512 + 1);
  body_parser parser(state_->parser, state_->categories, state_->custom_args, state_->scratch, ctx,
                     out);
  return parser.run(body, capacity, false);
}

result<void> batch_encoder::encode(std::string& body, const batch_context& ctx,
                                   encoded_batch& out) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  }
  return encode(std::string_view(body), body.capacity(), ctx, out);
}

}  // namespace mailhook::webhook

MAILHOOK_DEFINE_ERRC(mailhook::webhook, batch_errc, "webhook.batch", describe, classify)
