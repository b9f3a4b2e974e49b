// Children of this program that it waits for (worker processes, the raw hop's
// own process): started in a process group of their own, bound to this
// process's life, and how they ended.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

namespace aiway {

// How a child process ended: its exit code, or the signal that killed it.
struct ProcessEnd {
  int code = 0;    // -1 when killed
  int signal = 0;  // 0 when it exited
  std::string describe() const;  // "exited with 3", "died of signal 9 (SIGKILL)"
};
// Starts args[0] with args in a process group of its own (so ^C reaches only
// this process, which passes one SIGINT on), standard output to `out`
// (/dev/null when empty), and waits for it.
ProcessEnd run_process(const std::vector<std::string>& args, const std::atomic<bool>* interrupt,
                       const std::filesystem::path& out = {});
// This executable (/proc/self/exe); throws std::runtime_error when it cannot be found.
std::filesystem::path own_executable();

}  // namespace aiway
