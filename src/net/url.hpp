// The two addresses an HTTP target names: "host:port" (where the harness's
// upstream listens) and "http://host:port/path" (where its clients ask).
// Only plain http: the harness measures what a proxy does to a token stream,
// and TLS would measure the cipher.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aiway::net {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// "127.0.0.1:8080", "localhost:0"; absent when there is no host or the port is not 0-65535.
inline std::optional<HostPort> parse_host_port(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  unsigned port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port > 65535) return std::nullopt;
  return HostPort{std::string(text.substr(0, colon)), std::uint16_t(port)};
}

struct HttpUrl {
  HostPort address;
  std::string path;  // with its query, if any; "/" when the URL has none
};

inline std::optional<HttpUrl> parse_http_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return std::nullopt;
  url.remove_prefix(scheme.size());
  const std::size_t slash = url.find('/');
  const auto address = parse_host_port(url.substr(0, slash));
  if (!address || address->port == 0) return std::nullopt;
  return HttpUrl{*address, slash == std::string_view::npos ? std::string("/") : std::string(url.substr(slash))};
}

}  // namespace aiway::net
