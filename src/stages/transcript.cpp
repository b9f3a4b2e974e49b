#include "stages/transcript.hpp"

#include <algorithm>
#include <cstring>

namespace aiway {

void Transcript::append_across_chunks(std::string_view text) {
  if (max_bytes_ == 0) return;
  while (!text.empty()) {
    if (room_ == 0) {
      // Not value-initialised: pages are touched only as text is written. A
      // chunk trimmed off the front is reused: freeing one and allocating the
      // next left the allocator holding both, 8 MiB more RSS on 1m-medium.
      chunks_.push_back(spare_ ? std::move(spare_) : std::unique_ptr<char[]>(new char[kChunkBytes]));
      cursor_ = chunks_.back().get();
      room_ = kChunkBytes;
    }
    const std::size_t n = std::min(room_, text.size());
    std::memcpy(cursor_, text.data(), n);
    cursor_ += n;
    room_ -= n;
    written_ += n;
    text.remove_prefix(n);
  }
  if (bytes() > max_bytes_) trim();
}

void Transcript::end_message() {
  const std::uint64_t last_end = message_ends_.empty() ? start_ : message_ends_.back();
  if (written_ > last_end) message_ends_.push_back(written_);
}

void Transcript::trim() {
  while (bytes() > max_bytes_ && !message_ends_.empty()) {
    start_ = message_ends_.front();
    message_ends_.pop_front();
  }
  // The streaming message alone is over the limit: keep its newest text, all
  // but one chunk of the limit (half of a limit under two chunks), so a trim
  // comes once per chunk appended and costs O(1) per byte, amortised. Keeping
  // half would make what is kept (and the RSS) swing between half the limit and
  // all of it.
  if (bytes() > max_bytes_) {
    const std::uint64_t keep = max_bytes_ >= 2 * kChunkBytes ? max_bytes_ - kChunkBytes : max_bytes_ / 2;
    start_ = written_ - keep;
  }
  while (!chunks_.empty() && chunks_base_ + kChunkBytes <= start_) {
    spare_ = std::move(chunks_.front());
    chunks_.pop_front();
    chunks_base_ += kChunkBytes;
  }
}

std::string Transcript::text() const {
  std::string out;
  out.reserve(std::size_t(bytes()));
  for (std::uint64_t at = start_; at < written_;) {
    const std::uint64_t index = (at - chunks_base_) / kChunkBytes;
    const std::uint64_t offset = (at - chunks_base_) % kChunkBytes;
    const std::uint64_t n = std::min<std::uint64_t>(kChunkBytes - offset, written_ - at);
    out.append(chunks_[std::size_t(index)].get() + offset, std::size_t(n));
    at += n;
  }
  return out;
}

}  // namespace aiway
