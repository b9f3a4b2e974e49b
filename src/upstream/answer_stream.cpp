#include "upstream/answer_stream.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "net/http.hpp"
#include "upstream/token_text.hpp"
#include "wire/messages.hpp"

namespace aiway {
namespace {

// The two halves of a split character must reach the peer as two reads for a
// per-chunk decoder to see the split: a short pause separates them.
constexpr std::int64_t kSplitCharacterPauseNs = 200'000;

std::string error_response(int status, bool keep_alive) {
  namespace http = net::http;
  http::response<http::string_body> res;
  res.version(11);
  res.result(unsigned(status));
  res.keep_alive(keep_alive);
  res.set(http::field::content_type, "application/json");
  res.body() = R"({"error":"the harness's upstream answers with an error on purpose"})";
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  return out.str();
}

}  // namespace

void append_chunk(std::string& out, std::string_view data) {
  fmt::format_to(std::back_inserter(out), "{:x}\r\n", data.size());
  out += data;
  out += "\r\n";
}

AnswerStream::AnswerStream(const AnswerPlan& plan, AnswerRecord& record, bool chunked, std::int64_t request_ns)
    : plan_(plan),
      record_(record),
      format_{record.api},
      chunked_(chunked),
      paced_(plan.rate_tps > 0),
      split_(plan.split_lines || plan.split_utf8),
      due_ns_(request_ns + std::int64_t(plan.headers_delay_ms * 1e6)),
      schedule_(plan.arrival, paced_ ? plan.rate_tps : 1, plan.burstiness, plan.seed, request_ns) {}

AnswerStream::End AnswerStream::next(std::int64_t now_ns, std::string& out) {
  if (!queued_.empty()) return hand_out(End::more, now_ns, out);
  switch (phase_) {
    case Phase::headers: return headers(now_ns, out);
    case Phase::tokens: return token(now_ns, out);
    case Phase::end: return finish(now_ns, out);
    case Phase::done: break;
  }
  return last_;
}

AnswerStream::End AnswerStream::hand_out(End end, std::int64_t now_ns, std::string& out) {
  if (!queued_.empty()) {
    if (!deferring_) {  // the first piece: what follows the queue waits for it
      deferring_ = true;
      queued_end_ = end;
      resume_due_ns_ = due_ns_;
    }
    out += queued_.front().bytes;
    queued_.pop_front();
    if (!queued_.empty()) {
      due_ns_ = now_ns + queued_.front().pause_ns;
      return End::more;
    }
    deferring_ = false;
    due_ns_ = resume_due_ns_;
    end = queued_end_;
  }
  handed_ = flushed_;
  return last_ = end;
}

AnswerStream::End AnswerStream::headers(std::int64_t now_ns, std::string& out) {
  namespace http = net::http;
  record_.headers_ns = now_ns;
  if (plan_.status != 200) {
    out += error_response(plan_.status, chunked_);
    phase_ = Phase::done;
    return last_ = chunked_ ? End::keep_alive : End::close;
  }
  // An HTTP/1.0 client (nginx's proxy by default) gets a body that ends with
  // the connection; each "chunk" is then one write.
  http::response<http::empty_body> head{http::status::ok, chunked_ ? 11 : 10};
  head.set(http::field::content_type, std::string(format_.content_type()));
  if (net::is_sse(record_.api)) head.set(http::field::cache_control, "no-cache");
  if (chunked_) head.chunked(true);
  else head.set(http::field::connection, "close");
  out += net::header_text(head.base());
  record_.intended_ns.assign(plan_.tokens, 0);
  record_.sent_ns.assign(plan_.tokens, 0);
  const std::int64_t start = now_ns + std::int64_t(plan_.first_token_delay_ms * 1e6);
  schedule_ = ArrivalSchedule(plan_.arrival, paced_ ? plan_.rate_tps : 1, plan_.burstiness, plan_.seed, start);
  phase_ = plan_.tokens > 0 ? Phase::tokens : Phase::end;
  due_ns_ = paced_ && plan_.tokens > 0 ? schedule_.peek() : start;
  return last_ = End::more;
}

void AnswerStream::schedule_next(std::int64_t now_ns) {
  const bool plan_ends_here = (plan_.reset_at > 0 && seq_ == plan_.reset_at) || (plan_.error_line_at > 0 && seq_ == plan_.error_line_at);
  if (seq_ >= plan_.tokens) phase_ = Phase::end;
  due_ns_ = paced_ && phase_ == Phase::tokens && !plan_ends_here ? schedule_.peek() : now_ns;
}

AnswerStream::End AnswerStream::token(std::int64_t now_ns, std::string& out) {
  if (plan_.reset_at > 0 && seq_ == plan_.reset_at) {
    flush(out);
    record_.end_ns = now_ns;
    phase_ = Phase::done;
    return hand_out(End::reset, now_ns, out);
  }
  if (plan_.error_line_at > 0 && seq_ == plan_.error_line_at) {
    format_.error(lines_);
    flush(out);
    if (chunked_) emit_last_chunk(out);
    phase_ = Phase::done;
    return hand_out(chunked_ ? End::keep_alive : End::close, now_ns, out);
  }
  const std::int64_t due = paced_ ? schedule_.next() : now_ns;
  token_text(record_.first_seq + seq_, plan_.size, plan_.split_utf8, text_);
  format_.token(text_, lines_);
  record_.intended_ns[seq_] = due;
  record_.sent_ns[seq_] = now_ns;
  ++seq_;
  if (++in_chunk_ >= std::max<std::uint32_t>(1, plan_.tokens_per_chunk) || seq_ == plan_.tokens) {
    in_chunk_ = 0;
    flushed_ = seq_;
    flush(out);
  }
  schedule_next(now_ns);
  return hand_out(End::more, now_ns, out);
}

AnswerStream::End AnswerStream::finish(std::int64_t now_ns, std::string& out) {
  if (!plan_.eof_without_done) format_.done(lines_);
  flush(out);
  if (chunked_) emit_last_chunk(out);
  phase_ = Phase::done;
  return hand_out(!plan_.eof_without_done && chunked_ ? End::keep_alive : End::close, now_ns, out);
}

void AnswerStream::flush(std::string& out) {
  if (lines_.empty()) return;
  if (!split_) {
    emit(lines_, 0, out);
    lines_.clear();
    return;
  }
  const std::string_view terminator = format_.terminator();
  std::size_t at = 0;
  while (at < lines_.size()) {
    const std::size_t end = lines_.find(terminator, at) + terminator.size();
    const std::string_view line(lines_.data() + at, end - at);
    std::size_t cut = line.size() / 2;
    if (plan_.split_utf8) {
      const std::size_t mb = multibyte_offset(line);
      if (mb != std::string_view::npos) cut = mb + 1;  // between the character's two bytes
    }
    emit(line.substr(0, cut), 0, out);
    emit(line.substr(cut), plan_.split_utf8 ? kSplitCharacterPauseNs : 0, out);
    at = end;
  }
  lines_.clear();
}

// Unsplit, a write joins the one being formed; split, every piece is queued
// and goes out as its own write.
void AnswerStream::emit(std::string_view bytes, std::int64_t pause_ns, std::string& out) {
  ++record_.chunks_sent;
  std::string& to = split_ ? queued_.emplace_back(Piece{{}, queued_.empty() ? 0 : pause_ns}).bytes : out;
  if (chunked_) append_chunk(to, bytes);
  else to += bytes;
}

void AnswerStream::emit_last_chunk(std::string& out) {
  constexpr std::string_view kLastChunk = "0\r\n\r\n";
  if (split_) queued_.push_back(Piece{std::string(kLastChunk), 0});
  else out += kLastChunk;
}

std::uint64_t AnswerStream::written(std::int64_t now_ns) {
  const std::uint64_t more = handed_ - record_.tokens_sent;
  record_.tokens_sent = handed_;
  if (queued_.empty() && (last_ == End::keep_alive || last_ == End::close) && !record_.completed) {
    record_.completed = true;
    record_.end_ns = now_ns;
  }
  return more;
}

void AnswerStream::abandon(std::int64_t now_ns) {
  if (record_.end_ns == 0) record_.end_ns = now_ns;
}

}  // namespace aiway
