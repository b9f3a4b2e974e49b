// Figures as people read them on the console: grouped digits, SI prefixes,
// durations, a metric's median with its spread over the repetitions. Shared
// by the console report and each target kind's section of it.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <string>

#include "aiway/results.hpp"
#include "compare/statistics.hpp"

namespace aiway {

std::string grouped(double value);                // 1234567 -> "1,234,567"
std::string si(double value, const char* unit);   // 2.5e6, "tokens/s" -> "2.50 Mtokens/s"
std::string mib(double bytes);
std::string duration_us(double us);               // 1500 -> "1.50 ms"
std::string percent(double share);                // 0.123 -> "12.3 %"
// The largest value over the repetitions, grouped ("n/a" when not measured).
std::string worst(const ScenarioResult& r, const std::string& name);
// In how many repetitions the metric was not zero.
std::size_t count_nonzero(const ScenarioResult& r, const std::string& name);

// Formats a metric's median, with [min .. max] when repetitions disagree.
template <class Format>
std::string spread(const ScenarioResult& r, const std::string& name, Format format) {
  const MetricSummary* s = find_summary(r, name);
  if (!s || s->n == 0) return "n/a";
  if (s->n == 1 || s->min == s->max) return format(s->median);
  return fmt::format("{} [{} .. {}]", format(s->median), format(s->min), format(s->max));
}

}  // namespace aiway
