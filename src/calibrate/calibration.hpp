// A short fixed workload that scores the machine, so results from two machines
// can be told apart as "this machine is faster" versus "this build is faster".
// Three parts, each a few hundred milliseconds, each the median of five tries:
// tokens through the pipeline's own TokenChannel between two threads (core to
// core hand-off and the allocator), a memcpy pass over 64 MiB (memory
// bandwidth) and a dependent integer loop on one thread (single-core speed).
#pragma once

#include "aiway/results.hpp"
#include "measure/clock.hpp"

namespace aiway {

// What the reference machine measured: the CI machine class (AMD EPYC, 2
// logical CPUs, Debian 12, g++ 12, mimalloc), best figures of `aiway-stress
// calibrate` run there on 2026-11-27. Its score is 1.0 by definition.
struct CalibrationReference {
  static constexpr double channel_tokens_per_s = 26.5e6;
  static constexpr double memcpy_bytes_per_s = 18.5e9;
  static constexpr double loop_ops_per_s = 0.545e9;
};

// The seed's tokens of one size class (10: 1m-short's msg{i}; 100: 1m-medium's),
// generated as the backend does, through one bare moodycamel queue from one
// thread to another, the producer held to 10,000 queued, the consumer
// spinning: one hop with nothing else, the floor the pipeline's two hops and
// its stages are compared with. Tokens per second.
double raw_hop_rate(std::uint64_t tokens, std::uint32_t size = 10);
// The same after an untimed warm-up, the median of three: what a fresh process
// (`calibrate --raw-hop`) reports. One cold try there measured a third less
// than the calibration's median of five in its warm process.
double warm_raw_hop_rate(std::uint64_t tokens, std::uint32_t size);

// scale < 1 shortens every part (tests); scores are only comparable at 1.
Calibration calibrate(const Clock& clock, double scale = 1.0);

// The geometric mean of the three parts relative to the reference.
double calibration_score(double channel_tokens_per_s, double memcpy_bytes_per_s, double loop_ops_per_s);

}  // namespace aiway
