#pragma once
// The directory's endpoints are the wire's (an address and a port; no socket library type).
#include "wire/address.hpp"

namespace baker::directory {

using wire::Endpoint;

}  // namespace baker::directory
