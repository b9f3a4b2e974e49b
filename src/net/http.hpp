// HTTP/1.1 over the bounded sockets of net/socket.hpp, parsed and serialised
// by Boost.Beast: this code owns the socket reads and writes (every wait
// bounded, every chunk timed, a connection reset on purpose), Beast owns the
// protocol. Include only where HTTP is spoken: Beast is heavy to compile.
#pragma once

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

#include <sstream>
#include <string>

#include "net/socket.hpp"

namespace aiway::net {

namespace http = boost::beast::http;

// Feeds `pending` to the parser; what it consumed is erased (once: a read of
// many chunks must not move the rest of the buffer per chunk). need_more is not an error.
template <class Parser>
void put_pending(Parser& parser, std::string& pending, boost::beast::error_code& ec) {
  std::size_t at = 0;
  while (at < pending.size() && !parser.is_done()) {
    const std::size_t used = parser.put(boost::asio::buffer(pending.data() + at, pending.size() - at), ec);
    at += used;
    if (ec == http::error::need_more) {
      ec = {};
      break;
    }
    if (ec || used == 0) break;
  }
  pending.erase(0, at);
}

// Reads until the parser has the header (header_only) or the whole message.
template <class Parser>
IoStatus read_http(int fd, Parser& parser, std::string& pending, bool header_only, double timeout_ms,
                   const std::atomic<bool>* stop, boost::beast::error_code& ec) {
  char buffer[16 * 1024];
  for (;;) {
    put_pending(parser, pending, ec);
    if (ec) return IoStatus::error;
    if (header_only ? parser.is_header_done() : parser.is_done()) return IoStatus::ok;
    std::size_t got = 0;
    const IoStatus s = receive_some(fd, buffer, sizeof buffer, got, timeout_ms, stop);
    if (s == IoStatus::closed) {
      parser.put_eof(ec);  // a body delimited by the end of the connection ends here
      if (!ec && parser.is_done()) return IoStatus::ok;
      return IoStatus::closed;
    }
    if (s != IoStatus::ok) return s;
    pending.append(buffer, got);
  }
}

// A response or request header as it goes on the wire (start line, fields, blank line).
template <bool isRequest, class Fields>
std::string header_text(const http::header<isRequest, Fields>& header) {
  std::ostringstream out;
  out << header;
  return out.str();
}

}  // namespace aiway::net
