// ai-way's socket messages as JSON (serde's externally tagged enums):
// builders for both directions and parsers for both directions. The surface's
// hot path, a Token frame, has a validated fast path that allocates nothing
// once the output strings have grown; anything it does not recognise exactly
// goes through the full JSON parser, so the two always agree.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace aiway::wire {

// Appends `text` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view text);

// --- surface -> conductor (events) -------------------------------------------
std::string handshake_event(std::string_view event_id);
std::string connected_event(std::string_view event_id);
std::string user_message_event(std::string_view event_id, std::string_view content);
std::string quit_requested_event(std::string_view event_id);
std::string disconnected_event(std::string_view event_id);

struct SurfaceEvent {
  enum class Kind { handshake, connected, user_message, quit_requested, disconnected, user_command, other };
  Kind kind = Kind::other;
  std::string variant;
  std::string event_id;
  std::string content;  // user_message; user_command: the command
  std::int64_t protocol_version = 0;
};
// False when the JSON is invalid, the variant unknown or a required field
// missing: the frame is undecodable (what the real daemon wedges on).
bool parse_surface_event(std::string_view json, SurfaceEvent& out);

// --- conductor -> surface (messages) -----------------------------------------
void append_token_message(std::string& out, std::string_view message_id, std::string_view text);
std::string stream_end_message(std::string_view message_id, std::string_view final_content, std::uint64_t token_count,
                               std::uint64_t elapsed_ms);
std::string stream_error_message(std::string_view message_id, std::string_view error);
std::string state_message(std::string_view state);
std::string ack_message(std::string_view event_id);
std::string notify_message(std::string_view level, std::string_view message);
std::string quit_message();
std::string chat_message(std::string_view id, std::string_view role, std::string_view content, std::string_view content_type);
std::string handshake_ack_message(std::string_view connection_id, bool accepted, std::string_view rejection_reason);
std::string avatar_command_message(std::string_view name, std::string_view args);

struct ConductorMessage {
  enum class Kind { token, stream_end, stream_error, state, ack, notify, quit, handshake_ack, chat_message, other };
  Kind kind = Kind::other;
  std::string variant;
  std::string message_id;  // token, stream_end, stream_error
  std::string text;        // token: its text; state: the state; ack: the event id; notify: level; stream_error: error
};
// False when the JSON is invalid or the variant is not one ai-way declares.
bool parse_conductor_message(std::string_view json, ConductorMessage& out);

}  // namespace aiway::wire
