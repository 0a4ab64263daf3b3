#pragma once
// Checks a /metrics page the way `promtool check metrics` does (the text format, version 0.0.4,
// and promtool's lint rules), plus Baker's naming: every family is baker_<component>_<what>, has
// a # HELP and a # TYPE line before its samples, and appears once; counters end in _total and only
// counters do; names are snake case without the type in them; labels are well formed and every
// series appears once; values parse. In C++ so it runs everywhere (promtool comes with the whole
// Prometheus server package); promtool_check runs the real promtool when it is installed.
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace baker::testing {

// The problems found, one message each naming the line; empty when the page is clean.
// `prefix` is the name prefix every family must have ("baker_").
std::vector<std::string> check_metrics(std::string_view text, std::string_view prefix = "baker_");

// `promtool check metrics` on `text`: its complaints, empty when it has none. A missing promtool is
// a complaint too (tools/install-deps puts it in /usr/local/bin), so no check is skipped quietly.
std::string promtool_check(const std::string& text);

// The sum of the samples of `family` whose labels include every pair in `labels` (so a family
// labelled per directory reads the same with one directory as it did unlabelled); nullopt if no
// sample matches. E.g. metric_sum(page, "baker_sherlock_ignored_datagrams_total",
// {{"reason", "foreign_source"}}).
using MetricLabel = std::pair<std::string_view, std::string_view>;
std::optional<double> metric_sum(std::string_view text, std::string_view family,
                                 std::initializer_list<MetricLabel> labels = {});

}  // namespace baker::testing
