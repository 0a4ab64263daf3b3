#include "common/startup_error.hpp"

#include <iostream>

namespace baker {

int report_startup_failure(const std::exception& e, std::string_view prefix) {
  const bool usage = dynamic_cast<const UsageError*>(&e) != nullptr;
  std::cerr << prefix << e.what() << "\n";
  if (usage) std::cerr << "(see --help)\n";
  return usage ? kExitUsage : kExitStartupFailure;
}

}  // namespace baker
