// conductor: this binary serves as the reference ai-way conductor on a Unix
// socket, with the real daemon's behaviours as switches.
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include "app/commands.hpp"
#include "net/socket.hpp"
#include "reference_conductor/reference_conductor.hpp"

namespace aiway::app {
namespace {

class ConductorCommand final : public Command {
 public:
  void bind(CLI::App& app) override;
  int run(const AppContext&) override;

 private:
  ReferenceConductorOptions options_;
  bool legacy_ = false;
};

void ConductorCommand::bind(CLI::App& app) {
  command_ = app.add_subcommand("conductor",
                                "Serve as the reference ai-way conductor on a Unix socket (what target scenarios run against)");
  auto* c = command_;
  ReferenceConductorOptions& o = options_;
  c->add_option("--socket,-s", o.socket, "Socket path (default: $CONDUCTOR_SOCKET)")->check(kPath);
  c->add_flag("--legacy", legacy_, "Every behaviour of the real daemon below, and its 30 s upstream deadline");
  c->add_flag("--lossy-queue", o.lossy_queue, "A full 256-slot surface queue drops the message");
  c->add_flag("--broadcast-acks", o.broadcast_acks, "Every Ack goes to every surface");
  c->add_flag("--preempt-silently", o.preempt_silently, "A new message abandons the stream without an end");
  c->add_flag("--wedge-on-bad-frame", o.wedge_on_bad_frame, "An undecodable frame kills that connection's input");
  c->add_option("--upstream-deadline-ms", o.upstream_deadline_ms, "Total deadline per upstream request, body included (0: none)")
      ->check(CLI::Range(0.0, 86400e3));
  c->add_flag("--hang-on-empty-answer", o.hang_on_empty_answer, "EOF with zero tokens sends nothing");
  c->add_flag("--hold-events-for-headers", o.hold_events_for_headers, "No event is handled while waiting for the upstream's headers");
  c->add_flag("--busy-poll", o.busy_poll, "The token forwarder polls in a yielding loop");
  c->add_flag("--shared-rate-limit", o.shared_rate_limit, "One message limit for all surfaces");
  c->add_flag("--chunk-utf8", o.chunk_utf8, "Decode each body read as UTF-8 on its own");
  c->add_flag("--frame-per-write", o.frame_per_write, "Write each message on its own, never batched");
}

int ConductorCommand::run(const AppContext&) {
  try {
    options_.read_environment();
  } catch (const std::invalid_argument& e) {
    std::cerr << "aiway-stress: conductor: " << e.what() << "\n";
    return kInputError;
  }
  if (legacy_) options_.set_legacy();
  if (options_.socket.empty()) {
    const char* env = std::getenv("CONDUCTOR_SOCKET");
    if (!env || !*env) {
      std::cerr << "aiway-stress: conductor: name the socket with --socket PATH or CONDUCTOR_SOCKET\n";
      return kInputError;
    }
    options_.socket = env;
  }
  if (options_.socket.size() > net::kMaxUnixPath) {
    std::cerr << fmt::format("aiway-stress: conductor: --socket {}: {} bytes, a Unix socket path holds at most {}\n",
                             options_.socket, options_.socket.size(), net::kMaxUnixPath);
    return kInputError;
  }
  stop_on_signals();
  run_reference_conductor(options_, stop_requested());
  return kPass;
}

}  // namespace

std::unique_ptr<Command> make_conductor_command() { return std::make_unique<ConductorCommand>(); }

}  // namespace aiway::app
