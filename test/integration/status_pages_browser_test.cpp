// The status pages of a running system, loaded in headless Chromium (Debian's chromium): the DOM
// it renders holds the instances the test started, the subscriber, and on sherlock's page each
// instance next to the HAProxy server serving it. With BAKER_SCREENSHOT_DIR set, the test also
// saves both pages as PNG there (tools/screenshot-status makes the README's pictures this way).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "e2e_support.hpp"
#include "haproxy_test_support.hpp"

namespace baker::testing {
namespace {

// `chromium --headless` with a private profile; "" if it did not finish within the timeout.
std::string chromium(const TempDir& dir, const std::vector<std::string>& args,
                     const std::string& url) {
  std::string cmd =
      "exec chromium --headless --no-sandbox --disable-gpu --no-first-run "
      "--disable-extensions --user-data-dir=" +
      dir.file("profile");
  for (const auto& a : args) cmd += " " + a;
  cmd += " '" + url + "' >" + dir.file("out.html") + " 2>" + dir.file("chromium.log");
  ChildProcess browser({"/bin/sh", "-c", cmd});
  const auto status = browser.wait_exit(60000ms);
  if (!status || *status != 0) {
    ADD_FAILURE() << "chromium " << url << " did not finish cleanly\n"
                  << read_file(dir.file("chromium.log"));
    return "";
  }
  return read_file(dir.file("out.html"));
}

std::string dump_dom(const TempDir& dir, const std::string& url) {
  return chromium(dir, {"--dump-dom"}, url);
}

std::string url(std::uint16_t port, const std::string& target = "/") {
  return "http://127.0.0.1:" + std::to_string(port) + target;
}

TEST(StatusPagesInBrowser, ShowTheInstancesTheSubscriberAndHaproxysServers) {
  ASSERT_EQ(std::system("command -v chromium >/dev/null"), 0)
      << "chromium is not installed (tools/install-deps installs it)";
  Cluster c;
  c.start_directory();
  for (int i = 0; i < 3; ++i) c.add_instance("v1");
  c.start_sherlock_managed();
  const std::string admin_socket = c.managed_run_dir() + "/haproxy.sock";
  ASSERT_TRUE(
      wait_until([&] { return ready_servers(admin_socket, "greeting").size() == 3; }, 15000ms))
      << c.logs();

  // Past the directory's warm-up, so sherlock's page shows the stream synced and live.
  ASSERT_TRUE(wait_until([&] { return c.directory_metric("baker_directory_warmup") == 0; },
                         20000ms))
      << c.logs();

  TempDir browser;
  const auto directory = dump_dom(browser, url(c.directory_metrics_port()));
  ASSERT_NE(directory, "");
  EXPECT_NE(directory.find("<h1>Baker directory</h1>"), std::string::npos) << directory;
  EXPECT_NE(
      directory.find("<a href=\"/?service=greeting\">greeting</a></td><td class=\"n\">3</td>"),
      std::string::npos)
      << directory;
  for (std::size_t i = 0; i < c.instance_count(); ++i) {
    const auto address = "127.0.0.1:" + std::to_string(c.instance(i).port);
    EXPECT_NE(directory.find("<td>greeting</td><td>" + address + "</td><td>" + address + "</td>"),
              std::string::npos)
        << address << "\n"
        << directory;
  }
  // The sherlock, as the directory sees it: its address, unicast, every service.
  EXPECT_NE(directory.find("<td>127.0.0.1:" + std::to_string(c.sherlock_udp_port()) + "</td>"),
            std::string::npos)
      << directory;
  EXPECT_NE(directory.find("</code></td><td>unicast</td><td>all</td>"), std::string::npos);

  const auto sherlock = dump_dom(browser, url(c.sherlock_http_port()));
  ASSERT_NE(sherlock, "");
  EXPECT_NE(sherlock.find("<h1>Baker sherlock</h1>"), std::string::npos) << sherlock;
  EXPECT_NE(sherlock.find("<td>127.0.0.1:" + std::to_string(c.directory_port()) +
                          "</td><td><span class=\"synced\">synced</span>"),
            std::string::npos)
      << sherlock;
  for (std::size_t i = 0; i < c.instance_count(); ++i) {
    const auto address = "127.0.0.1:" + std::to_string(c.instance(i).port);
    const auto at = sherlock.find("<td>" + address + "</td>");
    ASSERT_NE(at, std::string::npos) << address << "\n" << sherlock;
    const auto row = sherlock.substr(at, sherlock.find("</tr>", at) - at);
    EXPECT_NE(row.find("<td>greeting/slot"), std::string::npos) << row;
    EXPECT_NE(row.find("<span class=\"serving\">serving</span>"), std::string::npos) << row;
  }

  // A page number nobody could mean is refused, not rendered.
  const auto bad = http_get("127.0.0.1", c.directory_metrics_port(), "/?page=0");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);

  if (const char* shots = std::getenv("BAKER_SCREENSHOT_DIR")) {
    const std::string dir = shots;
    for (const auto& [name, port] :
         {std::pair<std::string, std::uint16_t>{"status-directory.png", c.directory_metrics_port()},
          {"status-sherlock.png", c.sherlock_http_port()}}) {
      chromium(browser,
               {"--hide-scrollbars", "--window-size=1280,760", "--screenshot=" + dir + "/" + name},
               url(port));
    }
  }
}

}  // namespace
}  // namespace baker::testing
