// Breaks the rule: a tool that includes test code.
#include "../test/helpers.hpp"
