#include "haproxy_fake.hpp"

#include <sstream>

#include "wire/address.hpp"

namespace baker::sherlock::haproxy::testing {

namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  std::string s;
  while (in >> s) w.push_back(s);
  return w;
}

bool split_ref(const std::string& ref, std::string& be, std::string& srv) {
  const auto slash = ref.find('/');
  if (slash == std::string::npos) return false;
  be = ref.substr(0, slash);
  srv = ref.substr(slash + 1);
  return true;
}

}  // namespace

void FakeHaproxy::add_backend(const std::string& name, int slots, const std::string& prefix) {
  Backend b;
  b.id = next_backend_id_++;
  for (int i = 1; i <= slots; ++i) {
    Server s;
    s.id = i;
    s.name = prefix + std::to_string(i);
    b.servers.push_back(s);
  }
  backends_[name] = b;
}

void FakeHaproxy::add_static_server(const std::string& backend, const std::string& name,
                                    const std::string& addr, int port) {
  auto& b = backends_.at(backend);
  Server s;
  s.id = static_cast<int>(b.servers.size()) + 1;
  s.name = name;
  s.addr = addr;
  s.port = port;
  s.admin = 0;
  b.servers.push_back(s);
}

FakeHaproxy::Backend* FakeHaproxy::backend(const std::string& name) {
  const auto it = backends_.find(name);
  return it == backends_.end() ? nullptr : &it->second;
}

FakeHaproxy::Server* FakeHaproxy::server(const std::string& be, const std::string& name) {
  auto* b = backend(be);
  if (!b) return nullptr;
  for (auto& s : b->servers) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

FakeHaproxy::Server* FakeHaproxy::server_at(const std::string& be, const std::string& addr,
                                            int port) {
  auto* b = backend(be);
  if (!b) return nullptr;
  for (auto& s : b->servers) {
    if (s.addr == addr && s.port == port) return &s;
  }
  return nullptr;
}

std::vector<std::string> FakeHaproxy::ready_endpoints(const std::string& be) const {
  std::vector<std::string> out;
  const auto it = backends_.find(be);
  if (it == backends_.end()) return out;
  for (const auto& s : it->second.servers) {
    if ((s.admin & (0x01 | 0x02 | 0x20 | 0x40)) == 0 && (s.admin & 0x18) == 0) {
      out.push_back(s.addr + ":" + std::to_string(s.port));
    }
  }
  return out;
}

std::vector<std::string> FakeHaproxy::run(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(execute(l));
  return out;
}

std::string FakeHaproxy::servers_state(const std::string& be) {
  auto* b = backend(be);
  if (!b) return "Can't find backend.\n";
  std::string out =
      "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
      "srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health "
      "srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
      "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n";
  for (const auto& s : b->servers) {
    const bool maint = (s.admin & 0x01) != 0;
    out += std::to_string(b->id) + " " + be + " " + std::to_string(s.id) + " " + s.name + " " +
           s.addr + " " + (maint ? "0" : "2") + " " + std::to_string(s.admin) + " " +
           std::to_string(s.uweight) + " " + std::to_string(s.iweight) + " 8 1 0 0 8 0 0 0 - " +
           std::to_string(s.port) + " - 0 0 - - 0\n";
  }
  return out;
}

std::string FakeHaproxy::stat(const std::string& be) {
  auto* b = backend(be);
  if (!b) return "No such proxy.\n";
  // The leading columns of 2.6's CSV, enough for parsing by name (real replies have ~128).
  std::string out =
      "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,"
      "eresp,wretr,wredis,status,weight\n";
  for (const auto& s : b->servers) {
    const char* status = (s.admin & 0x01) ? "MAINT" : (s.admin & 0x08) ? "DRAIN" : "no check";
    out += be + "," + s.name + "," + std::to_string(s.queued) + ",0," + std::to_string(s.sessions) +
           ",0,,0,0,0,,0,,0,0,0,0," + status + "," + std::to_string(s.uweight) + "\n";
  }
  return out;
}

std::string FakeHaproxy::execute(const std::string& line) {
  log.push_back(line);
  for (const auto& [prefix, reply] : forced_errors) {
    if (line.rfind(prefix, 0) == 0) return reply;
  }
  const auto w = words(line);
  if (w.size() >= 2 && w[0] == "show" && w[1] == "info") {
    return "Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nPid: " + std::to_string(pid) +
           "\nStopping: " + (stopping ? "1" : "0") + "\n";
  }
  if (w.size() == 4 && w[0] == "show" && w[1] == "servers" && w[2] == "state") {
    return servers_state(w[3]);
  }
  if (w.size() == 5 && w[0] == "show" && w[1] == "stat") return stat(w[2]);
  std::string be, srv;
  if (w.size() >= 4 && w[0] == "set" && w[1] == "server") {
    if (!split_ref(w[2], be, srv)) return "Require 'backend/server'.\n";
    if (!backend(be)) return "No such backend.\n";
    auto* s = server(be, srv);
    if (!s) return "No such server.\n";
    if (w[3] == "weight" && w.size() == 5) {
      const int v = std::stoi(w[4]);
      if (v < 0 || v > 256) return "Absolute weight can only be between 0 and 256 inclusive.\n";
      s->uweight = v;
      return "";
    }
    if (w[3] == "state" && w.size() == 5) {
      if (w[4] == "ready") {
        s->admin &= ~(0x01 | 0x08);
      } else if (w[4] == "drain") {
        s->admin = (s->admin & ~0x01) | 0x08;
      } else if (w[4] == "maint") {
        s->admin = (s->admin & ~0x08) | 0x01;
      } else {
        return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
      }
      return "";
    }
    if (w[3] == "addr" && w.size() == 7 && w[5] == "port") {
      if (!wire::IpAddress::parse(w[4])) {
        return "Invalid addr '" + w[4] + "' by 'stats socket command'\n";
      }
      std::string reply = s->addr == w[4] ? "no need to change the addr"
                                          : "IP changed from '" + s->addr + "' to '" + w[4] + "'";
      const int port = std::stoi(w[6]);
      reply += s->port == port
                   ? ", no need to change the port"
                   : ", port changed from '" + std::to_string(s->port) + "' to '" + w[6] + "'";
      s->addr = w[4];
      s->port = port;
      return reply + " by 'stats socket command'\n";
    }
    return "Unknown set server command.\n";
  }
  if (w.size() >= 4 && w[0] == "add" && w[1] == "server") {
    if (!split_ref(w[2], be, srv)) return "Require 'backend/server'.\n";
    auto* b = backend(be);
    if (!b) return "No such backend.\n";
    if (server(be, srv)) return "Already exists a server with the same name in backend.\n";
    Server s;
    s.id = b->servers.empty() ? 1 : b->servers.back().id + 1;
    s.name = srv;
    std::string a = w[3];
    const auto colon = a.rfind(':');
    s.addr = a.substr(0, colon);
    if (!s.addr.empty() && s.addr.front() == '[') s.addr = s.addr.substr(1, s.addr.size() - 2);
    s.port = std::stoi(a.substr(colon + 1));
    s.admin = 0x01;
    s.dynamic = true;
    for (std::size_t i = 4; i + 1 < w.size(); ++i) {
      if (w[i] == "weight") s.uweight = s.iweight = std::stoi(w[i + 1]);
    }
    b->servers.push_back(s);
    return "New server registered.\n";
  }
  if (w.size() == 3 && w[0] == "del" && w[1] == "server") {
    if (!split_ref(w[2], be, srv)) return "Require 'backend/server'.";
    auto* b = backend(be);
    if (!b) return "No such backend.";
    auto* s = server(be, srv);
    if (!s) return "No such server.";
    if (!(s->admin & 0x01)) return "Only servers in maintenance mode can be deleted.";
    if (s->sessions > 0 || s->queued > 0) {
      return "Server still has connections attached to it, cannot remove it.";
    }
    std::erase_if(b->servers, [&](const Server& x) { return x.name == srv; });
    return "Server deleted.";
  }
  return "Unknown command, but maybe one of the following ones is a better match:\n  help\n";
}

}  // namespace baker::sherlock::haproxy::testing
