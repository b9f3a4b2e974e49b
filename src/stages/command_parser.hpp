// Streaming parser of inline avatar commands `[yolla:<cmd> <args…>]`. Unlike
// ai-way's, it carries its state across token boundaries, so a command split
// over two tokens is still recognised and removed from the text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace aiway {

struct AvatarCommand {
  std::string_view name;  // mood, move, wave, task, …
  std::string_view args;  // the rest, trimmed
};

// Validates a command as ai-way does: a known name and argument limits.
bool is_valid_command(const AvatarCommand& command);

class CommandParser {
 public:
  static constexpr std::size_t kMaxCommandBytes = 256;  // longer bracketed text stays text

  // Feeds one token's text. Clean text (commands removed) is appended to
  // `clean`; for each complete command on_command(AvatarCommand) is called.
  // Returns true when the text could pass through unchanged (no '[' involved
  // and nothing pending), so callers can skip the copy.
  template <class OnCommand>
  bool feed(std::string_view text, std::string& clean, OnCommand&& on_command);

  // End of stream: anything pending was not a command and becomes text.
  void flush(std::string& clean);
  bool pending() const { return !pending_.empty(); }

 private:
  static constexpr std::string_view kPrefix = "[yolla:";
  std::string pending_;  // "[", "[yol", "[yolla:mood ha" …, capacity reused
};

template <class OnCommand>
bool CommandParser::feed(std::string_view text, std::string& clean, OnCommand&& on_command) {
  if (pending_.empty() && text.find('[') == std::string_view::npos) return true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (pending_.empty()) {
      if (c != '[') {
        // Copy the run up to the next '[' at once.
        const std::size_t next = text.find('[', i);
        const std::size_t end = next == std::string_view::npos ? text.size() : next;
        clean.append(text.substr(i, end - i));
        i = end - 1;
      } else {
        pending_.push_back(c);
      }
      continue;
    }
    if (pending_.size() < kPrefix.size()) {
      if (c == kPrefix[pending_.size()]) {
        pending_.push_back(c);
      } else {
        // Not a command after all: what was held back is text; re-read c.
        clean.append(pending_);
        pending_.clear();
        --i;
      }
      continue;
    }
    if (c == ']') {
      std::string_view body = std::string_view(pending_).substr(kPrefix.size());
      const std::size_t space = body.find(' ');
      AvatarCommand command{body.substr(0, space), space == std::string_view::npos ? std::string_view{} : body.substr(space + 1)};
      on_command(command);
      pending_.clear();
    } else if (c == '[' || pending_.size() >= kMaxCommandBytes) {
      clean.append(pending_);
      pending_.clear();
      --i;
    } else {
      pending_.push_back(c);
    }
  }
  return false;
}

}  // namespace aiway
