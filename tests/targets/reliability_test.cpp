// The reliability guarantees (docs/reliability.md) as a user meets them,
// through the CLI: the nightly settings (--processes, ab) run every target
// kind; the checked-in baselines load and judge a fresh run; nothing the run
// did not create is deleted or taken (folders, files at socket paths, live
// sockets, ports); a full disk on one output costs no other output; inputs
// the machine makes impossible are refused up front with the field named.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/cli_runner.hpp"

namespace {

using namespace aiway_test;
using nlohmann::json;

bool have_nginx() { return std::system("command -v nginx >/dev/null 2>&1") == 0; }

// Small workloads of every kind: the model, a conductor process, HTTP direct
// and (where nginx is installed) HTTP through a proxy the harness starts.
struct KindCase {
  const char* scenario;
  const char* sets;
};
std::vector<KindCase> one_scenario_per_kind() {
  std::vector<KindCase> cases = {{"1m-short", "--set backend.messages=20000"},
                                 {"aiway-burst", "--set backend.messages=2000"},
                                 {"sse-direct", "--set backend.streams=4 --set backend.messages=20"}};
  if (have_nginx()) cases.push_back({"sse-nginx", "--set backend.streams=4 --set backend.messages=20"});
  return cases;
}

std::string private_tmpdir(const std::string& name) {
  const fs::path dir = scratch() / name;
  fs::create_directories(dir);
  return dir.string();
}

std::size_t entries_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

// Every kind runs whole with the nightly job's --processes: a worker's tie to
// its parent never reaches the conductor it starts, and a scenario carried to
// a worker behaves as the one read from its file (sse-direct starts no proxy).
TEST(Reliability, EveryTargetKindRunsInWorkerProcesses) {
  for (const KindCase& k : one_scenario_per_kind()) {
    const fs::path out = scratch() / fmt::format("{}-workers.json", k.scenario);
    const Outcome o = cli(fmt::format("run -s {} -r 2 --warmup 0 --processes 2 -q {} --out {}", k.scenario, k.sets, out.string()));
    EXPECT_EQ(o.exit_code, 0) << k.scenario << ": " << o.out << o.err;
    ASSERT_TRUE(fs::exists(out)) << k.scenario;
    const json r = json::parse(slurp(out));
    EXPECT_EQ(r["scenarios"][0]["repetitions"].size(), 2u) << k.scenario;
    EXPECT_TRUE(r["scenarios"][0]["failure"].is_null()) << k.scenario << ": " << r["scenarios"][0]["failure"].dump();
  }
}

TEST(Reliability, EveryTargetKindRunsUnderAb) {
  for (const KindCase& k : one_scenario_per_kind()) {
    const Outcome o = cli(fmt::format("ab {} {} -s {} -r 2 -q {}", AIWAY_CLI, AIWAY_CLI, k.scenario, k.sets));
    // Same binary on both sides: no input error, no failed run; the gate may
    // call a busy machine's pair anything but a failure of the tool.
    EXPECT_TRUE(o.exit_code == 0 || o.exit_code == 1 || o.exit_code == 4) << k.scenario << ": exit " << o.exit_code << "\n"
                                                                          << o.out << o.err;
    EXPECT_EQ(o.err.find("ended before"), std::string::npos) << k.scenario << ": " << o.err;
  }
}

// Every baseline shipped in baselines/ loads with this build, and judges a
// fresh run of this build.
TEST(Reliability, EveryCheckedInBaselineLoadsAndJudgesAFreshRun) {
  std::size_t baselines = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(AIWAY_SOURCE_DIR) / "baselines")) {
    if (entry.path().extension() != ".json") continue;
    ++baselines;
    const std::string file = entry.path().string();
    const Outcome self = cli(fmt::format("compare {} {}", file, file));
    EXPECT_EQ(self.exit_code, 0) << file << ": " << self.out << self.err;
    const json base = json::parse(slurp(entry.path()));
    std::set<std::string> covered;
    for (const json& s : base["scenarios"]) covered.insert(s["name"].get<std::string>());
    // A fresh run of a baseline's scenario, the same workload, with few repetitions.
    ASSERT_TRUE(covered.count("1m-short")) << file;
    const Outcome fresh = cli(fmt::format("run -s 1m-short -r 3 -q --baseline {}", file));
    EXPECT_TRUE(fresh.exit_code == 0 || fresh.exit_code == 1 || fresh.exit_code == 4)
        << file << ": exit " << fresh.exit_code << "\n" << fresh.out << fresh.err;
    EXPECT_NE(fresh.out.find("1m-short"), std::string::npos) << fresh.out;
    // It covers every shipped scenario: the nightly job compares them all.
    for (const auto& s : fs::directory_iterator(AIWAY_SCENARIOS_DIR)) {
      if (s.path().extension() != ".toml") continue;
      EXPECT_TRUE(covered.count(s.path().stem().string())) << file << " has no " << s.path().stem();
    }
  }
  EXPECT_GT(baselines, 0u);
}

// A bad value in a results file's scenario is reported at that field, not at
// a field the loader tried afterwards.
TEST(Reliability, ABadConfigValueIsReportedAtItsField) {
  const fs::path good = scratch() / "sse.json";
  ASSERT_EQ(cli(fmt::format("run -s sse-direct -r 1 --warmup 0 -q --set backend.streams=2 --set backend.messages=10 --out {}",
                            good.string())).exit_code, 0);
  json r = json::parse(slurp(good));
  r["scenarios"][0]["config"]["target"]["shard"] = "3/2";
  const fs::path bad = scratch() / "tampered.json";
  std::ofstream(bad) << r.dump();
  const Outcome o = cli(fmt::format("merge {} --out {}", bad.string(), (scratch() / "m.json").string()));
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_NE(o.err.find("scenarios[0].config"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("target.shard"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find("compare.gating"), std::string::npos) << o.err;
}

// merge takes a stream index only as a stream of the load: not one beyond
// it (99,999,999,999 was wrapped to 4294967295), and not a load with one missing.
TEST(Reliability, MergeRefusesAStreamIndexOutsideTheLoad) {
  const fs::path good = scratch() / "one-shard.json";
  ASSERT_EQ(cli(fmt::format("run -s sse-direct -r 1 --warmup 0 -q --set backend.streams=2 --set backend.messages=10 --out {}",
                            good.string())).exit_code, 0);
  json r = json::parse(slurp(good));
  json& rows = r["scenarios"][0]["repetitions"][0]["streams"]["rows"];
  const json& columns = r["scenarios"][0]["repetitions"][0]["streams"]["columns"];
  std::size_t index_column = 0;
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == "index") index_column = i;
  rows[1][index_column] = 99999999999.0;
  const fs::path bad = scratch() / "beyond.json";
  std::ofstream(bad) << r.dump();
  const Outcome o = cli(fmt::format("merge {} --out {}", bad.string(), (scratch() / "m2.json").string()));
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_NE(o.err.find("not a stream index"), std::string::npos) << o.err;
}

// Round trip through a results file: a loaded sse-direct still starts no
// proxy, so comparing it against itself works.
TEST(Reliability, AResultsFileBehavesAsTheRunItCameFrom) {
  const fs::path a = scratch() / "direct.json";
  ASSERT_EQ(cli(fmt::format("run -s sse-direct -r 2 --warmup 0 -q --set backend.streams=2 --set backend.messages=10 --out {}",
                            a.string())).exit_code, 0);
  const json r = json::parse(slurp(a));
  EXPECT_TRUE(r["scenarios"][0]["config"]["target"]["command"].is_null()) << "unset: the kind's default";
  const Outcome o = cli(fmt::format("compare {} {}", a.string(), a.string()));
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
}

// The temporary-folder cleanup removes only what a dead run of aiway-stress
// made: a folder with its marker whose maker is gone. Others' folders stay.
TEST(Reliability, StaleFolderCleanupTakesOnlyDeadRunsFolders) {
  const std::string tmp = private_tmpdir("tmp-cleanup");
  const fs::path foreign = fs::path(tmp) / "aiway-stress-nightly-results";
  fs::create_directories(foreign);
  std::ofstream(foreign / "results.json") << "{}";
  // A live process's folder with a true marker (this test's own pid and start time).
  std::string stat_line = slurp(fmt::format("/proc/{}/stat", getpid()));
  std::istringstream rest(stat_line.substr(stat_line.rfind(')') + 2));
  std::string field, start;
  for (int i = 3; i <= 22 && rest >> field; ++i) start = field;
  const fs::path live = fs::path(tmp) / fmt::format("aiway-stress-{}-live00", getpid());
  fs::create_directories(live);
  std::ofstream(live / ".aiway-stress-owner") << fmt::format("aiway-stress-scratch {} {}\n", getpid(), start);
  // A dead run's folder: the pid of a child that has exited and been reaped.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  const fs::path dead = fs::path(tmp) / fmt::format("aiway-stress-{}-dead00", child);
  fs::create_directories(dead);
  std::ofstream(dead / ".aiway-stress-owner") << fmt::format("aiway-stress-scratch {} 1\n", child);
  // A folder named like ours, without a marker.
  const fs::path unmarked = fs::path(tmp) / "aiway-stress-1-abcdef";
  fs::create_directories(unmarked);

  const Outcome o = cli("run -s 1m-short -r 2 --warmup 0 --processes 2 -q --set backend.messages=1000",
                        fmt::format("env TMPDIR={}", tmp));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(fs::exists(foreign / "results.json")) << "another program's folder was removed";
  EXPECT_TRUE(fs::exists(live / ".aiway-stress-owner")) << "a live run's folder was removed";
  EXPECT_TRUE(fs::exists(unmarked)) << "a folder without a marker was removed";
  EXPECT_FALSE(fs::exists(dead)) << "a dead run's folder was left";
  // And the run's own folders are gone.
  EXPECT_EQ(entries_in(tmp), 3u);
}

// A target that cannot be started, or a run killed outright, leaves nothing
// in the temporary folder that a later run does not remove.
TEST(Reliability, NoTemporaryFolderOutlivesARun) {
  const std::string tmp = private_tmpdir("tmp-leak");
  const Outcome missing = cli(R"(run -s aiway-idle -r 1 --warmup 0 --set 'target.command=["/nonexistent/conductor"]')",
                              fmt::format("env TMPDIR={}", tmp));
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_EQ(entries_in(tmp), 0u) << "a target that cannot be started left files behind";
  // kill -9 in the middle of a target run: its folder stays, and the next run removes it.
  const Outcome killed = cli("run -s aiway-idle -r 1 --warmup 0 --set target.idle_ms=5000", fmt::format("env TMPDIR={} timeout -s KILL 1.5", tmp));
  EXPECT_EQ(killed.exit_code, 137) << killed.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // its conductor ends with it (PDEATHSIG)
  // Two repetitions in two processes: the parent makes a folder for its workers, and cleans up first.
  const Outcome next = cli("run -s 1m-short -r 2 --warmup 0 -q --processes 2 --set backend.messages=1000", fmt::format("env TMPDIR={}", tmp));
  EXPECT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(entries_in(tmp), 0u) << "a killed run's folder was not removed by the next run";
}

// The reference conductor on `socket`, once its socket is there (5 s at most).
pid_t start_conductor(const fs::path& socket) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl(AIWAY_CLI, AIWAY_CLI, "conductor", "--socket", socket.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500 && !fs::exists(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pid;
}

TEST(Reliability, AFileAtASocketPathIsNeverDeleted) {
  const fs::path file = scratch() / "v.txt";
  std::ofstream(file) << "data\n";
  const Outcome conductor = cli(fmt::format("conductor --socket {}", file.string()), "timeout 10");
  EXPECT_EQ(conductor.exit_code, 2) << conductor.err;
  EXPECT_NE(conductor.err.find(file.string()), std::string::npos) << conductor.err;
  EXPECT_NE(conductor.err.find("not a socket"), std::string::npos) << conductor.err;
  const Outcome run = cli(fmt::format("run -s aiway-burst -r 1 --warmup 0 --set backend.messages=100 --set target.socket={}", file.string()));
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("target.socket"), std::string::npos) << run.err;
  EXPECT_EQ(slurp(file), "data\n");
}

TEST(Reliability, ALiveConductorsSocketIsNeverTaken) {
  const fs::path socket = scratch() / "live.sock";
  const pid_t first = start_conductor(socket);
  ASSERT_TRUE(fs::exists(socket));
  struct stat before {};
  ASSERT_EQ(::stat(socket.c_str(), &before), 0);
  const Outcome second = cli(fmt::format("conductor --socket {}", socket.string()), "timeout 10");
  const Outcome run = cli(fmt::format("run -s aiway-burst -r 1 --warmup 0 --set backend.messages=100 --set target.socket={}", socket.string()));
  struct stat after {};
  const bool still_there = ::stat(socket.c_str(), &after) == 0;
  kill(first, SIGTERM);
  int status = 0;
  waitpid(first, &status, 0);
  EXPECT_EQ(second.exit_code, 2) << second.err;
  EXPECT_NE(second.err.find("listening"), std::string::npos) << second.err;
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("target.socket"), std::string::npos) << run.err;
  EXPECT_TRUE(still_there && after.st_ino == before.st_ino) << "the live conductor's socket was replaced";
  EXPECT_FALSE(fs::exists(socket)) << "the first conductor removes its own socket when it stops";
}

TEST(Reliability, ASocketPathThatCannotBeBoundIsAnInputError) {
  const Outcome missing = cli("conductor --socket /nonexistent-folder/x.sock", "timeout 10");
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("/nonexistent-folder"), std::string::npos) << missing.err;
  const Outcome folder = cli(fmt::format("conductor --socket {}", scratch().string()), "timeout 10");
  EXPECT_EQ(folder.exit_code, 2) << folder.err;
  EXPECT_NE(folder.err.find("folder"), std::string::npos) << folder.err;
  const Outcome run = cli("run -s aiway-idle -r 1 --warmup 0 --set target.socket=/nonexistent-folder/x.sock");
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("target.socket"), std::string::npos) << run.err;
}

TEST(Reliability, ConductorEnvironmentNumbersAreChecked) {
  const Outcome o = cli(fmt::format("conductor --socket {}", (scratch() / "c.sock").string()),
                        "env CONDUCTOR_MAX_MESSAGE_SIZE=-1 timeout 10");
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_NE(o.err.find("CONDUCTOR_MAX_MESSAGE_SIZE"), std::string::npos) << o.err;
}

TEST(Reliability, AMissingTemporaryFolderIsAnInputError) {
  const Outcome o = cli("run -s aiway-idle -r 1 --warmup 0", "env TMPDIR=/nonexistent-tmp");
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_NE(o.err.find("/nonexistent-tmp"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find("internal error"), std::string::npos) << o.err;
}

// One output on a full disk: the others are written, the run says which
// failed (exit 3) and where the results were kept.
TEST(Reliability, AFullDiskOnOneOutputCostsNoOther) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const fs::path tiny = scratch() / "tiny";
  fs::create_directories(tiny);
  if (::mount("tmpfs", tiny.c_str(), "tmpfs", 0, "size=4k") != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  std::ofstream(tiny / "filler") << std::string(4096, 'x');
  const fs::path ok = scratch() / "ok";
  fs::create_directories(ok);
  const std::string tmp = private_tmpdir("tmp-rescue");
  const Outcome o = cli(fmt::format("run -s 1m-short -r 1 --warmup 0 --set backend.messages=1000 --out {} --out-markdown {}",
                                    (tiny / "r.json").string(), (ok / "o.md").string()),
                        fmt::format("env TMPDIR={}", tmp));
  ::umount(tiny.c_str());
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_TRUE(fs::exists(ok / "o.md")) << o.err;
  EXPECT_NE(o.err.find((tiny / "r.json").string()), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("results are kept in " + tmp), std::string::npos) << o.err;
  bool rescued = false;
  for (const auto& e : fs::directory_iterator(tmp))
    rescued |= e.path().filename().string().starts_with("aiway-stress-results-") &&
               json::parse(slurp(e.path()))["scenarios"][0]["name"] == "1m-short";
  EXPECT_TRUE(rescued);
}

TEST(Reliability, AReplacedResultsFileKeepsItsMode) {
  const fs::path out = scratch() / "private.json";
  std::ofstream(out) << "{}";
  fs::permissions(out, fs::perms::owner_read | fs::perms::owner_write);
  const Outcome o = cli(fmt::format("run -s 1m-short -r 1 --warmup 0 -q --set backend.messages=1000 --out {}", out.string()));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(slurp(out).find("1m-short"), std::string::npos);
}

// A repetition bound to a common start time is never re-run after it (the
// lateness would land in every stream's TTFT): kept, and marked disturbed.
// measure.max_foreign_cpu = 0 calls any other work on the machine a
// disturbance, so a re-run would be due in nearly every repetition.
TEST(Reliability, AShardBoundToACommonStartIsNotReRunLate) {
  const fs::path out = scratch() / "shard.json";
  const Outcome o = cli(fmt::format("run -s sse-direct -r 2 --warmup 0 -q --shard 1/2 --start-at {} --set target.start_every_s=1 "
                                    "--set backend.streams=4 --set backend.messages=20 --set measure.max_foreign_cpu=0 --out {}",
                                    std::time(nullptr) + 2, out.string()));
  ASSERT_TRUE(fs::exists(out)) << o.err;
  const json s = json::parse(slurp(out))["scenarios"][0];
  EXPECT_EQ(s["repetitions"].size(), 2u);
  EXPECT_TRUE(s["disturbed_reruns"].empty()) << s["disturbed_reruns"].dump();
  for (const json& rep : s["repetitions"]) EXPECT_TRUE(rep["metrics"].contains("foreign_cpu_share")) << "the mark is kept";
}

// A fixed port that something already listens on is refused: the run would
// measure whatever listens there, not the proxy it starts.
TEST(Reliability, AnOccupiedFixedProxyPortIsRefused) {
  const fs::path port_file = scratch() / "port";
  const pid_t holder = fork();
  if (holder == 0) {
    execlp("python3", "python3", "-c",
           ("import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\n"
            "open('" + port_file.string() + "','w').write(str(s.getsockname()[1]))\ntime.sleep(60)").c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500 && slurp(port_file).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string port = slurp(port_file);
  const Outcome o = cli(fmt::format("run -s sse-direct -r 1 --warmup 0 --set 'target.command=[\"sleep\",\"5\"]' "
                                    "--set target.url=http://127.0.0.1:{}/v1/chat/completions",
                                    port));
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  ASSERT_FALSE(port.empty());
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_NE(o.err.find("target.url"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("already taken"), std::string::npos) << o.err;
}

TEST(Reliability, ACommonStartBeyondTheTimeoutIsRefused) {
  const Outcome o = cli(fmt::format("run -s sse-direct -r 1 --warmup 0 --start-at {}", std::time(nullptr) + 86400));
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_NE(o.err.find("target.start_at"), std::string::npos) << o.err;
}

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_answers(std::uint16_t port) {
  return std::system(fmt::format("bash -c 'exec 3<>/dev/tcp/127.0.0.1/{}' 2>/dev/null", port).c_str()) == 0;
}

// Another user of the machine cannot bend a run through the harness's
// upstream port: its request is refused (403), counted, and the run's books
// are untouched.
TEST(Reliability, AStrangersRequestToTheUpstreamChangesNoFigure) {
  if (geteuid() != 0) GTEST_SKIP() << "acting as another user (nobody) needs root";
  const std::uint16_t port = free_loopback_port();
  const fs::path out = scratch() / "stranger.json";
  // A repetition the stranger disturbed is kept, not re-run without it.
  const std::string run = fmt::format("{} --scenarios-dir {} run -s aiway-paced -r 1 --warmup 0 -q --set backend.messages=3000 "
                                      "--set upstream.listen=127.0.0.1:{} --set measure.rerun_disturbed=0 {} --out {} >/dev/null 2>&1",
                                      AIWAY_CLI, AIWAY_SCENARIOS_DIR, port, kNoConductorTimingLimits, out.string());
  const pid_t runner = fork();
  if (runner == 0) _exit(WEXITSTATUS(std::system(run.c_str())));
  bool up = false;
  for (int i = 0; i < 500 && !(up = port_answers(port)); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const fs::path answer = scratch() / "stranger-answer.txt";
  fs::permissions(scratch(), fs::perms::all);  // nobody writes its answer here
  // The stranger's request, as a script nobody can read and run.
  const fs::path script = scratch() / "stranger.sh";
  std::ofstream(script) << "body='{\"model\":\"yollayah\",\"prompt\":\"hello\",\"stream\":true}'\n"
                        << "exec 3<>/dev/tcp/127.0.0.1/" << port << "\n"
                        << "printf 'POST /api/generate HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\n"
                           "Content-Length: %d\\r\\n\\r\\n%s' ${#body} \"$body\" >&3\n"
                        << "timeout 5 head -c 200 <&3 > " << answer.string() << "\n";
  fs::permissions(script, fs::perms::all);
  std::system(fmt::format("setpriv --reuid=nobody --regid=nogroup --clear-groups bash {}", script.string()).c_str());
  int status = 0;
  waitpid(runner, &status, 0);
  ASSERT_TRUE(up) << "the run's upstream never listened on " << port;
  EXPECT_NE(slurp(answer).find("403"), std::string::npos) << slurp(answer);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(fs::exists(out));
  const json m = json::parse(slurp(out))["scenarios"][0]["repetitions"][0]["metrics"];
  EXPECT_GE(m.value("foreign_requests", 0.0), 1.0) << m.dump();
  EXPECT_EQ(m.value("corrupted", -1.0), 0);
  EXPECT_EQ(m.value("missing_at_surface", -1.0), 0);
  EXPECT_EQ(m.value("upstream_requests", -1.0), 1) << "the stranger's request was served from the books";
}

// Hundreds of idle connections to the upstream cost no thread each beyond
// its cap: the rest are closed at once and counted, and the run is whole.
TEST(Reliability, IdleConnectionsToTheUpstreamAreCappedAndCounted) {
  const std::uint16_t port = free_loopback_port();
  const fs::path out = scratch() / "flood.json";
  // The surface idles 8 s before it asks: the flood below comes while the
  // upstream listens, and the conductor's request after it. A repetition the
  // flood disturbed is kept, not re-run without it.
  const std::string run = fmt::format("{} --scenarios-dir {} run -s aiway-paced -r 1 --warmup 0 -q --set backend.messages=1000 "
                                      "--set target.idle_ms=8000 --set upstream.listen=127.0.0.1:{} --set measure.rerun_disturbed=0 {} --out {} >/dev/null 2>&1",
                                      AIWAY_CLI, AIWAY_SCENARIOS_DIR, port, kNoConductorTimingLimits, out.string());
  const pid_t runner = fork();
  if (runner == 0) _exit(WEXITSTATUS(std::system(run.c_str())));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const auto connect_once = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    ::close(fd);
    return -1;
  };
  std::vector<int> idle;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000 && idle.empty(); ++i) {
    if (const int fd = connect_once(); fd >= 0) idle.push_back(fd);
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  while (!idle.empty() && idle.size() < 300)
    if (const int fd = connect_once(); fd >= 0) idle.push_back(fd);
    else break;
  const double flood_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int status = 0;
  waitpid(runner, &status, 0);
  for (const int fd : idle) ::close(fd);
  ASSERT_EQ(idle.size(), 300u) << "the upstream did not take 300 connections";
  if (flood_s > 6) GTEST_SKIP() << "the flood took " << flood_s << " s on a busy machine: it may have overlapped the request";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(fs::exists(out));
  const json m = json::parse(slurp(out))["scenarios"][0]["repetitions"][0]["metrics"];
  // The cap is 2 per planned stream + 64: 66 here; the conductor's one made room for itself.
  EXPECT_GE(m.value("upstream_connections_refused", 0.0), 300.0 - 66) << m.dump();
  EXPECT_EQ(m.value("upstream_requests", -1.0), 1);
  EXPECT_EQ(m.value("missing_at_surface", -1.0), 0);
}

// One surface that asks without reading, or floods bad frames, never wedges
// the reference conductor: after it, a well-behaved surface is greeted.
TEST(Reliability, OneGreedySurfaceDoesNotWedgeTheConductor) {
  const fs::path socket = scratch() / "greedy.sock";
  const pid_t conductor = start_conductor(socket);
  const std::string client = fmt::format("python3 {}/tests/targets/greedy_surface.py", AIWAY_SOURCE_DIR);
  const auto probe = [&] { return WEXITSTATUS(std::system(fmt::format("{} probe {}", client, socket.string()).c_str())); };
  const int before = probe();
  std::system(fmt::format("{} flood {} 3", client, socket.string()).c_str());
  const int after_flood = probe();
  std::system(fmt::format("{} badcrc {} 3", client, socket.string()).c_str());
  const int after_bad_frames = probe();
  kill(conductor, SIGTERM);
  int status = 0;
  waitpid(conductor, &status, 0);
  EXPECT_EQ(before, 0) << "the probe itself does not work";
  EXPECT_EQ(after_flood, 0) << "a surface that asked for 3 s without reading wedged the conductor";
  EXPECT_EQ(after_bad_frames, 0) << "bursts of bad frames wedged the conductor";
}

// A proxy that daemonizes (nginx without "daemon off;") leaves the process
// the harness started: the harness finds it (a child subreaper), ends it and
// its workers, and names it in the failure.
TEST(Reliability, AProxyThatDaemonizesIsFoundAndEnded) {
  if (!have_nginx()) GTEST_SKIP() << "nginx is not installed (scripts/test.sh installs the Debian package)";
  std::string config = slurp(fs::path(AIWAY_SCENARIOS_DIR) / "nginx" / "proxy.conf.in");
  const std::size_t at = config.find("daemon off;");
  ASSERT_NE(at, std::string::npos);
  config.erase(at, std::string("daemon off;").size());
  const fs::path conf = scratch() / "daemon.conf.in";
  std::ofstream(conf) << config;
  const std::string tmp = private_tmpdir("tmp-daemon");
  const Outcome o = cli(fmt::format("run -s sse-nginx -r 1 --warmup 0 --set backend.streams=2 --set backend.messages=20 "
                                    "--set target.config_template={}", conf.string()),
                        fmt::format("env TMPDIR={}", tmp));
  EXPECT_EQ(o.exit_code, 3) << o.out << o.err;
  EXPECT_NE(o.err.find("outside its group"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("nginx"), std::string::npos) << o.err;
  // No nginx of this run is left: none whose prefix is in this test's folder.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // "[n]ginx" never matches pgrep's own shell, whose command line holds the pattern.
  const int left = std::system(fmt::format("pgrep -f '[n]ginx.*{}' >/dev/null", tmp).c_str());
  EXPECT_NE(WEXITSTATUS(left), 0) << "an nginx of this run is still running";
  EXPECT_EQ(entries_in(tmp), 0u);
}

}  // namespace
