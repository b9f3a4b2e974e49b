// One repetition against an HTTP target (target.kind = "http"): the harness
// starts its upstream (OpenAI SSE and Ollama NDJSON on one port) and, when
// the scenario names one, the proxy under test with a config written from
// its template; then its clients open backend.streams streams to target.url
// on the scenario's arrival model and read every token. The books are exact
// per stream: each token is delivered or missing by its number, and each
// stream's end is known with its reason.
#pragma once

#include <atomic>
#include <cstdint>

#include "aiway/scenario.hpp"
#include "targets/target_run.hpp"

namespace aiway {

// index: the measured repetition's number (its start with target.start_at).
TargetOutcome run_http_repetition(const Scenario& s, std::uint32_t index, const std::atomic<bool>* interrupt);

}  // namespace aiway
