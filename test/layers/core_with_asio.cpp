// Breaks the rule: a core that pulls in Boost.Asio (through a header of its own).
#include "core_with_asio.hpp"
