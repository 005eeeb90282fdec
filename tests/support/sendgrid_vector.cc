#include "support/sendgrid_vector.h"

#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/daemon.h"

namespace mailhook::testing {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

signed_request load() {
  const auto dir = source_dir() / "tests/data/sendgrid";
  signed_request out;
  out.body = read_file(dir / "signed-dropped.body");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(read_file(dir / "signed-dropped.json"))).get(doc) !=
      simdjson::SUCCESS) {
    throw std::runtime_error("signed-dropped.json is not JSON");
  }
  const auto text = [&](const char* pointer) {
    std::string_view s;
    if (doc.at_pointer(pointer).get(s) != simdjson::SUCCESS)
      throw std::runtime_error(std::string("signed-dropped.json has no ") + pointer);
    return std::string(s);
  };
  out.public_key = text("/public_key");
  for (const char* name :
       {"X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"}) {
    out.headers[name] = text((std::string("/headers/") + name).c_str());
  }
  return out;
}

}  // namespace

const signed_request& genuine_signed_request() {
  static const signed_request request = load();
  return request;
}

}  // namespace mailhook::testing
