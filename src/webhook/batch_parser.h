// Parses one SendGrid Event Webhook body (a JSON array of event objects) with simdjson
// On-Demand, straight from the receive buffer, and encodes every usable event as a Kafka
// record into one arena (see event_encoder.h); unusable events are listed with why.
// A batch_encoder is used by one thread at a time (keep one per thread and reuse it: it
// keeps its buffers between requests). Results point into the body, which must outlive
// them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/error_category.h"
#include "common/result.h"
#include "webhook/event_encoder.h"

namespace mailhook::webhook {

// Why a whole body is unusable. The caller then sends the whole body to the dead-letter
// topic (reason_word() gives DeadLetter.reason) and publishes nothing from it.
enum class batch_errc {
  invalid_json = 1,  // not JSON (syntax, UTF-8, escapes), empty or truncated
  not_an_array,      // valid start of a JSON value, but not an array
  trailing_content,  // something other than whitespace after the closing ]
  too_deep,          // arrays/objects nested deeper than max_nesting_depth
  too_large,         // the encoded batch would not fit 32-bit arena offsets
};

// Arrays and objects may nest this deep, the batch array counting as 1 and an event as 2.
inline constexpr std::uint32_t max_nesting_depth = 64;

[[nodiscard]] const char* describe(batch_errc e) noexcept;
// Bad input (too_large: over a size limit), named by reason_word().
[[nodiscard]] error_class classify(batch_errc e) noexcept;
// The stable word for DeadLetter.reason ("invalid_json", ...).
[[nodiscard]] std::string_view reason_word(batch_errc e) noexcept;
// The same for any error code: batch_errc words, else "unknown".
[[nodiscard]] std::string_view reason_word(const std::error_code& code) noexcept;

// Reason words of one rejected event (DeadLetter.reason).
namespace reject_reason {
inline constexpr std::string_view event_not_object = "event_not_object";
inline constexpr std::string_view missing_field = "missing_field";
inline constexpr std::string_view bad_field_type = "bad_field_type";
inline constexpr std::string_view invalid_email = "invalid_email";  // email::address_errc
}  // namespace reject_reason

// One element of the array that could not become a record.
struct rejected_event {
  std::int32_t index = 0;   // position in the batch array
  std::string_view reason;  // a reject_reason word (static storage)
  std::string detail;       // for people: "email: expected a string, got number"
  std::string_view raw;     // the element's bytes inside the body, exactly as received
};

// What one body produced. Records and rejected events together cover every element of
// the array, each exactly once, in no particular interleaving (both lists are in order).
struct encoded_batch {
  byte_buffer arena;  // every record's key and value bytes (see encoded_record)
  std::vector<encoded_record> records;
  std::vector<rejected_event> rejected;

  // Empties the batch, keeping its capacity for the next one.
  void clear() noexcept;
};

class batch_encoder {
 public:
  batch_encoder();
  ~batch_encoder();
  batch_encoder(const batch_encoder&) = delete;
  batch_encoder& operator=(const batch_encoder&) = delete;

  // Parses `body` and appends its records to `out` (after clearing it). `body.data()` must
  // have at least `capacity` bytes readable, with capacity >= body.size() +
  // simdjson::SIMDJSON_PADDING (the HTTP server reserves them), and the byte right after
  // the body must be 0, as a std::string's terminator is: On-Demand reads that byte as
  // the end of the input. Breaking either is a bug and aborts. A failure means the body
  // as a whole is unusable; `out` is then unspecified. A bad event never fails the batch:
  // it lands in out.rejected.
  [[nodiscard]] result<void> encode(std::string_view body, std::size_t capacity,
                                    const batch_context& ctx, encoded_batch& out);
  // The same for a body held in a string: reserves the padding if it is missing (which
  // may move the bytes; views into `body` taken before are then stale).
  [[nodiscard]] result<void> encode(std::string& body, const batch_context& ctx,
                                    encoded_batch& out);

  // Padding simdjson needs after the body (simdjson::SIMDJSON_PADDING), for callers that
  // size receive buffers without including simdjson.
  static std::size_t padding() noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace mailhook::webhook

MAILHOOK_DECLARE_ERRC(mailhook::webhook, batch_errc)
