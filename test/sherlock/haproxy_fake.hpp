#pragma once
// An in-memory imitation of HAProxy 2.6's admin CLI, for the driver's unit tests: backends with
// servers, the commands Baker sends, and replies in 2.6's exact formats (see haproxy_fixtures.hpp
// for the real ones). Not a proxy: it only keeps the state those commands read and write.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace baker::sherlock::haproxy::testing {

class FakeHaproxy {
 public:
  struct Server {
    int id = 0;
    std::string name;
    std::string addr = "127.0.0.1";
    int port = 9;
    int admin = 5;  // FMAINT | CMAINT: a `disabled` template slot
    int uweight = 1;
    int iweight = 1;
    int sessions = 0;  // scur, set by tests
    int queued = 0;    // qcur
    bool dynamic = false;
  };
  struct Backend {
    int id = 0;
    std::vector<Server> servers;
  };

  // A backend declared with `server-template <prefix> 1-<slots> 127.0.0.1:9 disabled`.
  void add_backend(const std::string& name, int slots, const std::string& prefix = "slot");
  void add_static_server(const std::string& backend, const std::string& name,
                         const std::string& addr, int port);
  Backend* backend(const std::string& name);
  Server* server(const std::string& backend, const std::string& name);
  // Server currently pointing at addr:port, if any.
  Server* server_at(const std::string& backend, const std::string& addr, int port);
  // Servers of `backend` that take new requests (ready, not drain/maint).
  std::vector<std::string> ready_endpoints(const std::string& backend) const;

  // One line -> its reply (text before the prompt).
  std::string execute(const std::string& line);
  std::vector<std::string> run(const std::vector<std::string>& lines);

  int pid = 1000;
  bool stopping = false;
  std::vector<std::string> log;  // every line received
  // Replies that fail: command line prefix -> reply text (kept until removed).
  std::map<std::string, std::string> forced_errors;

 private:
  std::string servers_state(const std::string& backend);
  std::string stat(const std::string& backend);
  std::map<std::string, Backend> backends_;
  int next_backend_id_ = 2;
};

}  // namespace baker::sherlock::haproxy::testing
