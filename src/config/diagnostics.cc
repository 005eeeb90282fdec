// Error collection and formatting for the config loader (see diagnostics.h).
#include "config/diagnostics.h"

#include <algorithm>
#include <cctype>

namespace mailhook::config {
namespace {

bool is_bare_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
}

int lower(char c) {
  return std::tolower(static_cast<unsigned char>(c));
}

// Optimal string alignment distance: Levenshtein plus swaps of neighbours, the most common
// typo ("bootsrtap").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string display(const key_path& path) {
  std::string out;
  for (const auto& segment : path) {
    // An array element (table_reader::array_section): tokens[0], not tokens."[0]".
    if (segment.starts_with('[') && segment.ends_with(']') && !out.empty()) {
      out += segment;
      continue;
    }
    if (!out.empty()) out.push_back('.');
    if (is_bare_key(segment)) {
      out += segment;
    } else {
      out.push_back('"');
      for (char c : segment) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
      }
      out.push_back('"');
    }
  }
  return out;
}

void diagnostics::add(errc code, origin where, std::string key, std::string message) {
  list_.push_back({code, std::move(where), std::move(key), std::move(message)});
}

failure diagnostics::to_failure() const {
  MAILHOOK_CHECK(!list_.empty(), "to_failure() without errors");
  std::vector<const diagnostic*> sorted;
  for (const auto& d : list_) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const diagnostic* a, const diagnostic* b) {
    // File errors (no env_name) first, by position; then variables by name.
    if (a->where.env_name.empty() != b->where.env_name.empty()) return a->where.env_name.empty();
    if (!a->where.env_name.empty()) return a->where.env_name < b->where.env_name;
    if (a->where.line != b->where.line) return a->where.line < b->where.line;
    return a->where.column < b->where.column;
  });
  std::string message;
  for (const diagnostic* d : sorted) {
    if (!message.empty()) message.push_back('\n');
    if (!d->where.env_name.empty()) {
      message += "environment " + d->where.env_name;
    } else {
      message += source_name_;
      if (d->where.line > 0) {
        message += ":" + std::to_string(d->where.line) + ":" + std::to_string(d->where.column);
      }
    }
    if (!d->key.empty()) message += ": " + d->key;
    message += ": " + d->message;
  }
  return {sorted.front()->code, std::move(message)};
}

std::string_view closest(std::string_view key, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  std::size_t best_distance = std::max<std::size_t>(1, key.size() / 3) + 1;
  for (std::string_view candidate : candidates) {
    std::size_t distance = edit_distance(key, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace mailhook::config
