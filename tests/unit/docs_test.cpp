// The documentation is the user's only source: every scenario field that
// `show` prints, and every metric a repetition records, must be in it. Both
// lists come from the code's own tables, so a new field or metric without a
// line in docs/ fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "aiway/metrics.hpp"
#include "aiway/scenario_file.hpp"
#include "report/metric_docs.hpp"
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
  for (const auto& [name, value] : r.repetitions[0].metrics.values()) {
    // Every metric collected is declared in the descriptor table (a stage's
    // own counters by their role's pattern), which writes the docs' table.
    const auto dot = name.find('.');
    const std::string declared = dot == std::string::npos || find_metric(name) ? name : name.substr(0, dot) + ".NAME";
    EXPECT_NE(find_metric(declared), nullptr) << name << " is not in the metric table (include/aiway/metrics.hpp)";
  }
}

TEST(Docs, TheMetricTableIsTheOneTheCodeWrites) {
  const std::string doc_text = doc("results.md");
  const std::string begin = "<!-- metrics:begin", end = "<!-- metrics:end -->";
  const auto b = doc_text.find(begin), e = doc_text.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  const auto first_row = doc_text.find('\n', b) + 1;
  EXPECT_EQ(doc_text.substr(first_row, e - first_row), metric_table_markdown())
      << "docs/results.md's metric table is stale: replace it with `aiway-stress metrics`";
  // Descriptors are unique and plainly named.
  std::set<std::string_view> names;
  for (const MetricDescriptor& m : kMetrics) {
    EXPECT_TRUE(names.insert(m.name).second) << m.name << " is declared twice";
    EXPECT_FALSE(m.description.empty()) << m.name;
  }
}

}  // namespace
}  // namespace aiway
