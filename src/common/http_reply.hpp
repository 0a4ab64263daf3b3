#pragma once
// What a status endpoint answers: pure, so cores render pages without the HTTP server's Asio.
#include <string>

namespace baker {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; version=0.0.4";
  std::string body;
};

}  // namespace baker
