#include "directory/endpoint.hpp"

namespace baker::directory {

std::string Endpoint::to_string() const {
  if (address.family == wire::IpAddress::Family::v6) {
    return "[" + address.to_string() + "]:" + std::to_string(port);
  }
  return address.to_string() + ":" + std::to_string(port);
}

}  // namespace baker::directory
