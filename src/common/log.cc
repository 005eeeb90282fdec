#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "common/json_writer.h"

namespace mailhook {
namespace {

// %j: the message as a JSON string body, so that a JSON log line stays valid whatever
// the message holds (quotes, newlines, control bytes from peer input).
class json_message_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    append_json_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

}  // namespace

result<void> configure_logging(std::string_view level, log_format format) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for any unknown name; only accept "off" when it was asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return failure(std::make_error_code(std::errc::invalid_argument),
                   "unknown log level '" + std::string(level) + "'");
  }
  auto logger = std::make_shared<spdlog::logger>("mailhook",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == log_format::json) {
    formatter->add_flag<json_message_flag>('j').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%j"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return {};
}

}  // namespace mailhook
