#include "targets/conductor/surface_client.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "measure/clock.hpp"
#include "upstream/token_text.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace aiway {
namespace {
// Undecodable frames from the target are counted; past this many the
// connection is dropped (a target that sends nothing but garbage).
constexpr std::uint64_t kMaxProtocolErrors = 100;
}  // namespace

SurfaceClient::SurfaceClient(const std::string& socket, std::uint32_t index, SurfacePlan plan)
    : fd_(net::connect_unix(socket)), plan_(plan), index_(index) {
  if (!fd_) throw std::runtime_error(fmt::format("cannot connect to {}: {}", socket, std::strerror(errno)));
  books_.received_ns.assign(plan_.tokens, 0);
}

SurfaceClient::~SurfaceClient() { stop_and_join(); }

void SurfaceClient::start() { reader_ = std::thread([this] { read_loop(); }); }

bool SurfaceClient::send(const std::string& json) { return send_raw(wire::frame(json)); }

bool SurfaceClient::send_raw(const std::string& bytes) {
  std::lock_guard lock(send_mutex_);
  if (!fd_) return false;
  return net::send_all(fd_.get(), bytes, plan_.write_timeout_ms, &stop_) == net::IoStatus::ok;
}

std::string SurfaceClient::next_event_id() {
  std::lock_guard lock(send_mutex_);
  own_events_.push_back(fmt::format("evt_{}_{}", index_, next_event_++));
  acked_.push_back(false);
  return own_events_.back();
}

void SurfaceClient::request_quit() {
  const std::string id = next_event_id();
  std::int64_t none = 0;
  quit_sent_ns_.compare_exchange_strong(none, monotonic_ns());
  send(wire::quit_requested_event(id));
}

void SurfaceClient::stop_and_join() {
  stop_ = true;
  if (reader_.joinable()) reader_.join();
  books_.quit_sent_ns = quit_sent_ns_.load();
  {
    std::lock_guard lock(send_mutex_);
    books_.events_sent = own_events_.size();
    books_.events_acked = std::size_t(std::count(acked_.begin(), acked_.end(), true));
  }
  // A stream that began and never ended: no StreamEnd, no StreamError.
  if (in_stream_) {
    ++books_.streams_abandoned;
    in_stream_ = false;
  }
}

void SurfaceClient::read_loop() {
  wire::FrameDecoder decoder;
  std::vector<char> buffer(256 * 1024);
  while (!stop_) {
    if (plan_.stall_at > 0 && !stalled_ && books_.delivered >= plan_.stall_at) {
      // The planned reader stall: nothing is read, so the conductor's writes back up.
      stalled_ = true;
      const std::int64_t until = monotonic_ns() + std::int64_t(plan_.stall_ms * 1e6);
      while (!stop_ && monotonic_ns() < until) sleep_ns(std::min<std::int64_t>(10'000'000, until - monotonic_ns()));
    }
    std::size_t got = 0;
    const net::IoStatus s = net::receive_some(fd_.get(), buffer.data(), buffer.size(), got, 0, &stop_);
    if (s != net::IoStatus::ok) break;  // closed by the target, an error, or stopped
    const std::int64_t t = monotonic_ns();
    last_receive_ns_.store(t, std::memory_order_relaxed);
    decoder.feed(buffer.data(), got);
    for (;;) {
      const auto status = decoder.next();
      if (status == wire::FrameDecoder::Status::need_more) break;
      if (status == wire::FrameDecoder::Status::frame) {
        on_frame(decoder.payload(), t);
        continue;
      }
      ++books_.protocol_errors;  // a bad CRC, or a length over 10 MiB
      if (status == wire::FrameDecoder::Status::too_long) break;
    }
    if (decoder.broken() || books_.protocol_errors >= kMaxProtocolErrors) break;  // the harness drops the connection
  }
  gone_ = true;
}

void SurfaceClient::on_frame(std::string_view json, std::int64_t t) {
  wire::ConductorMessage& m = message_;
  if (!wire::parse_conductor_message(json, m)) {
    ++books_.protocol_errors;
    return;
  }
  using Kind = wire::ConductorMessage::Kind;
  switch (m.kind) {
    case Kind::token: {
      if (!in_stream_ || m.message_id != reply_id_) {
        if (in_stream_) ++books_.streams_abandoned;  // a new reply began before the last one ended
        reply_id_ = m.message_id;
        in_stream_ = true;
      }
      if (m.text.empty()) return;  // the upstream's done line
      const auto seq = token_seq(m.text);
      if (!seq || *seq >= plan_.tokens) {
        ++books_.corrupted;  // not a token the upstream sent
        return;
      }
      token_text(*seq, plan_.size, plan_.multibyte, expected_);
      if (m.text != expected_) ++books_.corrupted;
      std::int64_t& first = books_.received_ns[*seq];
      if (first != 0) {
        ++books_.duplicated;
        return;
      }
      first = t;
      ++books_.delivered;
      if (any_seq_ && *seq < max_seq_) ++books_.reordered;
      max_seq_ = any_seq_ ? std::max(max_seq_, *seq) : *seq;
      any_seq_ = true;
      if (books_.first_token_ns == 0) books_.first_token_ns = t;
      books_.last_token_ns = t;
      tokens_seen_.store(books_.delivered, std::memory_order_relaxed);
      if (plan_.quit_at > 0 && !quit_planned_sent_ && books_.delivered >= plan_.quit_at) {
        quit_planned_sent_ = true;
        request_quit();
      }
      return;
    }
    case Kind::stream_end:
      if (m.message_id == reply_id_ && in_stream_) in_stream_ = false;
      if (books_.stream_end_ns == 0) books_.stream_end_ns = t;
      return;
    case Kind::stream_error:
      if (m.message_id == reply_id_) in_stream_ = false;
      ++books_.stream_errors;
      if (books_.stream_error_ns == 0) books_.stream_error_ns = t;
      return;
    case Kind::state:
      if (m.text == "Thinking" || m.text == "Responding") {
        asked_ = true;
      } else if (m.text == "Ready" && asked_ && books_.ready_ns == 0) {
        books_.ready_ns = t;
        finished_ = true;
      } else if (m.text == "ShuttingDown" && books_.shutting_down_ns == 0) {
        books_.shutting_down_ns = t;
      }
      return;
    case Kind::ack: {
      std::lock_guard lock(send_mutex_);
      const auto it = std::find(own_events_.begin(), own_events_.end(), m.text);
      if (it == own_events_.end()) {
        ++books_.foreign_acks;
        return;
      }
      acked_[std::size_t(it - own_events_.begin())] = true;
      if (it == own_events_.begin()) greeted_ = true;
      return;
    }
    case Kind::handshake_ack: greeted_ = true; return;
    case Kind::notify: ++books_.notifies; return;
    default: return;
  }
}

}  // namespace aiway
