#include "app/admin_token.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace mailhook::app {
namespace {

result<std::optional<std::string>> checked(std::string token, const std::string& where) {
  // Files written by `echo` or an editor end in a newline that is not part of the token.
  if (token.ends_with('\n')) token.pop_back();
  if (token.ends_with('\r')) token.pop_back();
  if (token.empty()) {
    return failure(std::make_error_code(std::errc::invalid_argument), where + " is empty");
  }
  if (!std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < '\x7f'; })) {
    return failure(std::make_error_code(std::errc::invalid_argument),
                   where + " holds spaces, control or non-ASCII characters: not a token");
  }
  return std::optional<std::string>(std::move(token));
}

}  // namespace

result<std::optional<std::string>> read_admin_token(const std::string& token_file) {
  if (!token_file.empty()) {
    std::ifstream in(token_file, std::ios::binary);
    if (!in.is_open()) {
      return failure(std::error_code(errno, std::generic_category()),
                     "--token-file: cannot read " + token_file + ": " + std::strerror(errno));
    }
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
      return failure(std::make_error_code(std::errc::io_error),
                     "--token-file: cannot read " + token_file);
    }
    return checked(std::move(token), "--token-file " + token_file);
  }
  const char* value = std::getenv(std::string(admin_token_env).c_str());
  if (value == nullptr) return std::optional<std::string>();
  return checked(value, "the environment variable " + std::string(admin_token_env));
}

std::string token_hint(int status, bool token_given) {
  if (status != 401) return {};
  if (token_given) return "the token is not one the daemon knows ([[admin.tokens]])";
  return "the admin API needs a token: give --token-file FILE or set " +
         std::string(admin_token_env);
}

}  // namespace mailhook::app
