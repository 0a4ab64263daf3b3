// directory: Baker's route table daemon. See --help and docs/PROTOCOL.md.
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <exception>

#include "common/logging.hpp"
#include "common/startup_error.hpp"
#include "directory/directory_daemon.hpp"
#include "directory/settings.hpp"

int main(int argc, char** argv) {
  baker::init_logging("directory");
  auto loaded = baker::directory::load_settings(argc, argv);
  if (loaded.exit_code) return *loaded.exit_code;
  baker::set_log_level(loaded.settings.log_level);
  try {
    boost::asio::io_context io(1);
    baker::directory::DirectoryDaemon server(io, loaded.settings, argc, argv);
    server.start();
    io.run();
  } catch (const std::exception& e) {
    return baker::report_startup_failure(e);  // 2 for a usage error, 1 for the rest
  }
  spdlog::info("stopped");
  return 0;
}
