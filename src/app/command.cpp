#include "app/command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <ctime>

#include "aiway/scenario_file.hpp"
#include "stages/resolve.hpp"

namespace aiway::app {
namespace {

// The one piece of process-wide state: a signal handler can reach nothing else.
std::atomic<bool> g_interrupted{false};
std::atomic<std::int64_t> g_first_signal_ns{0};
std::atomic<int> g_signals{0};

extern "C" void on_signal(int) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  const std::int64_t now_ns = std::int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  if (!g_interrupted.exchange(true)) {
    g_first_signal_ns = now_ns;
    g_signals = 1;
    return;
  }
  // One within a second of the first is the same request delivered twice (to
  // the process and its group). A second request stops just as the first
  // does, results written; only a third leaves at once, for a harness that
  // cannot stop (the results of what completed are then lost).
  if (now_ns - g_first_signal_ns.load() > 1'000'000'000 && g_signals.fetch_add(1) + 1 >= 3) _exit(kInterrupted);
}

}  // namespace

const std::atomic<bool>& stop_requested() { return g_interrupted; }

void stop_on_signals() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGHUP, on_signal);
}

const CLI::Validator kPath(
    [](std::string& value) { return value.empty() ? std::string("an empty path names no file") : std::string(); },
    "PATH", "path");

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

bool use_color() { return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr; }

Scenario load_with_overrides(const std::string& name, const std::filesystem::path& dir,
                             const std::vector<std::string>& overrides) {
  Scenario s = load_scenario_file(resolve_scenario(name, dir));
  apply_overrides(s, overrides);
  resolve_stages(s);
  return s;
}

// A --set value is one TOML value on one line, in UTF-8: a value with a line
// break could smuggle in other fields, and text that is not UTF-8 would fail
// only when results are written, after the whole run.
namespace {

void check_assignment_text(const std::string& assignment) {
  // The value as shown in the message: control characters escaped, so the message stays one line.
  const auto where = [&](std::size_t at) {
    std::string shown;
    for (char ch : assignment.substr(0, 60))
      shown += static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f ? fmt::format("\\x{:02x}", static_cast<unsigned char>(ch))
                                                                  : std::string(1, ch);
    return fmt::format("--set {}: byte {}", shown, at + 1);
  };
  for (std::size_t i = 0; i < assignment.size();) {
    const auto c = static_cast<unsigned char>(assignment[i]);
    if (c < 0x20 || c == 0x7f)
      throw ScenarioError(fmt::format("{}: a control character (line break, tab ...) is not allowed in a value", where(i)));
    const int length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = length > 0 && i + std::size_t(length) <= assignment.size();
    for (int k = 1; ok && k < length; ++k) ok = (static_cast<unsigned char>(assignment[i + k]) >> 6) == 0x2;
    if (ok && length == 2) ok = c >= 0xc2;  // no overlong forms
    if (!ok) throw ScenarioError(fmt::format("{}: not valid UTF-8", where(i)));
    i += std::size_t(length);
  }
}

}  // namespace

void check_assignments(const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) check_assignment_text(a);
}

}  // namespace aiway::app
