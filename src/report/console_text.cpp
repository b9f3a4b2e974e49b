#include "report/console_text.hpp"

#include <algorithm>
#include <cmath>

namespace aiway {

std::string grouped(double value) {
  const bool negative = value < 0;
  std::string digits = fmt::format("{:.0f}", std::fabs(value));
  for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(std::size_t(i), ",");
  return negative ? "-" + digits : digits;
}

std::string si(double value, const char* unit) {
  const double a = std::fabs(value);
  if (a >= 1e9) return fmt::format("{:.2f} G{}", value / 1e9, unit);
  if (a >= 1e6) return fmt::format("{:.2f} M{}", value / 1e6, unit);
  if (a >= 1e3) return fmt::format("{:.2f} k{}", value / 1e3, unit);
  return fmt::format("{:.0f} {}", value, unit);
}

std::string mib(double bytes) { return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0)); }

std::string percent(double share) { return fmt::format("{:.1f} %", share * 100); }

std::string duration_us(double us) {
  if (us >= 1e6) return fmt::format("{:.2f} s", us / 1e6);
  if (us >= 1e3) return fmt::format("{:.2f} ms", us / 1e3);
  return fmt::format("{:.1f} us", us);
}

std::string worst(const ScenarioResult& r, const std::string& name) {
  const MetricSummary* s = find_summary(r, name);
  return s ? grouped(s->max) : "n/a";
}

std::size_t count_nonzero(const ScenarioResult& r, const std::string& name) {
  return std::size_t(std::count_if(r.repetitions.begin(), r.repetitions.end(), [&](const Repetition& rep) {
    return rep.metrics.get(name).value_or(0) != 0;
  }));
}

}  // namespace aiway
