// libFuzzer target for everything that reads HAProxy's admin-socket replies: the table parsers,
// the interactive-session splitter and classify_reply. The first byte chooses (fuzz_inputs.hpp).
// Besides "never crash, never leak, no UB" it checks what the driver relies on.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_inputs.hpp"
#include "sherlock/haproxy_replies.hpp"

namespace {

namespace haproxy = baker::sherlock::haproxy;
using baker::fuzz::HaproxyInput;

static_assert(static_cast<int>(haproxy::CommandKind::del_server) + 1 == baker::fuzz::kCommandKinds);

void check(bool property) {
  if (!property) std::abort();
}

void servers_state(std::string_view reply) {
  std::string error;
  if (const auto rows = haproxy::parse_servers_state(reply, &error)) {
    for (const auto& r : *rows) {
      check(!r.server.empty());
      check(!(r.in_maint() && r.draining()));
      check(r.ready() == (!r.in_maint() && !r.draining()));
    }
  } else {
    check(!error.empty());
  }
}

void stat(std::string_view reply) {
  std::string error;
  if (const auto loads = haproxy::parse_stat(reply, &error)) {
    for (const auto& l : *loads) {
      check(l.current_sessions >= 0 && l.queued >= 0);
      check(l.server != "FRONTEND" && l.server != "BACKEND");
    }
  } else {
    check(!error.empty());
  }
}

void show_proc(std::string_view reply) {
  if (const auto procs = haproxy::parse_show_proc(reply)) {
    if (const auto current = procs->current_worker()) {
      bool listed = false;
      for (const auto& w : procs->workers) listed = listed || (w.pid == *current && w.reloads == 0);
      check(listed);
    }
  }
}

// Whatever way the bytes arrive, the session splits into the same replies, and nothing consumed
// is lost: replies + prompts re-make the consumed prefix.
void prompt_split(std::string_view bytes) {
  if (bytes.empty()) return;
  const std::size_t cut = static_cast<unsigned char>(bytes[0]) % (bytes.size());
  bytes.remove_prefix(1);
  std::vector<std::string> whole;
  std::size_t consumed = 0;
  const auto n = haproxy::split_prompt_replies(bytes, whole, consumed);
  check(n == whole.size() && consumed <= bytes.size());
  std::string again;
  for (const auto& r : whole) again += r + "\n> ";
  check(again == bytes.substr(0, consumed));

  const std::size_t at = std::min(cut, bytes.size());
  std::string buffer(bytes.substr(0, at));
  std::vector<std::string> pieces;
  std::size_t used = 0;
  haproxy::split_prompt_replies(buffer, pieces, used);
  buffer.erase(0, used);
  buffer += bytes.substr(at);
  haproxy::split_prompt_replies(buffer, pieces, used);
  check(pieces == whole);
}

void classify(haproxy::CommandKind kind, std::string_view reply) {
  const auto r = haproxy::classify_reply(kind, reply);
  check(haproxy::to_string(r.status) != "?");
  // ok carries no text; an error HAProxy is known to give names itself in one line for a log.
  if (r.status == haproxy::ReplyStatus::ok) check(r.text.empty());
  if (r.status != haproxy::ReplyStatus::ok && r.status != haproxy::ReplyStatus::unparsable) {
    check(!r.text.empty());
  }
  check(r.text.find('\n') == std::string::npos);
  // What the driver does next with an ok show reply.
  if (r.status != haproxy::ReplyStatus::ok) return;
  switch (kind) {
    case haproxy::CommandKind::show_servers_state:
      servers_state(reply);
      break;
    case haproxy::CommandKind::show_stat:
      stat(reply);
      break;
    case haproxy::CommandKind::show_info:
      haproxy::parse_show_info(reply);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int selector = data[0] % baker::fuzz::kHaproxySelectors;
  const std::string_view reply(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (static_cast<HaproxyInput>(std::min(selector, static_cast<int>(HaproxyInput::classify)))) {
    case HaproxyInput::servers_state:
      servers_state(reply);
      break;
    case HaproxyInput::stat:
      stat(reply);
      break;
    case HaproxyInput::show_info:
      haproxy::parse_show_info(reply);
      break;
    case HaproxyInput::show_proc:
      show_proc(reply);
      break;
    case HaproxyInput::prompt_split:
      prompt_split(reply);
      break;
    case HaproxyInput::classify:
      classify(
          static_cast<haproxy::CommandKind>(selector - static_cast<int>(HaproxyInput::classify)),
          reply);
      break;
  }
  return 0;
}
