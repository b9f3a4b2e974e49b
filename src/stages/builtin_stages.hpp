// The built-in stages, registered as backend "mock" and "trace", conductor
// "aiway" and surface "terminal": implementations of the public stage
// interfaces like any user's, so the harness measures its own model through
// the same seams.
#pragma once

#include <string>
#include <vector>

#include "aiway/stage.hpp"
#include "stages/command_parser.hpp"
#include "stages/generator.hpp"
#include "stages/scrollback.hpp"
#include "stages/transcript.hpp"

namespace aiway {

// The mock LLM: N streams interleaved round-robin with the seed's generated
// texts, planted [yolla:…] commands (every second one split across two tokens).
class MockBackend final : public BackendStage {
 public:
  explicit MockBackend(const StageContext& context);
  static std::string description() { return "the mock LLM: the seed's generated texts, round-robin over streams"; }
  std::uint32_t streams() const override { return streams_; }
  std::uint64_t tokens() const override { return per_stream_ * streams_; }
  SourcedToken next(Token& token) override;
  std::uint64_t commands_planted() const override { return commands_planted_; }

 private:
  const BackendConfig& config_;
  std::uint32_t streams_;
  std::uint64_t per_stream_;
  std::uint32_t stream_ = 0;  // of the next token
  std::uint64_t index_ = 0;   // of the next token in its stream
  std::uint32_t tails_pending_ = 0;  // streams whose split_tail_ is not empty
  std::vector<std::uint64_t> command_positions_;
  std::vector<std::uint32_t> next_command_;  // per stream: index into command_positions_
  std::vector<std::string> split_tail_;      // per stream: second half of a split command
  std::string clean_;
  std::uint64_t commands_planted_ = 0;
  MessageGenerator messages_;
};

// ai-way's conductor: strips [yolla:…] commands (state carried across
// tokens), validates and forwards each as a UI message, keeps a bounded
// transcript per stream, and forwards the token.
class AiwayConductor final : public ConductorStage {
 public:
  explicit AiwayConductor(const StageContext& context);
  static std::string description() { return "ai-way's conductor: command parsing, validation and transcript"; }
  void on_tokens(std::span<Token> tokens, ConductorOutput& out) override;
  void on_stream_end(std::uint32_t stream, TokenKind how, ConductorOutput& out) override;
  std::uint64_t retained_bytes() const override;
  void report(CounterSink& sink) const override;

 private:
  std::uint32_t max_commands_;
  std::vector<CommandParser> parsers_;
  std::vector<Transcript> transcripts_;
  std::vector<std::uint32_t> commands_this_response_;
  std::string clean_;
  std::uint64_t commands_rejected_ = 0;
};

// A terminal UI's display: per-stream scrollback wrapped incrementally (or
// ai-way's way, the whole message re-wrapped on every token), the focused
// stream's viewport drawn on each frame.
class TerminalSurface final : public SurfaceStage {
 public:
  explicit TerminalSurface(const StageContext& context);
  static std::string description() { return "a terminal UI: scrollback, wrapping and a viewport per frame"; }
  void display(std::span<const Token> tokens) override;
  void on_stream_end(std::uint32_t stream, TokenKind how) override;
  void render() override;
  std::uint64_t retained_bytes() const override;
  void report(CounterSink& sink) const override;

 private:
  const SurfaceConfig& config_;
  std::vector<Scrollback> scrollback_;
  std::vector<std::string> messages_;  // rewrap = full: each stream's message so far
  std::vector<char> frame_;
  std::uint32_t focused_stream_ = 0;
  std::uint64_t frame_checksum_ = 0;
};

// A recording replayed on its own schedule (backend.trace): JSON lines of
// {"t_us": …, "stream": …, "text": …}, each token due t_us after the request.
struct TraceRecord {
  std::int64_t due_ns = 0;
  std::uint32_t stream = 0;
  std::string text;
};
struct Trace {
  std::vector<TraceRecord> records;  // in due order (ties keep file order)
  std::uint32_t streams = 0;
};
// Reads and checks a trace file; throws InputError naming file:line:column.
Trace load_trace(const std::string& file);

class TraceBackend final : public BackendStage {
 public:
  explicit TraceBackend(const StageContext& context);
  static std::string description() { return "a recorded trace (backend.trace) replayed on its own schedule"; }
  std::uint32_t streams() const override { return trace_.streams; }
  std::uint64_t tokens() const override { return trace_.records.size(); }
  std::int64_t next_due_ns() const override { return i_ < trace_.records.size() ? trace_.records[i_].due_ns : 0; }
  std::int64_t longest_gap_ns() const override { return longest_gap_ns_; }
  SourcedToken next(Token& token) override;

 private:
  Trace trace_;
  std::int64_t longest_gap_ns_ = 0;
  std::vector<std::size_t> last_of_stream_;  // index of each stream's last record
  std::size_t i_ = 0;
};

}  // namespace aiway
