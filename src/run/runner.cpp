#include "run/runner.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "compare/thresholds.hpp"
#include "measure/process_stats.hpp"
#include "targets/target.hpp"

namespace aiway {

ScenarioRun::ScenarioRun(const Scenario& scenario, const Clock& clock, const RunOptions& options)
    : clock_(clock), options_(options), reruns_left_(scenario.measure.rerun_disturbed) {
  result_.scenario = scenario;
}

bool ScenarioRun::done() {
  // A stop request is honoured between repetitions too: repetitions shorter
  // than a watchdog tick never see it inside run_repetition.
  if (options_.interrupt && options_.interrupt->load()) interrupted_ = true;
  return !result_.failure.empty() || interrupted_ || result_.repetitions.size() >= result_.scenario.repetitions;
}

// Sequential runs take one RSS baseline per scenario and keep the heap warm
// across its repetitions. Interleaved runs cannot: other scenarios ran in
// between and left their freed memory, so each repetition trims and takes its
// own baseline (and pays its page faults again, as a cold start would).
void ScenarioRun::take_rss_baseline() {
  release_free_memory();
  rss_baseline_ = rss_bytes();
}

bool ScenarioRun::step(bool fresh_heap) {
  const Scenario& s = result_.scenario;
  const bool first = !started_;
  if (first || fresh_heap) take_rss_baseline();
  started_ = true;
  if (first) {
    for (std::uint32_t i = 0; i < s.warmup && !done(); ++i) repetition(true, i + 1);
    if (fresh_heap && s.warmup > 0) take_rss_baseline();
  }
  if (!done()) repetition(false, std::uint32_t(result_.repetitions.size()) + 1);
  return !done();
}

void ScenarioRun::repetition(bool warmup, std::uint32_t index) {
  const Scenario& s = result_.scenario;
  const std::uint32_t count = warmup ? s.warmup : s.repetitions;
  const auto reruns = std::uint32_t(result_.disturbed_reruns.size());
  if (options_.on_event) options_.on_event({RunEvent::Kind::repetition_started, s, index, count, warmup, nullptr, reruns});
  RepetitionOutcome outcome =
      target_of(s).run_repetition(s, {clock_, options_.interrupt, rss_baseline_, warmup ? 0 : index - 1});
  if (outcome.interrupted) {
    interrupted_ = true;
    return;
  }
  if (!outcome.failure.empty()) {
    result_.failure = fmt::format("{} {}: {}", warmup ? "warm-up" : "repetition", index, outcome.failure);
    return;
  }
  if (options_.on_event)
    options_.on_event({RunEvent::Kind::repetition_finished, s, index, count, warmup, &outcome.repetition, reruns});
  if (warmup) return;
  // A repetition bound to a common start time (a shard of a larger load) is
  // never re-run: a re-run starts late and the lateness lands in every
  // stream's TTFT. It is kept; its foreign_cpu_share marks it disturbed.
  const bool bound_to_common_start = s.target.start_at > 0;
  if (const auto share = disturbed_share(s, outcome.repetition); share && reruns_left_ > 0 && !bound_to_common_start) {
    // Taken again rather than averaged in: a gate must not read a busy machine as a slow build.
    --reruns_left_;
    result_.disturbed_reruns.push_back(*share);
    if (options_.on_event)
      options_.on_event({RunEvent::Kind::repetition_discarded, s, index, count, warmup, &outcome.repetition, reruns + 1});
    return;
  }
  for (auto& [name, info] : outcome.counters) result_.counters[name] = std::move(info);
  result_.repetitions.push_back(std::move(outcome.repetition));
}

ScenarioResult ScenarioRun::finish() && {
  finalize_result(result_, interrupted_);
  return std::move(result_);
}

void finalize_result(ScenarioResult& result, bool interrupted) {
  result.summary = summarize(result.repetitions);
  result.thresholds = evaluate_thresholds(result.scenario.expect, result.repetitions);
  result.passed = result.failure.empty() && !interrupted && !result.repetitions.empty() &&
                  std::all_of(result.thresholds.begin(), result.thresholds.end(), [](const auto& t) { return t.passed; });
}

ScenarioResult run_scenario(const Scenario& s, const Clock& clock, const RunOptions& options, bool& interrupted) {
  ScenarioRun run(s, clock, options);
  while (run.step(false)) {
  }
  interrupted |= run.interrupted();
  return std::move(run).finish();
}

}  // namespace aiway
