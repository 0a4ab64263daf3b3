// Placeholder while the driver grows: registers the flags and builds a sink that only logs.
#include <spdlog/spdlog.h>

#include "sherlock/route_sink.hpp"

namespace baker::sherlock {

namespace {
class LoggingSink final : public RouteSink {
 public:
  void routes_changed(const ServiceRoutes& all, const std::vector<std::string>& changed) override {
    for (const auto& s : changed) {
      auto it = all.find(s);
      spdlog::info("haproxy: service {} now has {} route(s)", s,
                   it == all.end() ? 0 : it->second.size());
    }
  }
};
}  // namespace

void add_haproxy_options(boost::program_options::options_description& flags) {
  namespace po = boost::program_options;
  flags.add_options()("haproxy-sock", po::value<std::string>(),
                      "HAProxy admin socket (path or ADDR:PORT); omit for managed mode");
}

std::unique_ptr<RouteSink> make_haproxy_sink(boost::asio::io_context& io,
                                             const boost::program_options::variables_map& values) {
  (void)io;
  (void)values;
  return std::make_unique<LoggingSink>();
}

}  // namespace baker::sherlock
