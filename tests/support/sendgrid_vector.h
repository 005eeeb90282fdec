// SendGrid's genuine Signed Event Webhook request (tests/data/sendgrid/signed-dropped.*,
// the test vector of SendGrid's own helper libraries), read from the repository for
// integration tests that post it to a running daemon. Its timestamp is from 2020: the
// source it is posted to needs replay_window = "0".
#pragma once

#include <map>
#include <string>

namespace mailhook::testing {

struct signed_request {
  std::string public_key;  // the source's public_keys entry
  std::string body;        // the exact bytes SendGrid signed
  // The signature and timestamp headers, as SendGrid sent them.
  std::map<std::string, std::string> headers;
};

// Read once from source_dir(); throws std::runtime_error when the files are unreadable.
const signed_request& genuine_signed_request();

}  // namespace mailhook::testing
