#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "aiway/scenario_file.hpp"
#include "stages/resolve.hpp"
#include "scenario/scenario_toml.hpp"
#include "scenario/spelling.hpp"

namespace aiway {
namespace {

std::string error_of(const std::string& toml) {
  try {
    parse_scenario(toml, "t.toml");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

TEST(Scenario, DefaultsAndValues) {
  const Scenario s = parse_scenario("name = \"x\"\n[backend]\nmessages = 20_000\nrate_tps = 5e4\n[channel]\noverflow = \"drop-oldest\"\n", "t.toml");
  EXPECT_EQ(s.name, "x");
  EXPECT_EQ(s.backend.messages, 20'000u);
  EXPECT_DOUBLE_EQ(s.backend.rate_tps, 50'000);
  EXPECT_EQ(s.channel.overflow, Overflow::drop_oldest);
  EXPECT_EQ(s.surface_channel.overflow, Overflow::block);
  EXPECT_EQ(s.origin.at("backend.messages"), "t.toml:3:1");
}

TEST(Scenario, NameDefaultsToTheFileStem) {
  EXPECT_EQ(parse_scenario("[backend]\nsize = 10\n", "dir/my-case.toml").name, "my-case");
}

TEST(Spelling, SuggestsOnlyANameOneSlipAway) {
  const std::vector<std::string> names = {"run", "compare", "calibrate", "1m-short", "1m-medium"};
  EXPECT_EQ(closest_name("runn", names), "run");
  EXPECT_EQ(closest_name("comapre", names), "compare") << "two letters swapped is one slip";
  EXPECT_EQ(closest_name("1m-shrot", names), "1m-short");
  EXPECT_EQ(closest_name("1m-medum", names), "1m-medium");
  EXPECT_FALSE(closest_name("xyzzy", names));
  EXPECT_FALSE(closest_name("run", names)) << "a known name is no slip";
  EXPECT_FALSE(closest_name("", names));
  EXPECT_EQ(did_you_mean("runn", names), "; did you mean \"run\"?");
  EXPECT_EQ(did_you_mean("xyzzy", names), "");
}

TEST(Scenario, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(error_of("[backend]\nmessages = \"many\"\n"),
            "t.toml:2:1: backend.messages: expected an integer from 1 to 10000000000, got the string \"many\"");
  EXPECT_EQ(error_of("[backend]\n  sise = 10\n"), "t.toml:2:3: unknown key \"backend.sise\"; did you mean \"backend.size\"?");
  EXPECT_EQ(error_of("[bakend]\nsize = 10\n"), "t.toml:2:1: unknown section [bakend]; did you mean \"backend\"?");
  EXPECT_EQ(error_of("[backend]\nxyzzy = 10\n"), "t.toml:2:1: unknown key \"backend.xyzzy\"") << "nothing close: no guess";
  EXPECT_EQ(parse_scenario("[backend]\nmessages = 1e6\n", "t.toml").backend.messages, 1'000'000u) << "a whole number in float form";
  EXPECT_EQ(error_of("[backend]\nmessages = 1.25\n"), "t.toml:2:1: backend.messages: expected an integer from 1 to 10000000000, got the number 1.25");
  EXPECT_EQ(error_of("[channel]\ncapacity = 0\n"), "t.toml:2:1: channel.capacity: expected an integer from 1 to 10000000, got the integer 0");
  EXPECT_EQ(error_of("[channel]\ncapacity = -5\n"), "t.toml:2:1: channel.capacity: expected an integer from 1 to 10000000, got the integer -5");
  EXPECT_EQ(error_of("[channel]\noverflow = \"drop\"\n"),
            "t.toml:2:1: channel.overflow: expected one of \"block\", \"drop-newest\", \"drop-oldest\", got the string \"drop\"");
  EXPECT_EQ(error_of("[control]\nquit_at = 1.5\n"), "t.toml:2:1: control.quit_at: expected a number from 0 to 1, got the number 1.5");
  EXPECT_EQ(error_of("[backend]\nrate_tps = nan\n"), "t.toml:2:1: backend.rate_tps: expected a number from 0 to 20000000, got the number nan");
  EXPECT_EQ(error_of("[backend]\nmessages = 10_000_000_001\n"),
            "t.toml:2:1: backend.messages: expected an integer from 1 to 10000000000, got the integer 10000000001");
  EXPECT_EQ(error_of("[measure]\nlatency = 1\n"), "t.toml:2:1: measure.latency: expected true or false, got the integer 1");
}

TEST(Scenario, CrossFieldErrorsNameTheFieldsOrigin) {
  EXPECT_EQ(error_of("[backend]\nstreams = 4096\nmessages = 10_000_000_000\n"),
            "t.toml:3:1: backend.messages: streams x messages must be at most 1e+10 tokens");
  EXPECT_EQ(error_of("[backend]\nmessages = 10\n[faults]\nerror_at = 11\n"),
            "t.toml:4:1: faults.error_at: must be at most backend.messages (10)");
}

TEST(Scenario, SyntaxErrorsAndGarbage) {
  EXPECT_NE(error_of("[backend\nsize = 1\n").find("t.toml:1:"), std::string::npos);
  EXPECT_EQ(error_of(""), "t.toml: the scenario file is empty");
  EXPECT_EQ(error_of(std::string("\x7f" "ELF\0\0\x01", 7)), "t.toml: not a text file (it contains a NUL byte)");
  EXPECT_NE(error_of("\xff\xfe garbage = ]]]").find("t.toml:1:"), std::string::npos);
}

TEST(Scenario, FilesThatAreNotFiles) {
  const auto dir = std::filesystem::temp_directory_path();
  EXPECT_THROW(load_scenario_file(dir), ScenarioError);
  EXPECT_THROW(load_scenario_file(dir / "does-not-exist.toml"), ScenarioError);
}

TEST(Scenario, OverridesAreCheckedLikeTheFile) {
  Scenario s = parse_scenario("[backend]\nmessages = 10\n", "t.toml");
  apply_overrides(s, {"backend.messages=20000", "surface.work_us=2", "surface_channel.overflow=drop-newest", "repetitions=3"});
  EXPECT_EQ(s.backend.messages, 20'000u);
  EXPECT_DOUBLE_EQ(s.surface.work_us, 2);
  EXPECT_EQ(s.surface_channel.overflow, Overflow::drop_newest);
  EXPECT_EQ(s.repetitions, 3u);
  EXPECT_EQ(s.origin.at("surface.work_us"), "--set surface.work_us=2");

  auto error = [&](const std::string& o) {
    try {
      apply_overrides(s, {o});
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error("backend.messages=abc"),
            "--set backend.messages=abc: backend.messages: expected an integer from 1 to 10000000000, got the string \"abc\"");
  EXPECT_EQ(error("backend.nope=1"), "--set backend.nope=1: unknown key \"backend.nope\"");
  EXPECT_EQ(error("nonsense"), "--set nonsense: expected SECTION.KEY=VALUE");
  EXPECT_EQ(error("faults.error_at=30000"), "--set faults.error_at=30000: faults.error_at: must be at most backend.messages (20000)");
}

TEST(Scenario, OverridesValidTogetherWorkInAnyOrder) {
  Scenario s = parse_scenario("[backend]\nmessages = 100\n[faults]\nsurface_stall_at = 50\nsurface_stall_ms = 1\n", "t.toml");
  apply_overrides(s, {"backend.messages=40", "faults.surface_stall_at=20"});  // stall_at 50 > 40 only in between
  EXPECT_EQ(s.faults.surface_stall_at, 20u);
}

TEST(Scenario, ShowOutputParsesBackToTheSameScenario) {
  Scenario s = parse_scenario("name = \"rt\"\n[backend]\nmessages = 1234\nrate_tps = 1.5\n[control]\nquit_at = 0.25\n[expect]\nmax_cpu_share = 0.2\n", "t.toml");
  const std::string text = scenario_to_toml(s);
  const Scenario back = parse_scenario(text, "shown.toml");
  EXPECT_EQ(scenario_to_toml(back), text);
  EXPECT_EQ(back.backend.messages, 1234u);
  EXPECT_EQ(back.control.quit_at, 0.25);
  EXPECT_FALSE(back.expect.max_latency_p99_ms.has_value());
}

TEST(Scenario, ShippedScenariosAreValid) {
  const auto entries = list_scenarios(AIWAY_SCENARIOS_DIR);
  ASSERT_GE(entries.size(), 5u);
  for (const auto& e : entries) EXPECT_EQ(e.description.rfind("(invalid", 0), std::string::npos) << e.name << ": " << e.description;
  for (const char* seed : {"1m-short", "1m-medium", "1k-long", "rapid-tokens", "backpressure"})
    EXPECT_NO_THROW(load_scenario_file(resolve_scenario(seed, AIWAY_SCENARIOS_DIR))) << seed;
  EXPECT_THROW(resolve_scenario("no-such-scenario", AIWAY_SCENARIOS_DIR), ScenarioError);
}

// A scenario carried to a worker process or read back from a results file
// travels as TOML: after the trip it must behave exactly as before, whatever
// was written in its file and whatever was left to defaults.
TEST(Scenario, EveryShippedScenarioBehavesTheSameAfterARoundTrip) {
  std::size_t checked = 0;
  for (const auto& e : list_scenarios(AIWAY_SCENARIOS_DIR)) {
    Scenario s = load_scenario_file(e.file);
    resolve_stages(s);
    const std::string text = scenario_to_toml(s);
    Scenario back = parse_scenario(text, "worker.toml");
    resolve_stages(back);
    EXPECT_EQ(scenario_to_toml(back), text) << e.name;
    EXPECT_EQ(back.starts_proxy(), s.starts_proxy()) << e.name;
    EXPECT_EQ(back.target.started_command(), s.target.started_command()) << e.name;
    EXPECT_EQ(back.unpaced_model(), s.unpaced_model()) << e.name;
    ++checked;
  }
  EXPECT_GE(checked, 20u);
}

TEST(Scenario, TargetCommandDefaultsByKind) {
  const Scenario direct = parse_scenario("[target]\nkind = \"http\"\n", "t.toml");
  EXPECT_FALSE(direct.starts_proxy());
  EXPECT_TRUE(direct.target.started_command().empty());
  const Scenario conductor = parse_scenario("[target]\nkind = \"aiway\"\n", "t.toml");
  EXPECT_EQ(conductor.target.started_command(), reference_conductor_command());
  // Written out in full (as a worker's file is), an HTTP target's empty command still starts nothing.
  const Scenario written = parse_scenario("[target]\nkind = \"http\"\ncommand = []\n", "t.toml");
  EXPECT_FALSE(written.starts_proxy());
  const Scenario proxy = parse_scenario("[target]\nkind = \"http\"\ncommand = [\"nginx\"]\n", "t.toml");
  EXPECT_TRUE(proxy.starts_proxy());
}

}  // namespace
}  // namespace aiway
