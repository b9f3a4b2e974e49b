// aiway-stress ab OLD NEW: the way to test a change. Each repetition is a
// fresh process of one of the two builds, taken in ABBA order (A B, B A, A B,
// ...), so a slow drift of the machine falls on both sides equally; each
// side's repetitions are pooled into one results set for the gate.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "aiway/results.hpp"

namespace aiway {

struct AbPlan {
  std::string old_binary, new_binary;  // resolved executables
  std::filesystem::path scenarios_dir;
  std::vector<std::string> run_args;   // scenario selection and --set options, passed to both
  std::uint32_t repetitions = 5;       // per side, each a fresh process
  std::uint32_t warmup = 1;            // per process
  // The first this many processes of each side also count instructions
  // (run --count-instructions): one count each, pooled like the rest.
  std::uint32_t counting_processes = 0;
  const std::atomic<bool>* interrupt = nullptr;
};
struct AbOutcome {
  RunResults old_side, new_side;
  bool interrupted = false;
  std::vector<std::string> failures;  // processes that failed or died, with why
};

// A binary, or a build folder holding aiway-stress; throws InputError when it is neither.
std::string resolve_binary(const std::string& binary_or_folder, const char* which);
AbOutcome run_ab(const AbPlan& plan);

}  // namespace aiway
