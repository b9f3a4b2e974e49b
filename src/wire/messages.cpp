#include "wire/messages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace aiway::wire {
namespace {

using nlohmann::json;

// The 13 capability fields a Handshake or Connected must carry.
constexpr std::string_view kCapabilities =
    R"({"color":false,"avatar":false,"avatar_animations":false,"tasks":false,"streaming":true,"images":false,)"
    R"("audio":false,"rich_text":false,"pointer_input":false,"keyboard_input":true,"clipboard":false,)"
    R"("max_width":80,"max_height":24})";

// Variants ai-way declares for conductor -> surface, sent or not.
constexpr std::array<std::string_view, 28> kConductorVariants = {
    "Token", "StreamEnd", "StreamError", "State", "Message", "Ack", "Notify", "Quit", "HandshakeAck", "SessionInfo",
    "StateSnapshot", "AvatarMoveTo", "AvatarMood", "AvatarGesture", "AvatarReact", "AvatarSize", "AvatarVisibility",
    "AvatarWander", "AvatarPointAt", "TaskCreated", "TaskUpdated", "TaskCompleted", "TaskFailed", "TaskFocus", "Ping",
    "QueryCapabilities", "LayoutHint", "SummaryReady"};

constexpr std::array<std::string_view, 16> kSurfaceVariants = {
    "Handshake", "Connected", "UserMessage", "QuitRequested", "Disconnected", "UserCommand", "UserTyping", "Pong",
    "Resized", "UserScrolled", "AvatarClicked", "TaskClicked", "MessageClicked", "CapabilitiesReport", "SurfaceError",
    "Heartbeat"};

bool known(std::string_view variant, auto const& list) {
  return std::find(list.begin(), list.end(), variant) != list.end() || variant.starts_with("Conversation");
}

// The variant and its body of an externally tagged enum value.
bool split_variant(const json& j, std::string& variant, const json*& body) {
  body = nullptr;
  if (j.is_string()) {  // a unit variant
    variant = j.get<std::string>();
    return true;
  }
  if (!j.is_object() || j.size() != 1) return false;
  variant = j.begin().key();
  body = &j.begin().value();
  return true;
}

bool string_field(const json* body, const char* name, std::string& out) {
  if (!body || !body->is_object()) return false;
  const auto it = body->find(name);
  if (it == body->end() || !it->is_string()) return false;
  out = it->get_ref<const std::string&>();
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | cp >> 6));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | cp >> 12));
    out.push_back(char(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | cp >> 18));
    out.push_back(char(0x80 | (cp >> 12 & 0x3F)));
    out.push_back(char(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

// Reads a JSON string body (after its opening quote) up to its closing quote
// into `out`; `i` ends after the quote. False on anything the fast path does
// not handle exactly (the full parser then decides).
bool read_string(std::string_view s, std::size_t& i, std::string& out) {
  out.clear();
  while (i < s.size()) {
    const std::size_t run = s.find_first_of("\"\\", i);
    if (run == std::string_view::npos) return false;
    for (std::size_t k = i; k < run; ++k)
      if (static_cast<unsigned char>(s[k]) < 0x20) return false;  // raw control characters are invalid JSON
    out.append(s.substr(i, run - i));
    i = run;
    if (s[i] == '"') {
      ++i;
      return true;
    }
    if (++i >= s.size()) return false;
    switch (s[i++]) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        if (i + 4 > s.size()) return false;
        std::uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) {
          const int d = hex_digit(s[i + k]);
          if (d < 0) return false;
          cp = cp << 4 | std::uint32_t(d);
        }
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // surrogate pairs: the full parser
        append_utf8(out, cp);
        break;
      }
      default: return false;
    }
  }
  return false;
}

// {"Token":{"message_id":"…","text":"…"}} exactly, fields in ai-way's order.
bool parse_token_fast(std::string_view s, ConductorMessage& out) {
  constexpr std::string_view kHead = R"({"Token":{"message_id":")";
  constexpr std::string_view kMiddle = R"(,"text":")";
  if (!s.starts_with(kHead)) return false;
  std::size_t i = kHead.size();
  if (!read_string(s, i, out.message_id)) return false;
  if (s.substr(i, kMiddle.size()) != kMiddle) return false;
  i += kMiddle.size();
  if (!read_string(s, i, out.text)) return false;
  if (s.substr(i) != "}}") return false;
  out.kind = ConductorMessage::Kind::token;
  return true;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t run = i;
    while (run < text.size() && text[run] != '"' && text[run] != '\\' && static_cast<unsigned char>(text[run]) >= 0x20) ++run;
    out.append(text.substr(i, run - i));
    if (run == text.size()) break;
    const char c = text[run];
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: fmt::format_to(std::back_inserter(out), "\\u{:04x}", unsigned(static_cast<unsigned char>(c)));
    }
    i = run + 1;
  }
  out.push_back('"');
}

namespace {
std::string with_event_id(std::string_view variant, std::string_view event_id, std::string_view rest = {}) {
  std::string out = fmt::format(R"({{"{}":{{"event_id":)", variant);
  append_json_string(out, event_id);
  out.append(rest);
  out.append("}}");
  return out;
}
}  // namespace

std::string handshake_event(std::string_view event_id) {
  return with_event_id("Handshake", event_id,
                       fmt::format(R"(,"protocol_version":1,"surface_type":"Headless","capabilities":{},"auth_token":null)",
                                   kCapabilities));
}
std::string connected_event(std::string_view event_id) {
  return with_event_id("Connected", event_id, fmt::format(R"(,"surface_type":"Headless","capabilities":{})", kCapabilities));
}
std::string user_message_event(std::string_view event_id, std::string_view content) {
  std::string rest = R"(,"content":)";
  append_json_string(rest, content);
  return with_event_id("UserMessage", event_id, rest);
}
std::string quit_requested_event(std::string_view event_id) { return with_event_id("QuitRequested", event_id); }
std::string disconnected_event(std::string_view event_id) {
  return with_event_id("Disconnected", event_id, R"(,"reason":null)");
}

bool parse_surface_event(std::string_view text, SurfaceEvent& out) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return false;
  const json* body = nullptr;
  if (!split_variant(j, out.variant, body) || !known(out.variant, kSurfaceVariants)) return false;
  out.kind = SurfaceEvent::Kind::other;
  out.event_id.clear();
  out.content.clear();
  string_field(body, "event_id", out.event_id);
  const std::string& v = out.variant;
  if (v == "Handshake" || v == "Connected") {
    if (!body || !body->is_object() || !body->contains("surface_type") || !body->contains("capabilities")) return false;
    out.kind = v == "Handshake" ? SurfaceEvent::Kind::handshake : SurfaceEvent::Kind::connected;
    if (out.kind == SurfaceEvent::Kind::handshake) {
      const auto it = body->find("protocol_version");
      if (it == body->end() || !it->is_number_integer()) return false;
      out.protocol_version = it->get<std::int64_t>();
    }
  } else if (v == "UserMessage") {
    out.kind = SurfaceEvent::Kind::user_message;
    if (!string_field(body, "content", out.content)) return false;
  } else if (v == "QuitRequested") {
    out.kind = SurfaceEvent::Kind::quit_requested;
  } else if (v == "Disconnected") {
    out.kind = SurfaceEvent::Kind::disconnected;
  } else if (v == "UserCommand") {
    out.kind = SurfaceEvent::Kind::user_command;
    if (!string_field(body, "command", out.content)) return false;
  }
  if (out.kind != SurfaceEvent::Kind::other && out.event_id.empty()) return false;  // a required field
  return true;
}

void append_token_message(std::string& out, std::string_view message_id, std::string_view text) {
  out.append(R"({"Token":{"message_id":)");
  append_json_string(out, message_id);
  out.append(R"(,"text":)");
  append_json_string(out, text);
  out.append("}}");
}

std::string stream_end_message(std::string_view message_id, std::string_view final_content, std::uint64_t token_count,
                               std::uint64_t elapsed_ms) {
  std::string out = R"({"StreamEnd":{"message_id":)";
  append_json_string(out, message_id);
  out.append(R"(,"final_content":)");
  append_json_string(out, final_content);
  const double seconds = double(elapsed_ms) / 1e3;
  fmt::format_to(std::back_inserter(out),
                 R"(,"metadata":{{"model_id":"yollayah","elapsed_ms":{},"token_count":{},"tokens_per_second":{},)"
                 R"("agent_tasks_spawned":0,"files_processed":0,"bytes_processed":0,"network_involved":false,"context_hint":null}}}}}})",
                 elapsed_ms, token_count, seconds > 0 ? fmt::format("{:.1f}", double(token_count) / seconds) : "null");
  return out;
}

std::string stream_error_message(std::string_view message_id, std::string_view error) {
  std::string out = R"({"StreamError":{"message_id":)";
  append_json_string(out, message_id);
  out.append(R"(,"error":)");
  append_json_string(out, error);
  out.append("}}");
  return out;
}

std::string state_message(std::string_view state) { return fmt::format(R"({{"State":{{"state":"{}"}}}})", state); }
std::string ack_message(std::string_view event_id) { return with_event_id("Ack", event_id); }
std::string notify_message(std::string_view level, std::string_view message) {
  std::string out = fmt::format(R"({{"Notify":{{"level":"{}","title":null,"message":)", level);
  append_json_string(out, message);
  out.append("}}");
  return out;
}
std::string quit_message() { return R"({"Quit":{"message":"Goodbye!"}})"; }
std::string chat_message(std::string_view id, std::string_view role, std::string_view content, std::string_view content_type) {
  std::string out = R"({"Message":{"id":)";
  append_json_string(out, id);
  fmt::format_to(std::back_inserter(out), R"(,"role":"{}","content":)", role);
  append_json_string(out, content);
  fmt::format_to(std::back_inserter(out), R"(,"content_type":"{}"}}}})", content_type);
  return out;
}
std::string handshake_ack_message(std::string_view connection_id, bool accepted, std::string_view rejection_reason) {
  std::string out = fmt::format(R"({{"HandshakeAck":{{"accepted":{},"connection_id":)", accepted);
  append_json_string(out, connection_id);
  out.append(R"(,"rejection_reason":)");
  if (accepted) out.append("null");
  else append_json_string(out, rejection_reason);
  out.append(R"(,"protocol_version":1}})");
  return out;
}
std::string avatar_command_message(std::string_view name, std::string_view args) {
  // ai-way maps each command to its own variant; a stand-in only needs one
  // that a surface recognises and that carries the command.
  std::string out = R"({"AvatarGesture":{"gesture":)";
  append_json_string(out, fmt::format("{} {}", name, args));
  out.append(R"(,"duration_ms":0}})");
  return out;
}

bool parse_conductor_message(std::string_view text, ConductorMessage& out) {
  if (parse_token_fast(text, out)) return true;
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return false;
  const json* body = nullptr;
  if (!split_variant(j, out.variant, body) || !known(out.variant, kConductorVariants)) return false;
  using Kind = ConductorMessage::Kind;
  const std::string& v = out.variant;
  out.kind = Kind::other;
  out.message_id.clear();
  out.text.clear();
  if (v == "Token") {
    if (!string_field(body, "message_id", out.message_id) || !string_field(body, "text", out.text)) return false;
    out.kind = Kind::token;
  } else if (v == "StreamEnd") {
    if (!string_field(body, "message_id", out.message_id)) return false;
    string_field(body, "final_content", out.text);
    out.kind = Kind::stream_end;
  } else if (v == "StreamError") {
    if (!string_field(body, "message_id", out.message_id)) return false;
    string_field(body, "error", out.text);
    out.kind = Kind::stream_error;
  } else if (v == "State") {
    if (!string_field(body, "state", out.text)) return false;
    out.kind = Kind::state;
  } else if (v == "Ack") {
    if (!string_field(body, "event_id", out.text)) return false;
    out.kind = Kind::ack;
  } else if (v == "Notify") {
    string_field(body, "level", out.text);
    out.kind = Kind::notify;
  } else if (v == "Quit") {
    out.kind = Kind::quit;
  } else if (v == "HandshakeAck") {
    out.kind = Kind::handshake_ack;
  } else if (v == "Message") {
    string_field(body, "id", out.message_id);
    string_field(body, "role", out.text);
    out.kind = Kind::chat_message;
  }
  return true;
}

}  // namespace aiway::wire
