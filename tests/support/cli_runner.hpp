// Runs the built aiway-stress as a user would, in a scratch folder per test
// process, and returns its exit code and output. Shared by the CLI suites.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace aiway_test {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

// Limits on timing out of the way, for tests about the books and the
// mechanics: a loaded machine (or a sanitizer) may make any stream slow,
// never lose a token. A limit on a figure the kind does not measure fails,
// so each kind has its own.
constexpr const char* kNoTimingLimits =
    "--set slo.ttft_ms=60000 --set slo.itl_p99_ms=60000 --set slo.e2e_ms=600000 --set expect.max_latency_p99_ms=60000";
constexpr const char* kNoConductorTimingLimits =
    "--set expect.max_latency_p99_ms=60000 --set expect.max_quit_latency_ms=60000 --set expect.max_target_cpu_share=1";

inline fs::path scratch_path() { return fs::temp_directory_path() / fmt::format("aiway-cli-{}", getpid()); }

inline fs::path scratch() {
  const fs::path dir = scratch_path();
  fs::create_directories(dir);
  return dir;
}

// Each test runs in a process of its own (gtest_discover_tests): its scratch
// folder goes with it, unless a test failed and its files are evidence.
class ScratchCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!::testing::UnitTest::GetInstance()->Passed()) return;
    std::error_code ec;
    fs::remove_all(scratch_path(), ec);
  }
};
[[maybe_unused]] inline const auto* const kScratchCleanup = ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// prefix: a command that wraps aiway-stress, e.g. "timeout -s INT 1".
inline Outcome cli(const std::string& args, const std::string& prefix = "") {
  const fs::path dir = scratch();
  const std::string command = fmt::format("{} {} --scenarios-dir {} {} >{} 2>{}", prefix, AIWAY_CLI, AIWAY_SCENARIOS_DIR, args,
                                          (dir / "out").string(), (dir / "err").string());
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(dir / "out"), slurp(dir / "err")};
}

// The sanitizer presets set AIWAY_TEST_SCALE=sanitizer: fewer tokens, and no
// performance verdicts (a sanitizer is many times slower).
inline bool under_sanitizer() {
  const char* scale = std::getenv("AIWAY_TEST_SCALE");
  return scale && std::string(scale) == "sanitizer";
}

}  // namespace aiway_test
