// The documentation is the user's only source: every scenario field that
// `show` prints, and every metric a repetition records, must be in it. Both
// lists come from the code's own tables, so a new field or metric without a
// line in docs/ fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "aiway/scenario_file.hpp"
#include "measure/clock.hpp"
#include "run/runner.hpp"

namespace aiway {
namespace {

std::string doc(const char* name) {
  std::ifstream in(std::string(AIWAY_SOURCE_DIR) + "/docs/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Docs, EveryScenarioFieldIsInTheReference) {
  const std::string reference = doc("scenarios.md");
  ASSERT_FALSE(reference.empty());
  for (const Field& f : scenario_fields(Scenario{})) {
    const std::string section = f.section.empty() ? "(top level)" : "[" + f.section + "]";
    EXPECT_NE(reference.find("`" + f.key + "`"), std::string::npos) << section << " " << f.key << " is not in docs/scenarios.md";
  }
}

TEST(Docs, EveryMetricIsInTheMetricTable) {
  const std::string table = doc("results.md");
  ASSERT_FALSE(table.empty());
  // A small run of every kind of scenario whose metrics differ: paced with a
  // quit and several streams, and canaries.
  Scenario s = parse_scenario("[backend]\nmessages = 2000\nstreams = 2\nrate_tps = 20000\n[control]\nquit_at = 0.5\n"
                              "[faults]\nchannel_drop_every = 97\nsecond_request_at = 100\n[expect]\ndetected_equals_planted = true\n",
                              "docs.toml");
  s.repetitions = 1;
  s.warmup = 0;
  const Clock clock = Clock::detect();
  bool interrupted = false;
  const ScenarioResult r = run_scenario(s, clock, RunOptions{}, interrupted);
  ASSERT_FALSE(r.repetitions.empty()) << r.failure;
  for (const auto& [name, value] : r.repetitions[0].metrics.values())
    EXPECT_NE(table.find("`" + name + "`"), std::string::npos) << name << " is not in docs/results.md";
}

}  // namespace
}  // namespace aiway
