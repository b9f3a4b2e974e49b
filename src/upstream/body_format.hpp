// How the harness's upstream frames each token of a streamed body, per API:
// an NDJSON line, or a server-sent event ("data: {chunk}" and a blank line).
// The writer is the upstream; the reader's fast path is the HTTP client's:
// a line or event exactly as the upstream writes it yields its text without
// a JSON parser (anything else, e.g. what a proxy rewrote, goes to the full
// parser; a test keeps the two in agreement).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/stream_api.hpp"
#include "wire/messages.hpp"

namespace aiway {

struct BodyFormat {
  net::StreamApi api;

  // Around a token's JSON string, per API; SSE events lose their "data: "
  // and blank line to the event splitter, NDJSON lines their newline.
  static constexpr std::string_view kChatChunkPrefix =
      R"({"id":"chatcmpl-aiway-stress","object":"chat.completion.chunk","created":0,"model":"yollayah","choices":[{"index":0,"delta":{"content":)";
  static constexpr std::string_view kChatChunkSuffix = R"(},"finish_reason":null}]})";
  static constexpr std::string_view kOllamaChatPrefix = R"({"model":"yollayah","message":{"role":"assistant","content":)";
  static constexpr std::string_view kOllamaChatSuffix = R"(},"done":false})";
  static constexpr std::string_view kGeneratePrefix = R"({"model":"yollayah","response":)";
  static constexpr std::string_view kGenerateSuffix = R"(,"done":false})";

  std::string_view content_type() const { return net::is_sse(api) ? "text/event-stream" : "application/x-ndjson"; }
  // The unit a split or a chunk never cuts through ends with this.
  std::string_view terminator() const { return net::is_sse(api) ? "\n\n" : "\n"; }
  std::string_view prefix() const {
    return api == net::StreamApi::openai_chat ? kChatChunkPrefix
           : api == net::StreamApi::ollama_chat ? kOllamaChatPrefix : kGeneratePrefix;
  }
  std::string_view suffix() const {
    return api == net::StreamApi::openai_chat ? kChatChunkSuffix
           : api == net::StreamApi::ollama_chat ? kOllamaChatSuffix : kGenerateSuffix;
  }

  void token(std::string_view text, std::string& out) const {
    if (net::is_sse(api)) out += "data: ";
    out += prefix();
    wire::append_json_string(out, text);
    out += suffix();
    out += terminator();
  }
  void done(std::string& out) const {
    switch (api) {
      case net::StreamApi::openai_chat:
        out += R"(data: {"id":"chatcmpl-aiway-stress","object":"chat.completion.chunk","created":0,"model":"yollayah","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"
               "\n\ndata: [DONE]\n\n";
        break;
      case net::StreamApi::ollama_chat:
        out += R"({"model":"yollayah","message":{"role":"assistant","content":""},"done":true})" "\n";
        break;
      case net::StreamApi::ollama_generate: out += R"({"model":"yollayah","response":"","done":true})" "\n"; break;
    }
  }
  void error(std::string& out) const {
    if (net::is_sse(api))
      out += R"(data: {"error":{"message":"the harness's upstream fails mid-stream on purpose","type":"server_error"}})" "\n\n";
    else
      out += R"({"error":"the harness's upstream fails mid-stream on purpose"})" "\n";
  }

  // A token event's data or line exactly as token() wrote it, with a text
  // that needed no escaping: the text. Absent for anything else.
  std::optional<std::string_view> fast_token(std::string_view unit) const {
    const std::string_view pre = prefix(), post = suffix();
    if (unit.size() < pre.size() + post.size() + 2 || !unit.starts_with(pre) || !unit.ends_with(post)) return std::nullopt;
    const std::string_view quoted = unit.substr(pre.size(), unit.size() - pre.size() - post.size());
    if (quoted.front() != '"' || quoted.back() != '"') return std::nullopt;
    const std::string_view text = quoted.substr(1, quoted.size() - 2);
    for (const char c : text)
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    return text;
  }
};

}  // namespace aiway
