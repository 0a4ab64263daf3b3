#include "sherlock/managed_state.hpp"

#include <charconv>
#include <vector>

#include "sherlock/managed_reloader.hpp"
#include "wire/validate.hpp"

namespace baker::sherlock::haproxy {

namespace {

constexpr std::string_view kHeader = "baker-sherlock-state 1";

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const auto start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <typename T>
bool number(std::string_view text, T& out) {
  if (text.empty() || text.size() > 20) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string write_managed_state(const ManagedState& s) {
  std::string out;
  out += "# Written by sherlock: the haproxy it runs from this directory, for the next sherlock.\n";
  out += std::string(kHeader) + "\n";
  out += "master_pid " + std::to_string(s.master_pid) + "\n";
  out += "generation " + std::to_string(s.generation) + "\n";
  out += "settings " + s.settings + "\n";
  for (const auto& [service, slots] : s.http) {
    out += "http " + service + " " + std::to_string(slots) + "\n";
  }
  for (const auto& [service, slots] : s.tcp) {
    out += "tcp " + service + " " + std::to_string(slots) + "\n";
  }
  out += "end\n";  // a cut file is never mistaken for a whole one
  return out;
}

std::optional<ManagedState> parse_managed_state(std::string_view text, std::string* why) {
  const auto fail = [&](std::string reason) -> std::optional<ManagedState> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (text.size() > kMaxStateFileBytes) return fail("larger than 4 MiB");
  ManagedState s;
  bool header = false, pid = false, generation = false, settings = false, end = false;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) return fail("the last line is cut (no line break)");
    const auto line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    const auto at = [&](const std::string& what) {
      return "line " + std::to_string(line_no) + ": " + what;
    };
    if (line.empty() || line.front() == '#') continue;
    if (end) return fail(at("text after 'end'"));
    if (!header) {
      if (line != kHeader) return fail(at("not a sherlock state file"));
      header = true;
      continue;
    }
    if (line == "end") {
      end = true;
      continue;
    }
    const auto sp = line.find(' ');
    const auto key = line.substr(0, sp);
    const auto rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    if (key == "settings") {
      if (settings) return fail(at("settings given twice"));
      settings = true;
      s.settings = std::string(rest);
      continue;
    }
    const auto w = words(rest);
    if (key == "master_pid" || key == "generation") {
      bool& seen = key == "master_pid" ? pid : generation;
      if (seen) return fail(at(std::string(key) + " given twice"));
      seen = true;
      const bool ok = w.size() == 1 && (key == "master_pid" ? number(w[0], s.master_pid)
                                                            : number(w[0], s.generation));
      if (!ok || (key == "master_pid" && s.master_pid <= 1)) {
        return fail(at("bad " + std::string(key)));
      }
      continue;
    }
    if (key == "http" || key == "tcp") {
      int slots = 0;
      if (w.size() != 2 || !wire::is_valid_service_name(w[0]) || !number(w[1], slots) ||
          slots < 1 || slots > kMaxStateSlots) {
        return fail(at("expected '" + std::string(key) + " SERVICE SLOTS'"));
      }
      auto& map = key == "http" ? s.http : s.tcp;
      if (!map.emplace(std::string(w[0]), slots).second) {
        return fail(at("service " + std::string(w[0]) + " given twice"));
      }
      continue;
    }
    return fail(at("unknown key '" + std::string(key.substr(0, 40)) + "'"));
  }
  if (!header) return fail("empty");
  if (!pid || !generation || !settings) return fail("master_pid, generation or settings missing");
  if (!end) return fail("no 'end' line (cut short)");
  if (s.generation == 0) return fail("generation 0");
  return s;
}

std::string settings_fingerprint(const ManagedSettings& m) {
  std::string out = "frontend=" + m.frontend_host + ":" + std::to_string(m.frontend_port) +
                    " balance=" + m.balance + " backend_prefix=" + m.backend_prefix +
                    " slot_prefix=" + m.naming.prefix + " tcp=";
  bool first = true;
  for (const auto& [service, port] : m.tcp_ports) {
    out += (first ? "" : ",") + service + ":" + std::to_string(port);
    first = false;
  }
  return out;
}

}  // namespace baker::sherlock::haproxy
