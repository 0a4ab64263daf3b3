#include "common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdlib>
#include <memory>

namespace baker {

namespace {
// "%*" in the pattern: the line's priority as "<N>" for the journal.
class JournalPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char text[] = {'<', static_cast<char>('0' + journal_priority(msg.level)), '>'};
    dest.append(text, text + sizeof text);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalPriorityFlag>();
  }
};

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (!stream || ::fstat(2, &st) != 0) return false;
  return journal_stream_matches(stream, st.st_dev, st.st_ino);
}

std::optional<unsigned long long> parse_number(std::string_view text) {
  unsigned long long v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  return v;
}
}  // namespace

bool journal_stream_matches(std::string_view journal_stream, unsigned long long device,
                            unsigned long long inode) {
  const auto colon = journal_stream.find(':');
  if (colon == std::string_view::npos) return false;
  const auto dev = parse_number(journal_stream.substr(0, colon));
  const auto ino = parse_number(journal_stream.substr(colon + 1));
  return dev && ino && *dev == device && *ino == inode;
}

int journal_priority(int spdlog_level) {
  switch (static_cast<spdlog::level::level_enum>(spdlog_level)) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;  // LOG_DEBUG
    case spdlog::level::info:
      return 6;  // LOG_INFO
    case spdlog::level::warn:
      return 4;  // LOG_WARNING
    case spdlog::level::err:
      return 3;  // LOG_ERR
    case spdlog::level::critical:
      return 2;  // LOG_CRIT
    default:
      return 6;
  }
}

bool set_log_level(std::string_view level) {
  static constexpr std::string_view kNames[] = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (level == kNames[i]) {
      spdlog::set_level(static_cast<spdlog::level::level_enum>(i));
      return true;
    }
  }
  return false;
}

void init_logging(const std::string& daemon_name, std::string_view level) {
  auto logger = spdlog::stderr_color_mt(daemon_name);
  spdlog::set_default_logger(logger);
  if (stderr_is_journal()) {
    // The journal adds the time, the unit and the pid; the level word stays for grep.
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JournalPriorityFlag>('*').set_pattern("%*%l %v");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  }
  set_log_level(level);
}

}  // namespace baker
