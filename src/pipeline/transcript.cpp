#include "pipeline/transcript.hpp"

namespace aiway {

void Transcript::append(std::string_view text) {
  if (max_bytes_ == 0) return;
  current_.append(text);
  bytes_ += text.size();
  if (bytes_ > max_bytes_) trim();
}

void Transcript::end_message() {
  if (current_.empty()) return;
  finished_.push_back(std::move(current_));
  current_ = std::string();
}

void Transcript::trim() {
  while (bytes_ > max_bytes_ && !finished_.empty()) {
    bytes_ -= finished_.front().size();
    finished_.pop_front();
  }
  if (bytes_ > max_bytes_) {
    // The streaming message alone is over the limit: keep its newest half of
    // the limit, so trimming costs O(1) per appended byte, amortised.
    const std::size_t keep = std::size_t(max_bytes_ / 2);
    current_.erase(0, current_.size() - keep);
    bytes_ = current_.size();
  }
}

}  // namespace aiway
