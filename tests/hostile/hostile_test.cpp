// The hostile-input corpus: what a careless or hostile user types, and what a
// machine does to files, each case run through the CLI. Every case asserts
// the exit code, that the message names the place (file, file:line:column,
// option or field), and that no file that existed before changed: not its
// type, not its content, not its time (nothing is replaced that the user did
// not ask to replace, and nothing hangs: a FIFO is opened, never waited on).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace {

struct Case {
  std::string name;   // the test's name
  std::string args;   // aiway-stress arguments; {d} is the scratch folder
  int exit_code;
  std::string where;  // must appear in stderr (the location); {d} as above; '|' separates several parts
};

std::string expand(std::string s, const fs::path& d) {
  for (std::size_t at; (at = s.find("{d}")) != std::string::npos;) s.replace(at, 3, d.string());
  return s;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* kResults = R"({"schema": "aiway-stress/results/v1",
 "tool": {"name": "aiway-stress", "version": "0.1.0", "git": "abc", "compiler": "g++ 12.2.0", "build_type": "Release", "allocator": "mimalloc"},
 "machine": {"fingerprint": "f", "hostname": "h", "cpu_model": "AMD EPYC", "logical_cpus": 2, "memory_bytes": 1, "kernel": "Linux", "calibration_score": null},
 "started_at": "2026-11-27T06:00:00Z", "interrupted": false, "passed": true,
 "scenarios": [{"name": "1m-short", "passed": true, "repetitions": [{"metrics": {"throughput_tps": 1.5e6, "latency_p99_us": 20}}]}]})";

std::string results_with(const std::string& scenarios) {
  std::string r = kResults;
  return r.substr(0, r.find("\"scenarios\":")) + "\"scenarios\": " + scenarios + "}";
}

// The scratch folder every case starts from: good inputs, and every kind of
// file a path must not be taken for.
fs::path prepare() {
  const fs::path d = fs::temp_directory_path() / fmt::format("aiway-hostile-{}", getpid());
  fs::remove_all(d);
  fs::create_directories(d / "dir");
  std::ofstream(d / "keep.txt") << "do not touch\n";
  std::ofstream(d / "good.json") << kResults;
  std::ofstream(d / "other.json") << kResults;
  std::ofstream(d / "good.toml") << "name = \"good\"\n[backend]\nmessages = 1000\n";
  std::ofstream(d / "empty.json") << results_with("[]");
  std::ofstream(d / "norep.json") << results_with(R"([{"name": "a", "passed": false, "repetitions": []}])");
  std::ofstream(d / "twice.json") << results_with(
      R"([{"name": "a", "passed": true, "repetitions": [{"metrics": {"throughput_tps": 1}}]},
          {"name": "a", "passed": true, "repetitions": [{"metrics": {"throughput_tps": 1}}]}])");
  std::string deep = "{\"x\": ";
  for (int i = 0; i < 100000; ++i) deep += "[";
  for (int i = 0; i < 100000; ++i) deep += "]";
  std::ofstream(d / "deep.json") << results_with(
      R"([{"name": "a", "passed": true, "config": )" + deep + R"(}, "repetitions": [{"metrics": {"throughput_tps": 1}}]}])");
  std::ofstream(d / "stall-ms.toml") << "name = \"x\"\n[faults]\nbackend_stall_at = 10\n";
  std::ofstream(d / "surface-stall-ms.toml") << "name = \"x\"\n[faults]\nsurface_stall_at = 10\n";
  std::ofstream(d / "error-at.toml") << "[backend]\nmessages = 100\n[faults]\nerror_at = 200\n";
  std::ofstream(d / "arrival.toml") << "[backend]\narrival = \"poisson\"\n";
  std::ofstream(d / "long.jsonl") << "{\"t_us\": 200000000, \"stream\": 0, \"text\": \"x\"}\n";
  mkfifo((d / "fifo").c_str(), 0644);
  mkfifo((d / "fifo.toml").c_str(), 0644);
  fs::create_symlink("/dev/null", d / "link-to-dev");
  fs::create_symlink(d / "fifo", d / "link-to-fifo");
  fs::create_symlink(d / "nowhere", d / "dangling");
  // Sparse files larger than a scenario (1 MiB) or results file (512 MiB) may be.
  for (const auto& [name, size] : {std::pair{"huge.toml", 2 << 20}, std::pair{"huge.json", 600 << 20}}) {
    const int fd = ::open((d / name).c_str(), O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) {
      if (::ftruncate(fd, off_t(size)) != 0) ADD_FAILURE() << "ftruncate " << name;
      ::close(fd);
    }
  }
  return d;
}

// What the folder holds: name -> (type, size, mtime, content of small regular files).
std::map<std::string, std::string> snapshot(const fs::path& d) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(d)) {
    if (e.path().filename() == "out" || e.path().filename() == "err") continue;
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    std::string content;
    if (S_ISREG(st.st_mode) && st.st_size < (1 << 20)) content = slurp(e.path());
    out[e.path().string()] = fmt::format("mode {:o} size {} mtime {}.{} {}", st.st_mode, st.st_size, st.st_mtim.tv_sec,
                                         st.st_mtim.tv_nsec, content);
  }
  return out;
}

std::vector<Case> corpus() {
  std::vector<Case> cases;
  // 1. Outputs that are not new or regular files, per output option.
  const std::vector<std::pair<std::string, std::string>> outputs = {
      {"run_out", "run -s 1m-short -r 1 --out {}"},
      {"run_markdown", "run -s 1m-short -r 1 --out-markdown {}"},
      {"run_junit", "run -s 1m-short -r 1 --out-junit {}"},
      {"run_gbench", "run -s 1m-short -r 1 --out-gbench {}"},
      {"save_baseline", "run -s 1m-short -r 1 --save-baseline {}"},
      {"report_html", "report {d}/good.json --html {}"},
      {"baseline_out", "baseline update --from {d}/good.json --out {}"},
  };
  const std::vector<std::tuple<std::string, std::string, std::string>> bad_outputs = {
      {"fifo", "{d}/fifo", "{d}/fifo: exists and is not a regular file (a FIFO)"},
      {"device", "{d}/link-to-dev", "{d}/link-to-dev: exists and is not a regular file (a character device)"},
      {"directory", "{d}/dir", "{d}/dir: exists and is not a regular file (a directory)"},
      {"dangling_symlink", "{d}/dangling", "{d}/dangling: is a symlink to nothing"},
      {"missing_folder", "{d}/no-such-folder/x.json", "{d}/no-such-folder/x.json: cannot write in"},
      {"empty", "''", "an empty path names no file"},
  };
  for (const auto& [option, command] : outputs)
    for (const auto& [kind, path, message] : bad_outputs) {
      std::string args = command;
      args.replace(args.find("{}"), 2, path);
      cases.push_back({"output_" + option + "_" + kind, args, 2, message});
    }
  // Two outputs on one file, and an output that is an input.
  cases.push_back({"output_twice", "run -s 1m-short -r 1 --out {d}/a.json --out-markdown {d}/a.json", 2,
                   "--out-markdown {d}/a.json: is also the file of --out"});
  cases.push_back({"output_is_input_report", "report {d}/good.json --html {d}/good.json", 2,
                   "--html {d}/good.json: is also an input of this command"});
  cases.push_back({"output_is_input_baseline", "baseline update --from {d}/good.json --out {d}/good.json", 2,
                   "--out {d}/good.json: is also an input of this command"});
  cases.push_back({"output_is_input_run_baseline", "run -s 1m-short -r 1 --baseline {d}/good.json --out {d}/good.json", 2,
                   "--out {d}/good.json: is also an input of this command"});
  cases.push_back({"output_is_scenario", "run -s {d}/good.toml -r 1 --out-markdown {d}/good.toml", 2,
                   "--out-markdown {d}/good.toml: is also an input of this command"});

  // 2. Inputs that are not regular files, or too large, per input position.
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"compare_base", "compare {} {d}/good.json"},   {"compare_new", "compare {d}/good.json {}"},
      {"report", "report {} --html {d}/r.html"},       {"report_baseline", "report {d}/good.json --baseline {} --html {d}/r.html"},
      {"baseline_from", "baseline update --from {} --out {d}/b.json"},
      {"run_scenario", "run -s {} -r 1"},              {"validate", "validate {}"},
      {"show", "show {}"},
  };
  const std::vector<std::tuple<std::string, std::string, std::string, bool>> bad_inputs = {
      {"fifo", "{d}/fifo", "{d}/fifo: is not a regular file (a FIFO)", true},
      {"fifo_toml", "{d}/fifo.toml", "{d}/fifo.toml: is not a regular file (a FIFO)", true},
      {"symlink_to_fifo", "{d}/link-to-fifo", "{d}/link-to-fifo: is not a regular file (a FIFO)", true},
      {"device", "/dev/zero", "/dev/zero: is not a regular file (a character device)", true},
      {"directory", "{d}/dir", "{d}/dir: is a directory", true},
      {"missing", "{d}/missing.json", "{d}/missing.json: no such", true},
  };
  for (const auto& [position, command] : inputs)
    for (const auto& [kind, path, message, any] : bad_inputs) {
      std::string args = command;
      args.replace(args.find("{}"), 2, path);
      cases.push_back({"input_" + position + "_" + kind, args, 2, message});
    }
  cases.push_back({"input_results_too_large", "compare {d}/huge.json {d}/good.json", 2,
                   "{d}/huge.json: 629145600 bytes is larger than a results file may be (512 MiB)"});
  cases.push_back({"input_scenario_too_large", "validate {d}/huge.toml", 2,
                   "{d}/huge.toml: 2097152 bytes is larger than a scenario file may be (1 MiB)"});

  // 3. Deeply nested JSON: a clear error, never a stack overflow.
  for (const auto& [name, command] : {std::pair{"compare", "compare {d}/deep.json {d}/good.json"},
                                      std::pair{"report", "report {d}/deep.json --html {d}/r.html"},
                                      std::pair{"baseline", "baseline update --from {d}/deep.json --out {d}/b.json"}})
    cases.push_back({std::string("nested_") + name, command, 2,
                     "{d}/deep.json: scenarios[0].config.x[0][0][0]|]: nested too deeply (more than 64 levels)"});

  // 7. Text: --set values are one TOML value on one line, in UTF-8.
  const std::vector<std::tuple<std::string, std::string, std::string>> texts = {
      {"newline", "'backend.streams=2\nmessages=5\n[bogus]'", "a control character"},
      {"tab", "$'backend.streams=2\\t'", "a control character"},
      {"invalid_utf8", "$'name=\\xff\\xfe'", "not valid UTF-8"},
      {"truncated_utf8", "$'name=caf\\xc3'", "not valid UTF-8"},
      {"overlong_utf8", "$'name=\\xc0\\xaf'", "not valid UTF-8"},
      {"trailing_text", "backend.streams=2x", "--set backend.streams=2x: backend.streams: expected an integer"},
      {"no_equals", "backend.streams", "--set backend.streams: expected SECTION.KEY=VALUE"},
      {"unknown_key", "backend.nope=1", "--set backend.nope=1: unknown key \"backend.nope\""},
      {"unknown_section", "nope.x=1", "--set nope.x=1: unknown section [nope]"},
      {"out_of_range", "backend.streams=0", "--set backend.streams=0: backend.streams: expected an integer from 1 to 4096"},
  };
  for (const auto& [kind, value, message] : texts) {
    cases.push_back({"set_run_" + kind, "run -s 1m-short -r 1 --set " + value, 2, message});
    cases.push_back({"set_show_" + kind, "show 1m-short --set " + value, 2, message});
  }

  // 9. Cross-field checks point at the field the file set.
  cases.push_back({"cross_backend_stall", "validate {d}/stall-ms.toml", 2,
                   "{d}/stall-ms.toml:3:1: faults.backend_stall_ms: must be positive when faults.backend_stall_at is set"});
  cases.push_back({"cross_surface_stall", "validate {d}/surface-stall-ms.toml", 2,
                   "{d}/surface-stall-ms.toml:3:1: faults.surface_stall_ms: must be positive"});
  cases.push_back({"cross_error_at", "validate {d}/error-at.toml", 2, "{d}/error-at.toml:4:1: faults.error_at: must be at most"});
  cases.push_back({"cross_arrival", "validate {d}/arrival.toml", 2, "{d}/arrival.toml:2:1: backend.arrival: random arrivals need a rate"});

  // 10. Results files the gate must not accept.
  cases.push_back({"gate_empty_base", "compare {d}/empty.json {d}/good.json", 2, "the base results hold no scenario"});
  cases.push_back({"gate_empty_new", "compare {d}/good.json {d}/empty.json", 2, "the new results hold no scenario"});
  cases.push_back({"gate_empty_new_fail_on_inconclusive", "compare {d}/good.json {d}/empty.json --fail-on-inconclusive", 2,
                   "the new results hold no scenario"});
  cases.push_back({"gate_no_repetitions", "compare {d}/norep.json {d}/norep.json", 2, "a: the base side has no repetitions"});
  cases.push_back({"baseline_empty", "baseline update --from {d}/empty.json --out {d}/b.json", 2,
                   "{d}/empty.json: holds no scenario: an empty run is no baseline"});
  cases.push_back({"baseline_no_repetitions", "baseline update --from {d}/norep.json --out {d}/b.json", 2,
                   "{d}/norep.json: scenario a has no repetition"});
  cases.push_back({"baseline_duplicate_scenario", "baseline update --from {d}/twice.json --out {d}/b.json", 2,
                   "{d}/twice.json: scenarios[1]: scenario a appears twice"});
  cases.push_back({"trace_longer_than_timeout", "run -s trace-replay -r 1 --set backend.trace={d}/long.jsonl", 2,
                   "backend.trace|beyond the repetition's timeout_s"});
  cases.push_back({"config_template_fifo", "run -s sse-nginx -r 1 --set target.config_template={d}/fifo", 2,
                   "target.config_template: not a regular file"});
  cases.push_back({"compare_duplicate_scenario", "compare {d}/twice.json {d}/good.json", 2,
                   "{d}/twice.json: scenarios[1]: scenario a appears twice"});
  cases.push_back({"baseline_same_source_twice", "baseline update --from {d}/good.json --from {d}/good.json --out {d}/b.json", 2,
                   "--from {d}/good.json: given twice"});
  // 6. Memory: valid scenarios too large for the machine are refused with the estimate.
  cases.push_back({"memory_streams", "run -s 1m-short -r 1 --set backend.streams=4096", 2,
                   "scenario 1m-short needs about|transcripts: 4096 streams x 10 MiB|half the memory this process can have"});
  cases.push_back({"memory_token_size", "run -s 1m-short -r 1 --set backend.size=16000000 --set backend.messages=100", 2,
                   "channels: 20000 slots x 16000112 bytes"});
  cases.push_back({"memory_capacity_budget", "run -s 1m-short -r 1 --set channel.capacity=10000000 --set measure.max_memory_mib=100", 2,
                   "--set measure.max_memory_mib=100: scenario 1m-short needs about|its measure.max_memory_mib of 100 MiB"});
  cases.push_back({"sweep_field_twice", "run -s 1m-short -r 1 --sweep backend.size=5,10 --sweep backend.size=20", 2,
                   "--sweep backend.size=20: backend.size is swept twice"});
  {
    std::string sizes, streams;
    for (int i = 1; i <= 101; ++i) sizes += (i > 1 ? "," : "") + std::to_string(i);
    for (int i = 1; i <= 100; ++i) streams += (i > 1 ? "," : "") + std::to_string(i);
    cases.push_back({"sweep_grid_too_large", "run -s 1m-short -r 1 --sweep backend.size=" + sizes + " --sweep backend.streams=" + streams,
                     2, "the grid would have 10100 combinations, more than 10000"});
  }
  cases.push_back({"threshold_unknown_metric", "compare {d}/good.json {d}/other.json --threshold nope=0.1", 2,
                   "--threshold nope=0.1: nope is not a compared metric"});
  return cases;
}

class Hostile : public ::testing::TestWithParam<Case> {};

TEST_P(Hostile, ClearErrorNothingChanged) {
  const Case& c = GetParam();
  const fs::path d = prepare();
  const auto before = snapshot(d);
  const std::string command = fmt::format("cd {} && timeout -s KILL 60 {} --scenarios-dir {} {} >{} 2>{}", d.string(),
                                          AIWAY_CLI, AIWAY_SCENARIOS_DIR, expand(c.args, d), (d / "out").string(),
                                          (d / "err").string());
  const int status = std::system(("bash -c " + std::string("\"") + [&] {
                                   std::string escaped;
                                   for (char ch : command) {
                                     if (ch == '"' || ch == '\\' || ch == '$' || ch == '`') escaped += '\\';
                                     escaped += ch;
                                   }
                                   return escaped;
                                 }() + "\"").c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const std::string err = slurp(d / "err");
  EXPECT_NE(code, 137) << "killed after 60 s: it hung";
  EXPECT_EQ(code, c.exit_code) << expand(c.args, d) << "\n" << err;
  std::string where = expand(c.where, d);
  for (std::size_t from = 0, bar; from <= where.size(); from = bar + 1) {
    bar = where.find('|', from);
    if (bar == std::string::npos) bar = where.size();
    const std::string part = where.substr(from, bar - from);
    EXPECT_NE(err.find(part), std::string::npos) << "expected: " << part << "\ngot: " << err;
  }
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line, not a trace: " << err;
  EXPECT_EQ(snapshot(d), before) << "a pre-existing file changed";
  fs::remove_all(d);
}

INSTANTIATE_TEST_SUITE_P(Corpus, Hostile, ::testing::ValuesIn(corpus()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
