#include "sherlock/haproxy_replies.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/enum_names.hpp"

namespace baker::sherlock::haproxy {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const auto start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <typename T>
std::optional<T> number(std::string_view s) {
  T v{};
  const auto* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, v);
  if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return v;
}

void set_error(std::string* error, std::string text) {
  if (error) *error = std::move(text);
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '\n' || c == ' '; });
}

std::string_view without_leading_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  return s;
}

// One line is enough for a log; HAProxy's "Unknown command" lists every command after it.
std::string log_text(std::string_view s) {
  s = without_leading_blanks(s);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  const auto nl = s.find('\n');
  if (nl != std::string_view::npos) return std::string(s.substr(0, nl)) + " ...";
  return std::string(s);
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// The start of every error HAProxy 2.6.12 was seen to answer to the commands Baker sends (and to
// their malformed variants).
struct KnownError {
  std::string_view prefix;
  ReplyStatus status;
};
constexpr KnownError kKnownErrors[] = {
    {"Can't find backend.", ReplyStatus::no_such_backend},  // show servers state
    {"No such proxy.", ReplyStatus::no_such_backend},       // show stat
    {"No such backend.", ReplyStatus::no_such_backend},     // set, add, del server
    {"No such server.", ReplyStatus::no_such_server},
    {"Already exists a server with the same name in backend.", ReplyStatus::server_exists},
    {"Only servers in maintenance mode can be deleted.", ReplyStatus::server_not_in_maint},
    {"Server still has connections attached to it", ReplyStatus::server_in_use},
    {"Backend must use a dynamic load balancing", ReplyStatus::backend_unsupported},  // add
    {"Backend is using a static LB algorithm", ReplyStatus::backend_unsupported},     // weight
    {"Permission denied", ReplyStatus::permission_denied},
    {"Unknown command", ReplyStatus::unknown_command},
    {"Require ", ReplyStatus::bad_argument},  // "Require 'backend/server'.", "Require <weight> ..."
    {"Invalid addr '", ReplyStatus::bad_argument},
    {"Absolute weight can only be between 0 and 256", ReplyStatus::bad_argument},
    {"Empty weight string", ReplyStatus::bad_argument},
    {"'set server <srv> state' expects", ReplyStatus::bad_argument},
    {"set server <b>/<s> addr requires", ReplyStatus::bad_argument},
    {"usage: set server", ReplyStatus::bad_argument},
    {"'server' expects <name> and <addr>", ReplyStatus::bad_argument},  // add server
    {"unknown keyword '", ReplyStatus::bad_argument},                   // add server option
    {"weight of server ", ReplyStatus::bad_argument},                   // add server ... weight 700
    {"invalid character '", ReplyStatus::bad_argument},                 // add server ... :port
};

bool success_form(CommandKind kind, std::string_view reply) {
  switch (kind) {
    case CommandKind::show_servers_state:
      return reply.starts_with("1\n# be_id ");
    case CommandKind::show_stat:
      return reply.starts_with("# pxname,");
    case CommandKind::show_info:
      return reply.starts_with("Name: ");
    case CommandKind::set_addr:
      // "IP changed from '127.0.0.1' to '10.0.0.2', port changed from '9' to '8080' by 'stats
      // socket command'", or "no need to change the addr, ...". The port half can still fail.
      return (reply.starts_with("IP changed from ") ||
              reply.starts_with("no need to change the addr")) &&
             !contains(reply, "problem converting port") && !contains(reply, "can't change");
    case CommandKind::set_weight:
    case CommandKind::set_state:
      return blank(reply);
    case CommandKind::add_server:
      return reply.starts_with("New server registered.");
    case CommandKind::del_server:
      return reply.starts_with("Server deleted.");  // 2.6 ends it without a newline
  }
  return false;
}

ReplyStatus known_error(CommandKind kind, std::string_view reply) {
  if (blank(reply)) return ReplyStatus::empty_reply;
  if (kind == CommandKind::set_addr &&
      (reply.starts_with("IP changed from ") || reply.starts_with("no need to change the addr"))) {
    return ReplyStatus::bad_argument;  // the address changed, the port did not
  }
  const auto text = without_leading_blanks(reply);
  for (const auto& e : kKnownErrors) {
    if (text.starts_with(e.prefix)) return e.status;
  }
  return ReplyStatus::unparsable;
}

// Column positions by header name.
class Columns {
 public:
  explicit Columns(const std::vector<std::string_view>& names) {
    for (std::size_t i = 0; i < names.size(); ++i) index_[std::string(names[i])] = i;
  }
  std::optional<std::size_t> find(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::size_t> index_;
};

}  // namespace

constexpr std::array<std::string_view, 12> kReplyStatusNames = {"ok",
                                                                "no_such_backend",
                                                                "no_such_server",
                                                                "server_exists",
                                                                "server_not_in_maint",
                                                                "server_in_use",
                                                                "backend_unsupported",
                                                                "permission_denied",
                                                                "unknown_command",
                                                                "bad_argument",
                                                                "empty_reply",
                                                                "unparsable"};
static_assert(names_every_value(kReplyStatusNames, ReplyStatus::unparsable));

std::string_view to_string(ReplyStatus s) noexcept {
  return enum_name(kReplyStatusNames, s, "?");
}

ClassifiedReply classify_reply(CommandKind kind, std::string_view reply) {
  if (success_form(kind, reply)) return {};
  const auto status = known_error(kind, reply);
  return {status,
          status == ReplyStatus::empty_reply ? std::string("empty reply") : log_text(reply)};
}

std::optional<int> ProcessList::current_worker() const {
  for (const auto& w : workers) {
    if (w.reloads == 0) return w.pid;
  }
  return std::nullopt;
}

std::optional<std::vector<ServerStateRow>> parse_servers_state(std::string_view reply,
                                                               std::string* error) {
  auto lines = split(reply, '\n');
  if (lines.size() < 2 || lines[0] != "1") {
    set_error(error, "not a version 1 servers state (first line is not \"1\")");
    return std::nullopt;
  }
  if (lines[1].substr(0, 2) != "# ") {
    set_error(error, "servers state header missing");
    return std::nullopt;
  }
  const Columns cols(words(lines[1].substr(2)));
  const char* needed[] = {"be_id",       "be_name",      "srv_id",          "srv_name",
                          "srv_addr",    "srv_op_state", "srv_admin_state", "srv_uweight",
                          "srv_iweight", "srv_port",     "srv_fqdn"};
  std::map<std::string, std::size_t> at;
  for (const char* name : needed) {
    const auto i = cols.find(name);
    if (!i) {
      set_error(error, std::string("servers state has no column ") + name);
      return std::nullopt;
    }
    at[name] = *i;
  }
  std::vector<ServerStateRow> rows;
  for (std::size_t n = 2; n < lines.size(); ++n) {
    if (lines[n].empty()) continue;
    const auto f = words(lines[n]);
    const auto field = [&](const char* name) -> std::string_view {
      const auto i = at[name];
      return i < f.size() ? f[i] : std::string_view{};
    };
    ServerStateRow r;
    const auto be_id = number<int>(field("be_id"));
    const auto srv_id = number<int>(field("srv_id"));
    const auto op = number<int>(field("srv_op_state"));
    const auto admin = number<int>(field("srv_admin_state"));
    const auto uw = number<int>(field("srv_uweight"));
    const auto iw = number<int>(field("srv_iweight"));
    const auto port = number<std::uint16_t>(field("srv_port"));
    if (!be_id || !srv_id || !op || !admin || !uw || !iw || !port || field("srv_name").empty()) {
      set_error(error, "bad servers state row: " + std::string(lines[n]));
      return std::nullopt;
    }
    r.backend_id = *be_id;
    r.backend = std::string(field("be_name"));
    r.server_id = *srv_id;
    r.server = std::string(field("srv_name"));
    r.address = wire::IpAddress::parse(field("srv_addr"));  // "-" -> nullopt
    r.port = *port;
    r.op_state = *op;
    r.admin_state = *admin;
    r.user_weight = *uw;
    r.initial_weight = *iw;
    const auto fqdn = field("srv_fqdn");
    r.fqdn = fqdn == "-" ? "" : std::string(fqdn);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::optional<std::vector<ServerLoad>> parse_stat(std::string_view reply, std::string* error) {
  auto lines = split(reply, '\n');
  if (lines.empty() || lines[0].substr(0, 2) != "# ") {
    set_error(error, "stat CSV header missing");
    return std::nullopt;
  }
  const Columns cols(split(lines[0].substr(2), ','));
  const auto px = cols.find("pxname");
  const auto sv = cols.find("svname");
  const auto scur = cols.find("scur");
  const auto qcur = cols.find("qcur");
  const auto status = cols.find("status");
  if (!px || !sv || !scur || !qcur || !status) {
    set_error(error, "stat CSV lacks pxname, svname, scur, qcur or status");
    return std::nullopt;
  }
  std::vector<ServerLoad> out;
  for (std::size_t n = 1; n < lines.size(); ++n) {
    if (lines[n].empty()) continue;
    const auto f = split(lines[n], ',');
    const auto last = std::max({*px, *sv, *scur, *qcur, *status});
    if (f.size() <= last) {
      set_error(error, "short stat CSV row: " + std::string(lines[n]));
      return std::nullopt;
    }
    if (f[*sv] == "FRONTEND" || f[*sv] == "BACKEND") continue;
    ServerLoad l;
    l.backend = std::string(f[*px]);
    l.server = std::string(f[*sv]);
    l.current_sessions = f[*scur].empty() ? 0 : number<int>(f[*scur]).value_or(-1);
    l.queued = f[*qcur].empty() ? 0 : number<int>(f[*qcur]).value_or(-1);
    if (l.current_sessions < 0 || l.queued < 0) {
      set_error(error, "bad scur/qcur in stat CSV row: " + std::string(lines[n]));
      return std::nullopt;
    }
    l.status = std::string(f[*status]);
    out.push_back(std::move(l));
  }
  return out;
}

std::optional<WorkerInfo> parse_show_info(std::string_view reply) {
  WorkerInfo info;
  bool have_pid = false;
  for (const auto line : split(reply, '\n')) {
    if (line.substr(0, 5) == "Pid: ") {
      const auto pid = number<int>(line.substr(5));
      if (!pid) return std::nullopt;
      info.pid = *pid;
      have_pid = true;
    } else if (line.substr(0, 10) == "Stopping: ") {
      info.stopping = line.substr(10) != "0";
    }
  }
  if (!have_pid) return std::nullopt;
  return info;
}

std::optional<ProcessList> parse_show_proc(std::string_view reply) {
  // #<PID>          <type>          <reloads>       <uptime>        <version>
  // 5728            master          2 [failed: 0]   0d00h04m41s     2.6.12-1+deb12u4
  // # workers
  // 16911           worker          0               0d00h00m37s     2.6.12-1+deb12u4
  // # programs
  ProcessList out;
  bool have_master = false;
  for (const auto line : split(reply, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const auto w = words(line);
    if (w.size() < 3) continue;
    const auto pid = number<int>(w[0]);
    const auto reloads = number<int>(w[2]);
    if (!pid || !reloads) continue;
    if (w[1] == "master") {
      out.master_pid = *pid;
      out.reloads = *reloads;
      have_master = true;
      if (w.size() >= 5 && w[3] == "[failed:") {
        auto n = w[4];
        if (!n.empty() && n.back() == ']') n.remove_suffix(1);
        out.failed_reloads = number<int>(n).value_or(0);
      }
    } else if (w[1] == "worker") {
      out.workers.push_back({*pid, *reloads});
    }
  }
  if (!have_master) return std::nullopt;
  return out;
}

std::size_t split_prompt_replies(std::string_view buffer, std::vector<std::string>& out,
                                 std::size_t& consumed) {
  static constexpr std::string_view kPrompt = "\n> ";
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    const auto pos = buffer.find(kPrompt, start);
    if (pos == std::string_view::npos) break;
    out.emplace_back(buffer.substr(start, pos - start));
    start = pos + kPrompt.size();
    ++count;
  }
  consumed = start;
  return count;
}

}  // namespace baker::sherlock::haproxy
