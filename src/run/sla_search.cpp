#include "run/sla_search.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "aiway/scenario_file.hpp"
#include "compare/statistics.hpp"

namespace aiway {
namespace {

std::string value_text(double v, bool integral) { return integral ? fmt::format("{:.0f}", v) : fmt::format("{}", v); }

ProbeGoodput goodput_of(const ScenarioResult& probe, double value, double target) {
  ProbeGoodput g;
  g.value = value;
  g.held = holds(probe, target);
  if (const MetricSummary* m = find_summary(probe, "goodput_ratio")) {
    g.median = m->median;
    g.min = m->min;
    g.max = m->max;
    g.repetitions = m->n;
  }
  return g;
}

// The bracket's two ends: the highest value that held, the lowest that
// missed above it (bisection probes only inside the bracket, so every value
// that held lies below every value that missed).
void note_bracket(SlaOutcome& out, const std::map<double, bool>& held) {
  for (const ScenarioResult& p : out.probes) {
    const double value = std::stod(p.sweep.front().second);
    if (out.highest && value == *out.highest) out.at_highest = goodput_of(p, value, out.goodput_target);
    if (!held.at(value) && (!out.at_lowest_missed || value < out.at_lowest_missed->value))
      out.at_lowest_missed = goodput_of(p, value, out.goodput_target);
  }
}

std::string spread_text(const ProbeGoodput& g) {
  if (g.repetitions <= 1) return fmt::format("goodput {:.1f} %, one repetition", g.median * 100);
  return fmt::format("goodput {:.1f} %, {:.1f}-{:.1f} % over {} repetitions", g.median * 100, g.min * 100, g.max * 100,
                     g.repetitions);
}

}  // namespace

SlaSearch parse_sla_search(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return ScenarioError(fmt::format("--sla-search {}: {} (expected SECTION.KEY=LOW..HIGH, e.g. backend.streams=1..1024)", text, why));
  };
  const std::size_t eq = text.find('=');
  const std::size_t dots = text.find("..", eq == std::string::npos ? 0 : eq);
  if (eq == std::string::npos || eq == 0 || dots == std::string::npos) throw bad("no range");
  SlaSearch s;
  s.field = text.substr(0, eq);
  const std::string low = text.substr(eq + 1, dots - eq - 1), high = text.substr(dots + 2);
  try {
    std::size_t used_low = 0, used_high = 0;
    s.low = std::stod(low, &used_low);
    s.high = std::stod(high, &used_high);
    if (used_low != low.size() || used_high != high.size()) throw bad("the bounds are not numbers");
  } catch (const std::logic_error&) {
    throw bad("the bounds are not numbers");
  }
  if (!(std::isfinite(s.low) && std::isfinite(s.high)) || s.low < 0 || s.low >= s.high) throw bad("LOW must be below HIGH, both at least 0");
  s.integral = low.find_first_of(".eE") == std::string::npos && high.find_first_of(".eE") == std::string::npos;
  return s;
}

double goodput_target(const Scenario& s) { return s.expect.min_goodput_ratio.value_or(0.99); }

bool holds(const ScenarioResult& probe, double target) {
  if (!probe.failure.empty() || probe.repetitions.empty() || !find_summary(probe, "goodput_ratio")) return false;
  return summary_median(probe, "goodput_ratio") >= target;
}

SlaOutcome sla_search(const Scenario& base, const SlaSearch& search,
                      const std::function<ScenarioResult(const Scenario&)>& run_probe,
                      const std::function<bool()>& interrupted) {
  SlaOutcome out;
  out.goodput_target = goodput_target(base);
  std::map<double, bool> held;
  const auto probe = [&](double value) {
    Scenario s = base;
    const std::string text = value_text(value, search.integral);
    apply_overrides(s, {fmt::format("{}={}", search.field, text)});
    s.name = fmt::format("{}[{}={}]", base.name, search.field, text);
    ScenarioResult r = run_probe(s);
    r.sweep = {{search.field, text}};
    const bool ok = holds(r, out.goodput_target);
    held[value] = ok;
    out.probes.push_back(std::move(r));
    return ok;
  };
  double lo = search.low, hi = search.high;
  if (probe(hi)) {
    out.highest = hi;
  } else if (!interrupted() && probe(lo)) {
    // Invariant: lo holds, hi does not.
    const auto close = [&] { return search.integral ? hi - lo <= 1 : (hi - lo) <= 0.02 * hi; };
    while (!close() && !interrupted()) {
      const double mid = search.integral ? std::floor((lo + hi) / 2) : (lo + hi) / 2;
      (probe(mid) ? lo : hi) = mid;
    }
    out.highest = lo;
  }
  out.interrupted = interrupted();
  out.probed = out.probes.size();
  note_bracket(out, held);
  std::sort(out.probes.begin(), out.probes.end(), [&](const ScenarioResult& a, const ScenarioResult& b) {
    return std::stod(a.sweep.front().second) < std::stod(b.sweep.front().second);
  });
  return out;
}

std::string describe(const SlaSearch& search, const SlaOutcome& outcome) {
  const std::string target = fmt::format("{:g} % of streams met every [slo] objective", outcome.goodput_target * 100);
  if (outcome.interrupted) return fmt::format("SLA search interrupted after {} probes", outcome.probed);
  if (!outcome.highest)
    return fmt::format("SLA search: even {} = {} misses: fewer than {} ({} probe)", search.field,
                       value_text(search.low, search.integral), target, outcome.probed);
  const bool top = *outcome.highest == search.high;
  std::string text = fmt::format("SLA search: the highest {} at which {}: {}{} ({} probes)", search.field, target,
                                 value_text(*outcome.highest, search.integral),
                                 top ? " (the top of the range: search higher)" : "", outcome.probed);
  if (outcome.at_highest)
    text += fmt::format("\n  held at {}: {}", value_text(outcome.at_highest->value, search.integral), spread_text(*outcome.at_highest));
  if (outcome.at_lowest_missed)
    text += fmt::format("\n  missed at {}: {}: the knee lies in ({}, {}]", value_text(outcome.at_lowest_missed->value, search.integral),
                        spread_text(*outcome.at_lowest_missed), value_text(*outcome.highest, search.integral),
                        value_text(outcome.at_lowest_missed->value, search.integral));
  // The repetitions of an end disagreeing with its verdict: the knee's place
  // is as uncertain as the probes' spread.
  const bool held_shaky = outcome.at_highest && outcome.at_highest->min < outcome.goodput_target;
  const bool missed_shaky = outcome.at_lowest_missed && outcome.at_lowest_missed->max >= outcome.goodput_target;
  if (held_shaky || missed_shaky)
    text += fmt::format("\n  uncertain: {} the target: the answer may move by more than the bracket "
                        "(more repetitions per probe, or a quieter machine)",
                        held_shaky && missed_shaky ? "repetitions on both sides of the bracket crossed"
                        : held_shaky              ? "a repetition where the load held fell below"
                                                  : "a repetition where the load missed reached");
  return text;
}

}  // namespace aiway
