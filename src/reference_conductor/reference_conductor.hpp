// The reference conductor: ai-way's conductor daemon as a stand-in, speaking
// its socket protocol to surfaces and its upstream API to an Ollama-style
// server, built on the project's conductor stage (command stripping, the
// bounded transcript). It is what every target scenario runs against, so a
// clean clone can test the target machinery without ai-way.
//
// By default it is correct: nothing is lost (a full surface queue makes the
// stream wait, which backs up to the upstream over TCP), a quit never waits
// for upstream headers, nothing polls. Each behaviour measured on the real
// daemon can be switched on; legacy() switches on all of them.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace aiway {

struct ReferenceConductorOptions {
  std::string socket;
  std::string upstream_host = "localhost";  // OLLAMA_HOST, a bare host name
  std::uint16_t upstream_port = 11434;      // OLLAMA_PORT
  std::string model = "yollayah";           // YOLLAYAH_MODEL
  std::uint32_t max_messages_per_minute = 30;  // CONDUCTOR_MAX_MESSAGES_PER_MINUTE
  std::size_t max_message_bytes = 102'400;     // CONDUCTOR_MAX_MESSAGE_SIZE
  std::size_t surface_queue = 256;             // messages queued per surface

  // The real daemon's behaviours, one switch each.
  bool lossy_queue = false;            // a full surface queue drops the message (tokens, StreamEnd, State alike)
  bool broadcast_acks = false;         // every Ack goes to every surface
  bool preempt_silently = false;       // a new message abandons the stream with no StreamEnd or StreamError
  bool wedge_on_bad_frame = false;     // an undecodable frame kills that connection's input for good
  double upstream_deadline_ms = 0;     // a total deadline per upstream request, body included (ai-way: 30 s)
  bool hang_on_empty_answer = false;   // EOF with zero tokens sends nothing; the state stays Responding
  bool hold_events_for_headers = false;// no event is handled while waiting for the upstream's headers
  bool busy_poll = false;              // the token forwarder polls in a loop that yields
  bool shared_rate_limit = false;      // one message limit for all surfaces together
  bool chunk_utf8 = false;             // each read of the body is decoded as UTF-8 on its own
  bool frame_per_write = false;        // each message is written (and flushed) on its own, never batched

  void set_legacy();  // every switch on, ai-way's 30 s deadline
  // Reads OLLAMA_HOST/PORT (and YOLLAYAH_ variants), YOLLAYAH_MODEL and the
  // CONDUCTOR_ limits from the environment; throws std::invalid_argument on a
  // malformed number.
  void read_environment();
};

// Serves until `stop` is set (SIGTERM/SIGINT in the command). Throws
// std::runtime_error when the socket cannot be created.
void run_reference_conductor(const ReferenceConductorOptions& options, const std::atomic<bool>& stop);

}  // namespace aiway
