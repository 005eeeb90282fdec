#include "suppression/csv_reader.h"

#include "suppression/import.h"

namespace mailhook::suppression {

result<bool> csv_reader::next(std::vector<std::string>& fields) {
  fields.clear();
  if (at_end()) return false;
  record_line_ = line_;
  for (;;) {
    std::string field;
    // After a ',' that ends the text, the last field is empty: nothing left to peek at.
    if (!at_end() && peek() == '"') {
      if (auto ok = read_quoted(field); !ok) return ok.error();
    } else if (auto ok = read_plain(field, fields.size()); !ok) {
      return ok.error();
    }
    fields.push_back(std::move(field));
    if (at_end()) return true;
    if (peek() != ',') {
      skip_line_end();
      return true;
    }
    ++pos_;
  }
}

result<void> csv_reader::read_quoted(std::string& field) {
  const std::size_t opened = line_;
  ++pos_;  // the opening quote
  for (;;) {
    if (at_end()) {
      return failure(import_errc::bad_format,
                     "line " + std::to_string(opened) + ": a quoted field is never closed");
    }
    char c = peek();
    if (c == '"') {
      if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
        field.push_back('"');
        pos_ += 2;
        continue;
      }
      ++pos_;  // the closing quote
      break;
    }
    if (c == '\n' || (c == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] != '\n'))) {
      ++line_;
    }
    field.push_back(c);
    ++pos_;
  }
  if (!at_end() && peek() != ',' && peek() != '\n' && peek() != '\r') {
    return failure(import_errc::bad_format,
                   here() +
                       ": text after a closing quote (a quote inside a quoted field is "
                       "written as two quotes)");
  }
  return {};
}

result<void> csv_reader::read_plain(std::string& field, std::size_t index) {
  const std::size_t start = pos_;
  while (!at_end() && peek() != ',' && peek() != '\n' && peek() != '\r') {
    if (peek() == '"') {
      return failure(import_errc::bad_format,
                     here() + ": a quote inside unquoted field " + std::to_string(index + 1) +
                         " (RFC 4180 wants the whole field quoted and the quote doubled)");
    }
    ++pos_;
  }
  field.assign(text_.substr(start, pos_ - start));
  return {};
}

}  // namespace mailhook::suppression
