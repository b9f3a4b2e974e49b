// The token-streaming HTTP APIs the harness speaks at both ends, chosen by
// the request path: OpenAI's chat completions as server-sent events
// ("data: {chunk}" events, ending with "data: [DONE]"), and Ollama's chat and
// generate as NDJSON lines (the last one says "done": true).
#pragma once

#include <optional>
#include <string_view>

namespace aiway::net {

enum class StreamApi { openai_chat, ollama_chat, ollama_generate };

inline std::optional<StreamApi> stream_api_of(std::string_view path) {
  path = path.substr(0, path.find('?'));
  if (path == "/v1/chat/completions") return StreamApi::openai_chat;
  if (path == "/api/chat") return StreamApi::ollama_chat;
  if (path == "/api/generate") return StreamApi::ollama_generate;
  return std::nullopt;
}

inline bool is_sse(StreamApi api) { return api == StreamApi::openai_chat; }

}  // namespace aiway::net
