#include "targets/process/target_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "measure/clock.hpp"

extern char** environ;

namespace aiway {

namespace {

// The fields of a /proc/.../stat file after the command name (which may hold
// spaces and parentheses), from field 3 (the state) on; none once it is gone.
std::optional<std::string> stat_fields(const std::filesystem::path& stat_file) {
  std::ifstream stat(stat_file);
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return std::nullopt;
  return line.substr(close + 2);
}

std::optional<ProcSample> sample_one(pid_t pid) {
  const std::optional<std::string> fields = stat_fields(fmt::format("/proc/{}/stat", pid));
  if (!fields) return std::nullopt;
  std::istringstream rest(*fields);
  std::string field;
  unsigned long long utime = 0, stime = 0;
  long long rss_pages = 0;
  for (int i = 3; i <= 24 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
    if (i == 24) rss_pages = std::stoll(field);
  }
  const double ticks = double(::sysconf(_SC_CLK_TCK));
  return ProcSample{double(utime + stime) / ticks, rss_pages * ::sysconf(_SC_PAGESIZE)};
}

bool one_thread_runnable(pid_t pid) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks(fmt::format("/proc/{}/task", pid), ec);
  if (ec) return false;
  for (const auto& task : tasks) {
    const std::optional<std::string> fields = stat_fields(task.path() / "stat");  // none: the thread ended meanwhile
    if (fields && fields->front() == 'R') return true;
  }
  return false;
}

// The process and every live descendant (a proxy's workers), from the
// children lists of its threads.
std::vector<pid_t> process_tree(pid_t root) {
  std::vector<pid_t> tree{root};
  for (std::size_t i = 0; i < tree.size() && tree.size() < 4096; ++i) {
    std::error_code ec;
    std::filesystem::directory_iterator tasks(fmt::format("/proc/{}/task", tree[i]), ec);
    if (ec) continue;
    for (const auto& task : tasks) {
      std::ifstream children(task.path() / "children");
      for (pid_t child; children >> child;) tree.push_back(child);
    }
  }
  return tree;
}

// This process's live children, from /proc/*/stat (field 4, the parent).
std::vector<pid_t> children_of_this_process() {
  std::vector<pid_t> children;
  const pid_t self = ::getpid();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::optional<std::string> fields = stat_fields(entry.path() / "stat");
    if (!fields) continue;
    std::istringstream rest(*fields);
    char state = 0;
    long parent = 0;
    if (rest >> state >> parent && parent == self && state != 'Z') children.push_back(pid_t(std::stol(name)));
  }
  return children;
}

std::string command_name(pid_t pid) {
  std::ifstream comm(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(comm, name);
  return name.empty() ? "?" : name;
}

}  // namespace

std::optional<ProcSample> sample_process(pid_t pid) {
  std::optional<ProcSample> total = sample_one(pid);
  if (!total) return std::nullopt;
  const std::vector<pid_t> tree = process_tree(pid);
  for (std::size_t i = 1; i < tree.size(); ++i)
    if (const auto s = sample_one(tree[i])) {
      total->cpu_s += s->cpu_s;
      total->rss_bytes += s->rss_bytes;
    }
  return total;
}

std::optional<bool> any_thread_runnable(pid_t pid) {
  if (!std::filesystem::exists(fmt::format("/proc/{}", pid))) return std::nullopt;
  for (const pid_t p : process_tree(pid))
    if (one_thread_runnable(p)) return true;
  return false;
}

std::string substitute(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values)
    for (std::size_t at = 0; (at = text.find(key, at)) != std::string::npos; at += value.size()) text.replace(at, key.size(), value);
  return text;
}

ProcessSampler::ProcessSampler(pid_t pid, double interval_ms) : pid_(pid), interval_ns_(std::int64_t(interval_ms * 1e6)) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      if (const auto s = sample_process(pid_)) peak_ = std::max(peak_.load(), s->rss_bytes);
      if (const auto r = any_thread_runnable(pid_)) {
        runnable_.fetch_add(*r ? 1 : 0);
        samples_.fetch_add(1);  // after runnable_: a snapshot never sees more runnable than samples
      }
      sleep_ns(interval_ns_);
    }
  });
}

RunnableCount ProcessSampler::counts() const {
  RunnableCount c;
  c.samples = samples_.load();
  c.runnable = std::min(runnable_.load(), c.samples);
  return c;
}

std::int64_t ProcessSampler::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return peak_.load();
}

TargetProcess::TargetProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                             const std::filesystem::path& folder) {
  if (argv.empty()) throw std::runtime_error("the target command is empty");
  log_path_ = (folder / "target.log").string();
  const int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (log < 0) throw std::runtime_error(fmt::format("cannot create the target's log file {}: {}", log_path_, std::strerror(errno)));
  // The child reports a failed exec through this pipe (closed on a successful exec).
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    ::close(log);
    throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  }
  std::vector<std::string> environment;
  for (char** e = environ; *e; ++e) environment.emplace_back(*e);
  for (const auto& kv : env) {
    const std::string name = kv.substr(0, kv.find('='));
    std::erase_if(environment, [&](const std::string& e) { return e.compare(0, name.size() + 1, name + "=") == 0; });
    environment.push_back(kv);
  }
  // Whatever the target forks, even a daemon that leaves its process group
  // and session, becomes this process's child when its parent exits, so the
  // harness finds and ends it (end_strays). What was our child before is not the target's.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  children_before_ = children_of_this_process();
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) {
    const int error = errno;
    ::close(log);
    ::close(report[0]);
    ::close(report[1]);
    throw std::runtime_error(fmt::format("fork: {}", std::strerror(error)));
  }
  if (pid_ == 0) {
    ::setpgid(0, 0);  // its own group: a stop reaches its children too
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a harness killed outright leaves no conductor behind
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(args[0], args.data(), envp.data());
    const int error = errno;
    [[maybe_unused]] ssize_t ignored = ::write(report[1], &error, sizeof error);
    ::_exit(127);
  }
  ::close(log);
  ::close(report[1]);
  int error = 0;
  const ssize_t n = ::read(report[0], &error, sizeof error);
  ::close(report[0]);
  if (n == sizeof error) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    throw std::runtime_error(fmt::format("cannot start the target {}: {}", argv[0], std::strerror(error)));
  }
}

TargetProcess::~TargetProcess() {
  if (pid_ > 0 && running()) stop(500);
  end_strays(500);
}

void TargetProcess::end_strays(double grace_ms) {
  if (pid_ <= 0) return;
  auto strays = [&] {
    std::vector<pid_t> found;
    for (const pid_t child : children_of_this_process())
      if (child != pid_ && std::find(children_before_.begin(), children_before_.end(), child) == children_before_.end())
        found.push_back(child);
    return found;
  };
  std::vector<pid_t> left = strays();
  if (left.empty()) return;
  for (const pid_t p : left) {
    strays_ += fmt::format("{}{} (pid {})", strays_.empty() ? "" : ", ", command_name(p), p);
    ::kill(-p, SIGTERM);  // a daemon leads a group of its own: its workers go with it
    ::kill(p, SIGTERM);
  }
  const std::int64_t deadline = monotonic_ns() + std::int64_t(grace_ms * 1e6);
  while (!left.empty() && monotonic_ns() < deadline) {
    for (const pid_t p : left) ::waitpid(p, nullptr, WNOHANG);  // only those: never another child's status
    sleep_ns(5'000'000);
    left = strays();
  }
  for (const pid_t p : left) {
    ::kill(-p, SIGKILL);
    ::kill(p, SIGKILL);
  }
  for (const pid_t p : left) ::waitpid(p, nullptr, 0);
}

void TargetProcess::reap(int status) {
  if (WIFEXITED(status)) {
    exit_value_ = WEXITSTATUS(status);
    ended_ = fmt::format("exit {}", WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    exit_value_ = -WTERMSIG(status);
    ended_ = fmt::format("killed by {}", sigabbrev_np(WTERMSIG(status)) ? fmt::format("SIG{}", sigabbrev_np(WTERMSIG(status)))
                                                                          : std::to_string(WTERMSIG(status)));
  }
}

bool TargetProcess::running() {
  if (pid_ <= 0 || exit_value_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reap(status);
    return false;
  }
  return r == 0;
}

bool TargetProcess::ends_within(double ms) {
  const std::int64_t deadline = monotonic_ns() + std::int64_t(ms * 1e6);
  while (running()) {
    if (monotonic_ns() >= deadline) return false;
    sleep_ns(2'000'000);
  }
  return true;
}

void TargetProcess::stop(double grace_ms) {
  if (!running()) {
    end_strays(grace_ms);
    return;
  }
  ::kill(-pid_, SIGTERM);
  ::kill(pid_, SIGTERM);
  if (ends_within(grace_ms)) {
    end_strays(grace_ms);
    return;
  }
  killed_ = true;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_) reap(status);
  end_strays(grace_ms);
}

std::string TargetProcess::how_it_ended() const {
  const std::string ended = ended_.empty() ? "still running" : ended_;
  return strays_.empty() ? ended : fmt::format("{}; it had left processes running outside its group, ended by the harness: {}", ended, strays_);
}

std::string TargetProcess::output_tail(std::size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "…" + text.substr(text.size() - max_bytes);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "(it wrote nothing)" : text;
}

}  // namespace aiway
