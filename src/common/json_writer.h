// The one JSON writer: compact JSON appended to a std::string, with strings escaped as
// RFC 8259 requires and commas placed by the writer, so that no module concatenates JSON
// by hand. It writes what it is told in that order; it does not check that keys are
// unique or that containers are closed (MAILHOOK_CHECK catches a close without an open).
// Not thread-safe; one writer per string being built.
//
//   std::string body;
//   json_writer json(body);
//   json.begin_object().field("status", "ok").key("counts").begin_array();
//   for (auto n : counts) json.value(n);
//   json.end_array().end_object();  // {"status":"ok","counts":[1,2]}
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailhook {

// Appends `text` to `out` as the inside of a JSON string (no surrounding quotes): `"`, `\`
// and control characters escaped, every other byte (UTF-8 included) as it is. `Out` is a
// std::string or any buffer with append(const char*, const char*) and push_back(char)
// (spdlog's memory buffer).
template <class Out>
void append_json_escaped(Out& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  const char* run = text.data();  // bytes copied as they are, in one append
  const char* end = text.data() + text.size();
  for (const char* p = run; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(run, p);
    run = p + 1;
    switch (c) {
      case '"':
        out.append(R"(\")", R"(\")" + 2);
        break;
      case '\\':
        out.append(R"(\\)", R"(\\)" + 2);
        break;
      case '\n':
        out.append(R"(\n)", R"(\n)" + 2);
        break;
      case '\r':
        out.append(R"(\r)", R"(\r)" + 2);
        break;
      case '\t':
        out.append(R"(\t)", R"(\t)" + 2);
        break;
      default: {
        const char escaped[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
        out.append(escaped, escaped + sizeof escaped);
      }
    }
  }
  out.append(run, end);
}

class json_writer {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit json_writer(std::string& out) noexcept : out_(out) {}

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();

  // The next member's name; the value written next is its value.
  json_writer& key(std::string_view name);

  json_writer& value(std::string_view text);
  json_writer& value(const char* text) { return value(std::string_view(text)); }
  json_writer& value(const std::string& text) { return value(std::string_view(text)); }
  json_writer& value(bool b);
  json_writer& value(std::signed_integral auto n) { return integer(static_cast<std::int64_t>(n)); }
  json_writer& value(std::unsigned_integral auto n) {
    return unsigned_integer(static_cast<std::uint64_t>(n));
  }
  // A finite number, printed with the fewest digits that read back as the same double;
  // NaN and infinities, which JSON cannot carry, are written as null.
  json_writer& value(double d);
  json_writer& null();
  // `json`, which must already be one valid JSON value (e.g. validated and minified
  // input), written as it is.
  json_writer& raw(std::string_view json);

  // key(name) followed by value(v).
  template <class T>
  json_writer& field(std::string_view name, const T& v) {
    return key(name).value(v);
  }

 private:
  json_writer& integer(std::int64_t n);
  json_writer& unsigned_integer(std::uint64_t n);
  // `n` in the shortest form std::to_chars gives (a double reads back as itself).
  template <class Number>
  json_writer& digits(Number n);
  void before_value();
  void open(char bracket);
  void close(char bracket);

  std::string& out_;
  int depth_ = 0;
  bool need_comma_ = false;  // a value was written at this level: the next one needs ','
  bool after_key_ = false;   // a key was written: the next value is its value
};

}  // namespace mailhook
