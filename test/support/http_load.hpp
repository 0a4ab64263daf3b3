#pragma once
// A bounded keep-alive HTTP load loop for end-to-end tests and benchmarks: N connections, each
// sending GETs back to back, counting every answer and every failure. Strict: a non-2xx answer, a
// connection error, a timeout or a connection closed mid-request is a failed request.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace baker::testing {

class HttpLoad {
 public:
  HttpLoad(std::string host, std::uint16_t port, std::string path, int connections);
  ~HttpLoad();  // stops and joins
  void stop();

  std::uint64_t ok() const { return ok_; }
  std::uint64_t failed() const { return failed_; }
  std::uint64_t connects() const { return connects_; }
  // Answers per body (the sample service answers with its version and address).
  std::map<std::string, std::uint64_t> bodies() const;
  std::vector<std::string> failures() const;  // the first few failure descriptions

 private:
  void run();
  void fail(const std::string& why);

  std::string host_, path_;
  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> ok_{0}, failed_{0}, connects_{0};
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> bodies_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

}  // namespace baker::testing
