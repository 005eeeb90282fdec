// Reads RFC 4180 text one record at a time, for the CSV files SendGrid's UI downloads:
// ',' between fields, CRLF, LF or a lone CR between records, '"' around fields that hold
// any of them, "" for a quote inside. A record's line is the physical line it starts on,
// so numbers match what an editor shows even when a quoted field spans lines.
// Failures carry import_errc::bad_format and name the line.
//
// Threading: one reader per text and thread; it does not copy the text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mailhook::suppression {

class csv_reader {
 public:
  explicit csv_reader(std::string_view text) noexcept : text_(text) {}

  // The next record's fields (unquoted, untrimmed); false at the end of the text.
  result<bool> next(std::vector<std::string>& fields);
  // The line (from 1) the record next() returned last starts on.
  [[nodiscard]] std::size_t record_line() const noexcept { return record_line_; }

 private:
  result<void> read_quoted(std::string& field);
  result<void> read_plain(std::string& field, std::size_t index);
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const noexcept { return text_[pos_]; }
  // Consumes a line end at pos_ (CRLF, LF or CR).
  void skip_line_end() noexcept {
    if (peek() == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }
  [[nodiscard]] std::string here() const { return "line " + std::to_string(line_); }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t record_line_ = 0;
};

}  // namespace mailhook::suppression
