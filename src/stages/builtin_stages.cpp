#include "stages/builtin_stages.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "aiway/input_error.hpp"
#include "files/input_file.hpp"
#include "stages/generator.hpp"

namespace aiway {

// ---- mock backend -----------------------------------------------------------

MockBackend::MockBackend(const StageContext& context)
    : config_(context.scenario.backend),
      streams_(config_.streams),
      per_stream_(context.scenario.faults.error_at ? context.scenario.faults.error_at : config_.messages),
      next_command_(config_.streams, 0),
      split_tail_(config_.streams),
      messages_(config_.size) {
  for (std::uint64_t j = 0; j < config_.commands; ++j) {
    const std::uint64_t at = planted_command_position(j, config_.commands, config_.messages);
    if (at + 1 < per_stream_) command_positions_.push_back(at);  // the split tail needs a next token
  }
}

SourcedToken MockBackend::next(Token& token) {
  // Counted, not divided: no 64-bit division per token.
  const std::uint32_t stream = stream_;
  const std::uint64_t i = index_;
  if (++stream_ == streams_) {
    stream_ = 0;
    ++index_;
  }
  token.stream = stream;
  messages_.write(i, token.text);
  SourcedToken sourced{i + 1 == per_stream_, nullptr};
  std::uint32_t& next = next_command_[stream];
  const bool command = next < command_positions_.size() && command_positions_[next] == i;
  if (tails_pending_ == 0 && !command) return sourced;
  std::string& tail = split_tail_[stream];
  if (tail.empty() && !command) return sourced;
  clean_ = token.text;  // a command goes on the wire; the surface must see the text without it
  sourced.clean = &clean_;
  if (!tail.empty()) {
    token.text.insert(0, tail);
    tail.clear();
    --tails_pending_;
  }
  if (command) {
    const std::string_view text = planted_command(next);
    if (config_.split_commands && next % 2 == 1) {
      const std::size_t half = text.size() / 2;
      token.text.append(text.substr(0, half));
      tail.assign(text.substr(half));
      ++tails_pending_;
    } else {
      token.text.append(text);
    }
    ++next;
    ++commands_planted_;
  }
  return sourced;
}

// ---- ai-way conductor ---------------------------------------------------------

AiwayConductor::AiwayConductor(const StageContext& context)
    : max_commands_(context.scenario.conductor.max_commands),
      parsers_(context.streams),
      commands_this_response_(context.streams, 0) {
  transcripts_.reserve(context.streams);
  for (std::uint32_t s = 0; s < context.streams; ++s) transcripts_.emplace_back(context.scenario.conductor.transcript_max_bytes);
}

void AiwayConductor::on_tokens(std::span<Token> tokens, ConductorOutput& out) {
  for (Token& token : tokens) {
    const std::uint32_t stream = token.stream;
    clean_.clear();
    const bool unchanged = parsers_[stream].feed(token.text, clean_, [&](const AvatarCommand& command) {
      if (!is_valid_command(command) || commands_this_response_[stream] >= max_commands_) {
        ++commands_rejected_;
        return;
      }
      ++commands_this_response_[stream];
      out.command(token, command.name);
    });
    if (!unchanged) token.text.swap(clean_);  // the old buffer is reused for the next token
    transcripts_[stream].append(token.text);
    out.forward(token);
  }
}

void AiwayConductor::on_stream_end(std::uint32_t stream, TokenKind, ConductorOutput&) {
  // What a response leaves pending at its end was never a command: text.
  clean_.clear();
  parsers_[stream].flush(clean_);
  transcripts_[stream].append(clean_);
  transcripts_[stream].end_message();
  commands_this_response_[stream] = 0;
}

std::uint64_t AiwayConductor::retained_bytes() const {
  std::uint64_t bytes = 0;
  for (const auto& t : transcripts_) bytes += t.bytes();
  return bytes;
}

void AiwayConductor::report(CounterSink& sink) const {
  sink.add("commands_rejected", double(commands_rejected_), "commands", Better::neither);
}

// ---- terminal surface ---------------------------------------------------------

TerminalSurface::TerminalSurface(const StageContext& context)
    : config_(context.scenario.surface), frame_(std::size_t(config_.width) * config_.height) {
  scrollback_.reserve(context.streams);
  for (std::uint32_t s = 0; s < context.streams; ++s) scrollback_.emplace_back(config_.width, config_.scrollback_lines);
  if (config_.rewrap == Rewrap::full) messages_.resize(context.streams);
}

void TerminalSurface::display(std::span<const Token> tokens) {
  for (const Token& token : tokens) {
    if (messages_.empty()) {
      scrollback_[token.stream].append(token.text);
    } else {
      messages_[token.stream] += token.text;
      scrollback_[token.stream].rewrap_message(messages_[token.stream]);
    }
  }
  if (!tokens.empty()) focused_stream_ = tokens.back().stream;
}

void TerminalSurface::on_stream_end(std::uint32_t stream, TokenKind how) {
  if (how == TokenKind::cancelled || messages_.empty()) return;
  messages_[stream].clear();
  scrollback_[stream].begin_message();
}

void TerminalSurface::render() { frame_checksum_ += scrollback_[focused_stream_].render(frame_.data(), config_.height); }

std::uint64_t TerminalSurface::retained_bytes() const {
  std::uint64_t bytes = 0;
  for (const auto& display : scrollback_) bytes += display.retained_bytes();
  for (const auto& message : messages_) bytes += message.capacity();
  return bytes;
}

void TerminalSurface::report(CounterSink& sink) const {
  // Wrapped lines written, all streams: what the wrap did with the text.
  std::uint64_t lines = 0;
  for (const auto& display : scrollback_) lines += display.lines_written();
  sink.add("lines_wrapped", double(lines), "lines", Better::neither);
}

// ---- trace backend ------------------------------------------------------------

Trace load_trace(const std::string& file) {
  constexpr std::uint32_t kMaxStreams = 4096;
  const std::string text = read_input_file(file, std::uint64_t(1) << 30, "trace file");
  Trace trace;
  std::size_t line_start = 0;
  for (std::size_t line = 1; line_start < text.size(); ++line) {
    std::size_t end = text.find('\n', line_start);
    if (end == std::string::npos) end = text.size();
    const std::string_view row(text.data() + line_start, end - line_start);
    line_start = end + 1;
    if (row.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank lines are allowed
    const auto fail = [&](std::size_t column, const std::string& message) {
      throw InputError(fmt::format("{}:{}:{}: {}", file, line, column, message));
    };
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(row);
    } catch (const nlohmann::json::parse_error& e) {
      fail(std::min<std::size_t>(e.byte, row.size()) + (e.byte == 0 ? 1 : 0), "not JSON: expected one object per line");
    }
    if (!record.is_object()) fail(1, "expected an object {\"t_us\": …, \"stream\": …, \"text\": …}");
    for (const auto& [key, value] : record.items())
      if (key != "t_us" && key != "stream" && key != "text") fail(1, fmt::format("unknown field \"{}\"", key));
    const auto t = record.find("t_us");
    if (t == record.end() || !t->is_number() || !std::isfinite(t->get<double>()) || t->get<double>() < 0 ||
        t->get<double>() > 86400e6)
      fail(1, "t_us: expected the token's time in microseconds after the request, from 0 to 86400e6");
    const auto s = record.find("stream");
    std::uint32_t stream = 0;
    if (s != record.end()) {
      if (!s->is_number_unsigned() || s->get<std::uint64_t>() >= kMaxStreams)
        fail(1, fmt::format("stream: expected an integer from 0 to {}", kMaxStreams - 1));
      stream = std::uint32_t(s->get<std::uint64_t>());
    }
    const auto x = record.find("text");
    if (x == record.end() || !x->is_string()) fail(1, "text: expected the token's text, a string");
    trace.records.push_back({std::int64_t(std::llround(t->get<double>() * 1e3)), stream, x->get<std::string>()});
    trace.streams = std::max(trace.streams, stream + 1);
  }
  if (trace.records.empty()) throw InputError(fmt::format("{}: the trace has no tokens", file));
  std::stable_sort(trace.records.begin(), trace.records.end(),
                   [](const TraceRecord& a, const TraceRecord& b) { return a.due_ns < b.due_ns; });
  return trace;
}

TraceBackend::TraceBackend(const StageContext& context) : trace_(load_trace(context.scenario.backend.trace)) {
  last_of_stream_.assign(trace_.streams, 0);
  std::int64_t previous = 0;
  for (std::size_t i = 0; i < trace_.records.size(); ++i) {
    last_of_stream_[trace_.records[i].stream] = i;
    longest_gap_ns_ = std::max(longest_gap_ns_, trace_.records[i].due_ns - previous);
    previous = trace_.records[i].due_ns;
  }
}

SourcedToken TraceBackend::next(Token& token) {
  const TraceRecord& record = trace_.records[i_];
  token.stream = record.stream;
  token.text.assign(record.text);
  return {last_of_stream_[record.stream] == i_++, nullptr};
}

}  // namespace aiway
