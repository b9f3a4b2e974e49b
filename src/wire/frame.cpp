#include "wire/frame.hpp"

#include <zlib.h>

#include <cstring>

namespace aiway::wire {
namespace {

void put_be32(std::string& out, std::uint32_t v) {
  const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.append(bytes, 4);
}

std::uint32_t get_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t(u[0]) << 24 | std::uint32_t(u[1]) << 16 | std::uint32_t(u[2]) << 8 | std::uint32_t(u[3]);
}

}  // namespace

std::uint32_t crc32(std::string_view bytes) {
  return std::uint32_t(::crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), uInt(bytes.size())));
}

void append_frame(std::string& out, std::string_view json) {
  put_be32(out, std::uint32_t(json.size()));
  put_be32(out, crc32(json));
  out.append(json);
}

std::string frame(std::string_view json) {
  std::string out;
  out.reserve(kHeaderBytes + json.size());
  append_frame(out, json);
  return out;
}

void FrameDecoder::feed(const char* data, std::size_t size) {
  if (broken_) return;
  // Compact before growing: what was consumed is never read again.
  if (read_ > 0 && (read_ == buffer_.size() || read_ >= 64 * 1024)) {
    buffer_.erase(0, read_);
    read_ = 0;
  }
  buffer_.append(data, size);
}

FrameDecoder::Status FrameDecoder::next() {
  payload_ = {};
  if (broken_) return Status::too_long;
  if (buffer_.size() - read_ < kHeaderBytes) return Status::need_more;
  const char* head = buffer_.data() + read_;
  declared_ = get_be32(head);
  if (declared_ > kMaxFrameBytes) {
    broken_ = true;
    buffer_.clear();
    read_ = 0;
    return Status::too_long;
  }
  if (buffer_.size() - read_ < kHeaderBytes + declared_) return Status::need_more;
  const std::string_view body(head + kHeaderBytes, declared_);
  read_ += kHeaderBytes + declared_;
  if (crc32(body) != get_be32(head + 4)) return Status::bad_crc;
  payload_ = body;
  return Status::frame;
}

}  // namespace aiway::wire
