#include "common/json_writer.h"

#include <charconv>
#include <cmath>

#include "common/check.h"

namespace mailhook {

void json_writer::before_value() {
  if (after_key_) {
    after_key_ = false;
  } else if (need_comma_) {
    out_ += ',';
  }
  need_comma_ = true;
}

void json_writer::open(char bracket) {
  before_value();
  out_ += bracket;
  ++depth_;
  need_comma_ = false;
}

void json_writer::close(char bracket) {
  MAILHOOK_CHECK(depth_ > 0 && !after_key_, "json_writer: a close without an open container");
  --depth_;
  out_ += bracket;
  need_comma_ = true;
}

json_writer& json_writer::begin_object() {
  open('{');
  return *this;
}

json_writer& json_writer::end_object() {
  close('}');
  return *this;
}

json_writer& json_writer::begin_array() {
  open('[');
  return *this;
}

json_writer& json_writer::end_array() {
  close(']');
  return *this;
}

json_writer& json_writer::key(std::string_view name) {
  if (need_comma_) out_ += ',';
  out_ += '"';
  append_json_escaped(out_, name);
  out_ += "\":";
  need_comma_ = false;
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view text) {
  before_value();
  out_ += '"';
  append_json_escaped(out_, text);
  out_ += '"';
  return *this;
}

json_writer& json_writer::value(bool b) {
  before_value();
  out_ += b ? "true" : "false";
  return *this;
}

json_writer& json_writer::value(double d) {
  if (!std::isfinite(d)) return null();
  return digits(d);
}

template <class Number>
json_writer& json_writer::digits(Number n) {
  before_value();
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, end);
  return *this;
}

json_writer& json_writer::null() {
  before_value();
  out_ += "null";
  return *this;
}

json_writer& json_writer::raw(std::string_view json) {
  before_value();
  out_ += json;
  return *this;
}

json_writer& json_writer::integer(std::int64_t n) {
  return digits(n);
}

json_writer& json_writer::unsigned_integer(std::uint64_t n) {
  return digits(n);
}

}  // namespace mailhook
