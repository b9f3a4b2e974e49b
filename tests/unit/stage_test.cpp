// The stage API: foreign stages registered with the public macros, run through
// the harness's drivers, whose books must stay exact whatever a stage does;
// stage parameters checked like scenario fields; the trace backend replaying
// a recording on its schedule.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "aiway/aiway.hpp"
#include "aiway/scenario_file.hpp"
#include "measure/machine.hpp"
#include "pipeline/pipeline.hpp"
#include "compare/verdict.hpp"
#include "results/results_json.hpp"
#include "run/runner.hpp"
#include "stages/builtin_stages.hpp"
#include "stages/resolve.hpp"

namespace {

using aiway::ConductorOutput;
using aiway::ParamSpec;
using aiway::ParamType;
using aiway::StageContext;
using aiway::Token;

// Forwards every token but each `every`-th (counted over all streams).
class DropEvery : public aiway::ConductorStage {
 public:
  explicit DropEvery(const StageContext& c) : every_(std::uint64_t(c.params.integer("every"))) {}
  static std::vector<ParamSpec> params() {
    return {{"every", ParamType::integer, std::int64_t(10), 1, 1e6, "drop one token in this many"},
            {"label", ParamType::text, std::string("x"), 0, 0, "a text parameter"},
            {"scale", ParamType::number, 1.5, 0, 10, "a number parameter"},
            {"loud", ParamType::boolean, false, 0, 0, "a boolean parameter"}};
  }
  void on_tokens(std::span<Token> tokens, ConductorOutput& out) override {
    for (Token& t : tokens) {
      if (++seen_ % every_ == 0) ++dropped_;
      else out.forward(t);
    }
  }
  void report(aiway::CounterSink& sink) const override { sink.add("dropped", double(dropped_), "tokens", aiway::Better::lower); }

 private:
  std::uint64_t every_, seen_ = 0, dropped_ = 0;
};

// Flips a byte in every 100th token's text.
class Corrupt : public aiway::ConductorStage {
 public:
  explicit Corrupt(const StageContext&) {}
  void on_tokens(std::span<Token> tokens, ConductorOutput& out) override {
    for (Token& t : tokens) {
      if (++seen_ % 100 == 0 && !t.text.empty()) t.text[0] ^= 0x20;
      out.forward(t);
    }
  }

 private:
  std::uint64_t seen_ = 0;
};

// Forwards every 50th token twice.
class Duplicate : public aiway::ConductorStage {
 public:
  explicit Duplicate(const StageContext&) {}
  void on_tokens(std::span<Token> tokens, ConductorOutput& out) override {
    for (Token& t : tokens) {
      if (++seen_ % 50 == 0) {
        Token copy = t;
        out.forward(copy);
      }
      out.forward(t);
    }
  }

 private:
  std::uint64_t seen_ = 0;
};

class Exploding : public aiway::ConductorStage {
 public:
  explicit Exploding(const StageContext&) { throw std::runtime_error("no GPU here"); }
  void on_tokens(std::span<Token>, ConductorOutput&) override {}
};

// Keeps what it displays, for the schedule check.
class Recording : public aiway::SurfaceStage {
 public:
  struct Seen {
    std::uint32_t stream;
    std::int64_t intended_ns, sent_ns;
    std::string text;
  };
  explicit Recording(const StageContext&) {}
  void display(std::span<const Token> tokens) override {
    for (const Token& t : tokens) seen.push_back({t.stream, t.intended_ns, t.sent_ns, t.text});
  }
  std::vector<Seen> seen;
};

AIWAY_CONDUCTOR("drop-every", DropEvery);
AIWAY_CONDUCTOR("corrupt", Corrupt);
AIWAY_CONDUCTOR("duplicate", Duplicate);
AIWAY_CONDUCTOR("exploding", Exploding);
AIWAY_SURFACE("recording", Recording);

aiway::Scenario scenario(const std::string& toml, std::vector<std::string> sets = {}) {
  aiway::Scenario s = aiway::parse_scenario("repetitions = 1\nwarmup = 0\n" + toml, "test.toml");
  aiway::apply_overrides(s, sets);
  aiway::resolve_stages(s);
  return s;
}

aiway::Metrics run_once(const aiway::Scenario& s) {
  const aiway::Clock clock = aiway::Clock::detect();
  bool interrupted = false;
  const aiway::ScenarioResult r = aiway::run_scenario(s, clock, aiway::RunOptions{}, interrupted);
  EXPECT_EQ(r.repetitions.size(), 1u) << r.failure;
  return r.repetitions.empty() ? aiway::Metrics{} : r.repetitions[0].metrics;
}

std::string resolve_error(const std::string& toml, std::vector<std::string> sets = {}) {
  try {
    scenario(toml, sets);
  } catch (const aiway::ScenarioError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Stages, AConductorThatDropsEveryTenthIsCountedExactly) {
  const auto m = run_once(scenario("[backend]\nmessages = 10000\nstreams = 2\n[conductor]\nimpl = \"drop-every\"\n"));
  EXPECT_EQ(*m.get("tokens_sent"), 20000);
  EXPECT_EQ(*m.get("dropped_by_stage"), 2000);
  EXPECT_EQ(*m.get("conductor.dropped"), 2000);  // the stage's own counter, named by role
  EXPECT_EQ(*m.get("tokens_delivered"), 18000);
  EXPECT_EQ(*m.get("missing_at_surface"), 2000);
  EXPECT_EQ(*m.get("lost_unaccounted"), 0);
  EXPECT_DOUBLE_EQ(*m.get("loss_ratio"), 0.1);
}

TEST(Stages, AParameterChangesTheStage) {
  const auto m = run_once(scenario("[backend]\nmessages = 10000\n[conductor]\nimpl = \"drop-every\"\n"
                                   "[conductor.params]\nevery = 4\n"));
  EXPECT_EQ(*m.get("dropped_by_stage"), 2500);
  EXPECT_EQ(*m.get("lost_unaccounted"), 0);
  const auto n = run_once(scenario("[backend]\nmessages = 10000\n[conductor]\nimpl = \"drop-every\"\n",
                                   {"conductor.params.every=1000"}));
  EXPECT_EQ(*n.get("dropped_by_stage"), 10);
}

TEST(Stages, ACorruptingConductorIsCaughtByTheContentCheck) {
  const auto m = run_once(scenario("[backend]\nmessages = 10000\n[conductor]\nimpl = \"corrupt\"\n"));
  EXPECT_EQ(*m.get("corrupted"), 100);
  EXPECT_EQ(*m.get("tokens_delivered"), 10000);
  EXPECT_EQ(*m.get("lost_unaccounted"), 0);
}

TEST(Stages, ADuplicatingConductorIsCaughtAndNothingIsLost) {
  const auto m = run_once(scenario("[backend]\nmessages = 10000\n[conductor]\nimpl = \"duplicate\"\n"));
  EXPECT_EQ(*m.get("duplicated"), 200);
  EXPECT_EQ(*m.get("dropped_by_stage"), 0);
  EXPECT_EQ(*m.get("tokens_delivered"), 10000);
  EXPECT_EQ(*m.get("lost_unaccounted"), 0);
}

TEST(Stages, TheBuiltInsStillDeliverByteExactOutput) {
  // 1m-short's shape (short tokens, planted commands, one split in two) at 100,000 tokens.
  const auto m = run_once(scenario("[backend]\nmessages = 100000\ncommands = 10\n"));
  EXPECT_EQ(*m.get("tokens_delivered"), 100000);
  EXPECT_EQ(*m.get("corrupted"), 0);
  EXPECT_EQ(*m.get("commands_executed"), 10);
  EXPECT_EQ(*m.get("commands_displayed"), 10);
  EXPECT_EQ(*m.get("conductor.commands_rejected"), 0);
  EXPECT_EQ(*m.get("dropped_by_stage"), 0);
  EXPECT_EQ(*m.get("transcript_bytes"), *m.get("bytes_delivered"));
}

TEST(Stages, AStageThatCannotBeBuiltFailsTheRunWithItsMessage) {
  const aiway::Scenario s = scenario("[conductor]\nimpl = \"exploding\"\n");
  const aiway::Clock clock = aiway::Clock::detect();
  bool interrupted = false;
  const aiway::ScenarioResult r = aiway::run_scenario(s, clock, aiway::RunOptions{}, interrupted);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.failure.find("no GPU here"), std::string::npos) << r.failure;
}

TEST(Stages, ImplementationsAndParametersAreCheckedWhereTheyWereSet) {
  EXPECT_EQ(resolve_error("[conductor]\nimpl = \"nope\"\n"),
            "test.toml:4:1: conductor.impl: unknown conductor \"nope\" (registered: aiway, corrupt, drop-every, "
            "duplicate, exploding)");
  EXPECT_EQ(resolve_error("[conductor]\nimpl = \"drop-every\"\n[conductor.params]\nevery = \"ten\"\n"),
            "test.toml:6:1: conductor.params.every: expected an integer from 1 to 1000000");
  EXPECT_EQ(resolve_error("[conductor]\nimpl = \"drop-every\"\n[conductor.params]\nevery = 0\n"),
            "test.toml:6:1: conductor.params.every: expected a value from 1 to 1000000, got 0");
  EXPECT_EQ(resolve_error("[conductor]\nimpl = \"drop-every\"\n[conductor.params]\nevry = 3\n"),
            "test.toml:6:1: conductor.params.evry: the conductor \"drop-every\" has no parameter \"evry\" (it has: "
            "every, label, scale, loud)");
  EXPECT_EQ(resolve_error("[conductor.params]\nx = 1\n"),
            "test.toml:4:1: conductor.params.x: the conductor \"aiway\" has no parameter \"x\" (it has none)");
  EXPECT_EQ(resolve_error("[conductor]\nimpl = \"drop-every\"\n", {"conductor.params.loud=3"}),
            "--set conductor.params.loud=3: conductor.params.loud: expected true or false");
  EXPECT_EQ(resolve_error("[conductor]\nimpl = \"drop-every\"\n[conductor.params]\nlabel = [1]\n"),
            "test.toml:6:1: conductor.params.label: expected true, false, a number or a string, got an array");
  EXPECT_EQ(resolve_error("[surface]\nimpl = \"recorder\"\n"),
            "test.toml:4:1: surface.impl: unknown surface \"recorder\" (registered: recording, terminal)");
}

TEST(Stages, ResolvedParametersAreFieldsWithTheirDefaults) {
  const aiway::Scenario s = scenario("[conductor]\nimpl = \"drop-every\"\n[conductor.params]\nscale = 2\n");
  std::map<std::string, aiway::FieldValue> params;
  for (const aiway::Field& f : aiway::scenario_fields(s))
    if (f.section == "conductor.params") params[f.key] = f.value;
  ASSERT_EQ(params.size(), 4u);
  EXPECT_EQ(params["every"], aiway::FieldValue(std::int64_t(10)));
  EXPECT_EQ(params["scale"], aiway::FieldValue(2.0));  // an integer written for a number is a number
  EXPECT_EQ(params["label"], aiway::FieldValue(std::string("x")));
  EXPECT_EQ(params["loud"], aiway::FieldValue(false));
  // The impl is a workload-neutral field: an A/B of two conductors compares.
  bool workload = false;
  for (const aiway::Field& f : aiway::scenario_fields(s))
    if (f.key == "impl" && f.section == "conductor") workload = aiway::is_workload_section(f.section);
  EXPECT_FALSE(workload);
}

TEST(Stages, RegistrationRefusesADuplicateOrAStrangeName) {
  aiway::StageRegistry r;
  const aiway::StageRegistry::ConductorFactory make = [](const StageContext& c) { return std::make_unique<Corrupt>(c); };
  r.add(aiway::StageInfo{aiway::StageRole::conductor, "mine", "", {}}, make);
  EXPECT_THROW(r.add(aiway::StageInfo{aiway::StageRole::conductor, "mine", "", {}}, make), std::logic_error);
  EXPECT_THROW(r.add(aiway::StageInfo{aiway::StageRole::conductor, "My Stage", "", {}}, make), std::logic_error);
  EXPECT_THROW(r.add(aiway::StageInfo{aiway::StageRole::conductor, "typed", "",
                                      {{"n", ParamType::integer, 1.0, 0, 0, ""}}}, make),
               std::logic_error);  // a default not of its declared type
}

TEST(Stages, AStageCounterIsComparedInTheDirectionItDeclares) {
  const aiway::Clock clock = aiway::Clock::detect();
  const auto side = [&](int every) {
    aiway::Scenario s = scenario("[backend]\nmessages = 5000\n[conductor]\nimpl = \"drop-every\"\n",
                                 {fmt::format("conductor.params.every={}", every), "repetitions=5",
                                  // The counter is exact whatever else runs: a busy machine must not make it inconclusive.
                                  "measure.max_foreign_cpu=0"});
    s.name = "drops";
    aiway::RunResults r;
    r.tool = aiway::describe_tool();
    r.machine = aiway::describe_machine(clock);
    bool interrupted = false;
    r.scenarios.push_back(aiway::run_scenario(s, clock, aiway::RunOptions{}, interrupted));
    // Through the results JSON and back, as compare reads a file.
    return aiway::results_from_json_text(aiway::results_to_json(r).dump(), "side.json");
  };
  const aiway::RunResults base = side(10), worse = side(5);
  ASSERT_EQ(base.scenarios[0].counters.at("conductor.dropped").better, aiway::Better::lower);
  EXPECT_EQ(base.scenarios[0].counters.at("conductor.dropped").unit, "tokens");
  const aiway::Comparison c = aiway::compare_results(base, worse, aiway::default_policies());
  ASSERT_EQ(c.scenarios.size(), 1u);
  const aiway::MetricComparison* dropped = nullptr;
  for (const auto& m : c.scenarios[0].metrics)
    if (m.metric == "conductor.dropped") dropped = &m;
  ASSERT_NE(dropped, nullptr) << "the stage's counter was not compared";
  EXPECT_EQ(dropped->verdict, aiway::Verdict::regressed);  // 500 -> 1000 dropped, lower is better
  EXPECT_FALSE(dropped->gating);                          // advisory: it gates only with --strict
}

// ---- trace replay -----------------------------------------------------------

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) : path(testing::TempDir() + "trace-" + std::to_string(counter()++) + ".jsonl") {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

TEST(Stages, ATraceReplaysOnItsScheduleWithItsTexts) {
  // Out of order in the file, three streams, gaps up to 20 ms, a blank line.
  std::string text;
  std::vector<std::pair<std::int64_t, std::string>> expected;  // due (us), text
  for (int i = 0; i < 60; ++i) {
    const std::int64_t t_us = i * 700 + (i % 7 == 0 ? 20000 : 0) + i * i;
    text += fmt::format("{{\"t_us\": {}, \"stream\": {}, \"text\": \"tok{}-\\u00e9\"}}\n", t_us, i % 3, i);
    if (i == 30) text += "\n";
    expected.emplace_back(t_us, fmt::format("tok{}-\xc3\xa9", i));
  }
  const TempFile trace(text);
  aiway::Scenario s = scenario(fmt::format("[backend]\nimpl = \"trace\"\ntrace = \"{}\"\n[surface]\nimpl = \"recording\"\n", trace.path));
  EXPECT_EQ(s.backend.streams, 3u);     // the trace's shape
  EXPECT_EQ(s.backend.messages, 20u);
  aiway::StageSet stages = aiway::make_stages(s);
  auto* recording = static_cast<Recording*>(stages.surface.get());
  const aiway::Clock clock = aiway::Clock::detect();
  aiway::Pipeline p(s, clock, std::move(stages));
  p.start();
  ASSERT_TRUE(p.wait_until(aiway::monotonic_ns() + 60'000'000'000));
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  ASSERT_EQ(recording->seen.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& seen = recording->seen[i];
    EXPECT_EQ(seen.text, expected[i].second);
    // The intended send time is the trace's, exactly; nothing is sent early.
    EXPECT_EQ(seen.intended_ns - p.backend().start_ns, expected[i].first * 1000) << i;
    EXPECT_GE(seen.sent_ns, seen.intended_ns) << i;
  }
  EXPECT_EQ(p.surface().streams_completed, 3u);
  EXPECT_EQ(p.surface().corrupted, 0u);
  EXPECT_EQ(p.surface().missing, 0u);
}

TEST(Stages, ABadTraceIsRefusedWithItsLine) {
  const auto error = [](const std::string& text) {
    const TempFile trace(text);
    const std::string e = resolve_error(fmt::format("[backend]\nimpl = \"trace\"\ntrace = \"{}\"\n", trace.path));
    const auto at = e.find(trace.path);
    return at == std::string::npos ? e : e.substr(at + trace.path.size());
  };
  EXPECT_EQ(error("{\"t_us\": 0, \"text\": \"a\"}\n{\"t_us\": 1, \"text\": \"b\"\n"), ":2:23: not JSON: expected one object per line");
  EXPECT_EQ(error("{\"t_us\": -5, \"text\": \"a\"}\n"),
            ":1:1: t_us: expected the token's time in microseconds after the request, from 0 to 86400e6");
  EXPECT_EQ(error("{\"t_us\": 5}\n"), ":1:1: text: expected the token's text, a string");
  EXPECT_EQ(error("{\"t_us\": 5, \"text\": \"a\", \"stream\": 5000}\n"), ":1:1: stream: expected an integer from 0 to 4095");
  EXPECT_EQ(error("{\"t_us\": 5, \"txt\": \"a\"}\n"), ":1:1: unknown field \"txt\"");
  EXPECT_EQ(error("\n\n"), ": the trace has no tokens");
  EXPECT_EQ(resolve_error("[backend]\nimpl = \"trace\"\n"),
            "test.toml:4:1: backend.impl: the trace backend needs the recording to replay: set backend.trace");
  EXPECT_EQ(resolve_error("[backend]\ntrace = \"x.jsonl\"\n"),
            "test.toml:4:1: backend.trace: only the trace backend reads it (backend.impl is \"mock\")");
}

}  // namespace
