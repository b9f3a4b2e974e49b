#include "targets/preflight.hpp"

#include <fmt/format.h>

#include "aiway/input_error.hpp"
#include "net/socket.hpp"
#include "net/url.hpp"

namespace aiway {

void check_target_before_run(const Scenario& s, double unix_now) {
  const TargetConfig& t = s.target;
  const std::string where = s.source.empty() ? s.name : s.source;
  if (t.kind == TargetKind::aiway && !t.socket.empty() && !t.started_command().empty()) {
    try {
      net::claim_unix_socket_path(t.socket);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: target.socket: {}", where, e.what()));
    }
  }
  if (t.kind != TargetKind::http) return;
  if (s.starts_proxy() && t.url.find("{port}") == std::string::npos && t.url.find("{upstream}") == std::string::npos) {
    const auto url = net::parse_http_url(t.url);
    if (url && net::connect_tcp(url->address.host, url->address.port, 200))
      throw InputError(fmt::format("{}: target.url: {}:{} is already taken by another process: the proxy the scenario "
                                   "starts could not listen there and the run would measure whatever does (use {{port}})",
                                   where, url->address.host, url->address.port));
  }
  if (t.start_at > 0) {
    const double last_start = t.start_at + double(s.repetitions - 1) * t.start_every_s;
    if (last_start - unix_now > s.timeout_s)
      throw InputError(fmt::format("{}: target.start_at: the last repetition would start {:.0f} s from now, beyond the "
                                   "repetition's timeout_s ({} s): a run waits at most that long",
                                   where, last_start - unix_now, s.timeout_s));
  }
}

}  // namespace aiway
