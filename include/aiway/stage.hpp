// The stage interfaces: what a user implements to put their own backend,
// conductor or surface under test. A stage sees only its workload; the
// harness's drivers keep the books around it (channels, timestamps, the
// control lane, shutdown and drain, integrity and content checks, latency
// recording, planted faults), so every number stays true whatever a stage does:
//
//   sent = delivered + dropped_by_policy + dropped_by_stage + discarded + lost_unaccounted
//
// closes for any stage, and a stage that loses, duplicates, reorders or
// corrupts a token is caught exactly as a faulty channel is.
//
// Every stage runs on a thread of its own; a stage object is used by that one
// thread only (construction and the counters excepted), so it needs no locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aiway/metrics.hpp"
#include "aiway/scenario.hpp"
#include "aiway/token.hpp"

namespace aiway {

// ---------------------------------------------------------------------------
// Counters a stage reports: each becomes the metric "<role>.<name>" of every
// repetition (conductor.cache_hits), in every output format, and is compared
// like a built-in metric in the direction it declares.

struct StageCounter {
  std::string name;  // lower-case letters, digits and '_' (checked when reported)
  double value = 0;
  std::string unit;  // free text for people: "tokens", "bytes", "ns"
  Better better = Better::neither;
};

class CounterSink {
 public:
  void add(std::string name, double value, std::string unit = {}, Better better = Better::neither) {
    counters_.push_back({std::move(name), value, std::move(unit), better});
  }
  const std::vector<StageCounter>& counters() const { return counters_; }

 private:
  std::vector<StageCounter> counters_;
};

// What a stage reports of itself (its report()), as the drivers collect it.
template <class Stage>
std::vector<StageCounter> reported_counters(const Stage& stage) {
  CounterSink sink;
  stage.report(sink);
  return sink.counters();
}

// ---------------------------------------------------------------------------
// Parameters a stage declares: a scenario sets them in [conductor.params]
// (or [backend.params], [surface.params]) or with --set conductor.params.NAME=V,
// and they get the same file:line:column errors, `show`, --sweep and results
// as built-in fields. Every parameter has a default.

enum class ParamType { boolean, integer, number, text };

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::number;
  ParamValue default_value = 0.0;
  double min = 0, max = 0;  // integer and number only; min == max means unbounded
  std::string description;
};

// A stage's parameters, resolved: every declared name present, of its declared type.
class StageParams {
 public:
  StageParams() = default;
  explicit StageParams(std::map<std::string, ParamValue> values) : values_(std::move(values)) {}
  bool flag(const std::string& name) const { return std::get<bool>(values_.at(name)); }
  std::int64_t integer(const std::string& name) const { return std::get<std::int64_t>(values_.at(name)); }
  double number(const std::string& name) const { return std::get<double>(values_.at(name)); }
  const std::string& text(const std::string& name) const { return std::get<std::string>(values_.at(name)); }

 private:
  std::map<std::string, ParamValue> values_;
};

// What a stage is built from.
struct StageContext {
  const Scenario& scenario;  // resolved; outlives the stage
  const StageParams& params;  // this stage's [ROLE.params], resolved; valid in the constructor: copy what you keep
  std::uint32_t streams = 1;  // concurrent streams of this run, as the backend produces them
};

// ---------------------------------------------------------------------------
// Backend: the token source (the model). The driver asks for tokens in order,
// numbers them per stream, hashes their clean text for the content check,
// stamps and paces them (backend.rate_tps and arrival, unless the source keeps
// its own schedule), batches them, plants the faults, and sends each stream's
// terminal after the token the source marks as its last.

struct SourcedToken {
  bool last_of_stream = false;
  // The text the surface must end up displaying, when it differs from the
  // token's text (a planted [yolla:…] command was written into it); null:
  // the token's text is its clean text. Valid until the next call.
  const std::string* clean = nullptr;
};

class BackendStage {
 public:
  virtual ~BackendStage() = default;
  // Concurrent streams, numbered 0..streams()-1.
  virtual std::uint32_t streams() const = 0;
  // Data tokens the source will produce, all streams together.
  virtual std::uint64_t tokens() const = 0;
  // When the source keeps its own schedule (a recorded trace): when the next
  // token is due, in ns after the request (its intended send time). A negative
  // value: the scenario's schedule (backend.rate_tps, arrival) decides.
  virtual std::int64_t next_due_ns() const { return -1; }
  // On its own schedule, the longest the source leaves between two tokens (or
  // before the first): the watchdog does not take that wait for a hang.
  virtual std::int64_t longest_gap_ns() const { return 0; }
  // Writes the next token's stream and text into `token`. The token may hold
  // what an earlier one left in it (it can be a slot of the channel): set the
  // stream, and assign the text rather than append to it; its buffer is reused
  // from token to token, so assigning does not reallocate. Called at most
  // tokens() times.
  virtual SourcedToken next(Token& token) = 0;
  // Commands written into the text on purpose; the conductor's count is checked against it.
  virtual std::uint64_t commands_planted() const { return 0; }
  virtual void report(CounterSink&) const {}
};

// ---------------------------------------------------------------------------
// Conductor: gets every data token in order, t1 already stamped, and forwards
// what it keeps (possibly with its text changed back to the clean text, as
// ai-way's strips commands), and may emit commands for the surface. Terminals
// (a stream's end, an error, a cancellation, a disconnect) are forwarded by the
// driver after on_stream_end. A token not forwarded is counted as
// dropped_by_stage; one forwarded twice reaches the surface as a duplicate.

class ConductorOutput {
 public:
  // Moves `token` to the surface channel.
  void forward(Token& token) {
    if (size_ == capacity_) flush_(owner_);
    forwarded_data_ += token.kind == TokenKind::data;
    slots_[size_++] = std::move(token);
  }
  // An extracted command for the surface, on the stream of `from`.
  void command(const Token& from, std::string_view name) {
    if (size_ == capacity_) flush_(owner_);
    Token& ui = slots_[size_++];
    ui.kind = TokenKind::command;
    ui.stream = from.stream;
    ui.seq = 0;
    ui.sent_ns = from.sent_ns;
    ui.intended_ns = from.intended_ns;
    ui.text.assign(name);
    ++commands_;
  }

  // The driver's side.
  using Flush = void (*)(void* owner);
  ConductorOutput(Token* slots, std::size_t capacity, Flush flush, void* owner)
      : slots_(slots), capacity_(capacity), flush_(flush), owner_(owner) {}
  std::size_t size() const { return size_; }
  Token* slots() const { return slots_; }
  void clear() { size_ = 0; }
  // Empty: the next items go to `slots` (the surface channel's own, or a buffer).
  void rebind(Token* slots, std::size_t capacity) {
    slots_ = slots;
    capacity_ = capacity;
    size_ = 0;
  }
  std::uint64_t forwarded_data() const { return forwarded_data_; }
  std::uint64_t commands() const { return commands_; }

 private:
  Token* slots_;
  std::size_t capacity_;
  std::size_t size_ = 0;
  Flush flush_;
  void* owner_;
  std::uint64_t forwarded_data_ = 0;
  std::uint64_t commands_ = 0;
};

class ConductorStage {
 public:
  virtual ~ConductorStage() = default;
  // Data tokens in arrival order, a batch at a time.
  virtual void on_tokens(std::span<Token> tokens, ConductorOutput& out) = 0;
  // `stream`'s response ended: complete, error or cancelled (a new request).
  virtual void on_stream_end(std::uint32_t /*stream*/, TokenKind /*how*/, ConductorOutput& /*out*/) {}
  // Bytes the stage keeps at the end (a transcript): the metric transcript_bytes.
  virtual std::uint64_t retained_bytes() const { return 0; }
  virtual void report(CounterSink&) const {}
};

// ---------------------------------------------------------------------------
// Surface: displays tokens the driver has already checked (each sequence
// number once: duplicates and late tokens are counted, not shown) and timed.

class SurfaceStage {
 public:
  virtual ~SurfaceStage() = default;
  // Data tokens in order of arrival, a batch at a time.
  virtual void display(std::span<const Token> tokens) = 0;
  // An avatar command the conductor emitted.
  virtual void on_command(const Token& /*command*/) {}
  // `stream`'s response ended: complete, error or cancelled.
  virtual void on_stream_end(std::uint32_t /*stream*/, TokenKind /*how*/) {}
  // A frame tick (surface.frame_rate_hz): draw. The driver times it (frame_time).
  virtual void render() {}
  // Bytes the stage keeps at the end (a scrollback): part of retained_bytes.
  virtual std::uint64_t retained_bytes() const { return 0; }
  virtual void report(CounterSink&) const {}
};

// The three stages of one repetition's pipeline.
struct StageSet {
  std::unique_ptr<BackendStage> backend;
  std::unique_ptr<ConductorStage> conductor;
  std::unique_ptr<SurfaceStage> surface;
};

}  // namespace aiway
