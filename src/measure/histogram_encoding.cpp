#include "measure/histogram_encoding.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace aiway {
namespace {

// HdrHistogram's V2 cookies, with the word-size nibble 0x10 that marks the
// ZigZag LEB128 ("TLZE") payload.
constexpr std::uint32_t kEncodingCookie = 0x1c849303u | 0x10u;
constexpr std::uint32_t kCompressedCookie = 0x1c849304u | 0x10u;
constexpr std::size_t kHeaderBytes = 40;
constexpr std::size_t kMaxUncompressed = std::size_t(64) << 20;

void put32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(char((v >> shift) & 0xff));
}
void put64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(char((v >> shift) & 0xff));
}
std::uint64_t get(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | std::uint8_t(in[at + std::size_t(i)]);
  return v;
}

// ZigZag, then LEB128 of at most 9 bytes (the 9th carries 8 bits), as HdrHistogram's ZigZagEncoding.
void put_zigzag(std::string& out, std::int64_t value) {
  std::uint64_t v = (std::uint64_t(value) << 1) ^ std::uint64_t(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if (v < 0x80) {
      out.push_back(char(v));
      return;
    }
    out.push_back(char((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v & 0xff));
}
bool get_zigzag(std::string_view in, std::size_t& at, std::int64_t& value) {
  std::uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (at >= in.size()) return false;
    const std::uint8_t byte = std::uint8_t(in[at++]);
    if (i == 8) {
      v |= std::uint64_t(byte) << 56;
      break;
    }
    v |= std::uint64_t(byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) break;
  }
  value = std::int64_t(v >> 1) ^ -std::int64_t(v & 1);
  return true;
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                            (i + 1 < bytes.size() ? std::uint32_t(std::uint8_t(bytes[i + 1])) << 8 : 0) |
                            (i + 2 < bytes.size() ? std::uint32_t(std::uint8_t(bytes[i + 2])) : 0);
    out.push_back(kBase64[(n >> 18) & 63]);
    out.push_back(kBase64[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kBase64[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kBase64[n & 63] : '=');
  }
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  std::array<int, 256> value{};
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[std::uint8_t(kBase64[i])] = i;
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t n = 0;
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + std::size_t(k)];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
        n <<= 6;
        continue;
      }
      if (pad || value[std::uint8_t(c)] < 0) return std::nullopt;
      n = (n << 6) | std::uint32_t(value[std::uint8_t(c)]);
    }
    out.push_back(char((n >> 16) & 0xff));
    if (pad < 2) out.push_back(char((n >> 8) & 0xff));
    if (pad < 1) out.push_back(char(n & 0xff));
  }
  return out;
}

}  // namespace

std::string encode_histogram(const LatencyHistogram& h) {
  std::string plain;
  put32(plain, kEncodingCookie);
  put32(plain, 0);  // payload length, below
  put32(plain, 0);  // normalizing index offset
  put32(plain, std::uint32_t(h.significant_digits()));
  put64(plain, 1);  // lowest discernible value
  put64(plain, std::uint64_t(h.highest_trackable()));
  double ratio = 1.0;
  std::uint64_t ratio_bits = 0;
  std::memcpy(&ratio_bits, &ratio, sizeof ratio);
  put64(plain, ratio_bits);
  const std::size_t limit = h.count() > 0 ? h.index_of(h.max()) + 1 : 0;
  for (std::size_t i = 0; i < limit;) {
    const std::int64_t count = h.count_at_index(i++);
    if (count != 0) {
      put_zigzag(plain, count);
      continue;
    }
    std::int64_t zeros = 1;
    while (i < limit && h.count_at_index(i) == 0) {
      ++zeros;
      ++i;
    }
    put_zigzag(plain, zeros > 1 ? -zeros : 0);
  }
  const std::uint32_t payload = std::uint32_t(plain.size() - kHeaderBytes);
  for (int k = 0; k < 4; ++k) plain[4 + std::size_t(k)] = char((payload >> (24 - 8 * k)) & 0xff);

  uLongf compressed_size = compressBound(uLong(plain.size()));
  std::string compressed(compressed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                reinterpret_cast<const Bytef*>(plain.data()), uLong(plain.size()), Z_DEFAULT_COMPRESSION) != Z_OK)
    throw std::runtime_error("zlib could not compress a histogram");
  compressed.resize(compressed_size);
  std::string framed;
  put32(framed, kCompressedCookie);
  put32(framed, std::uint32_t(compressed.size()));
  framed += compressed;
  return base64(framed);
}

std::optional<LatencyHistogram> decode_histogram(std::string_view encoded, std::string* error) {
  const auto fail = [&](const std::string& why) -> std::optional<LatencyHistogram> {
    if (error) *error = why;
    return std::nullopt;
  };
  const auto bytes = unbase64(encoded);
  if (!bytes) return fail("not base64");
  if (bytes->size() < 8 || get(*bytes, 0, 4) != kCompressedCookie) return fail("not a compressed HdrHistogram (V2)");
  const std::size_t length = get(*bytes, 4, 4);
  if (length != bytes->size() - 8) return fail("its compressed length does not match");
  std::string plain;
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return fail("zlib could not start");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes->data() + 8));
  z.avail_in = uInt(length);
  char chunk[16384];
  int status = Z_OK;
  while (status == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    status = inflate(&z, Z_NO_FLUSH);
    plain.append(chunk, sizeof chunk - z.avail_out);
    if (plain.size() > kMaxUncompressed) {
      inflateEnd(&z);
      return fail("over 64 MiB uncompressed");
    }
  }
  inflateEnd(&z);
  if (status != Z_STREAM_END) return fail("its compressed data is damaged");
  if (plain.size() < kHeaderBytes || get(plain, 0, 4) != kEncodingCookie) return fail("not an HdrHistogram V2 encoding");
  const std::size_t payload = get(plain, 4, 4);
  const int digits = int(get(plain, 12, 4));
  const std::uint64_t lowest = get(plain, 16, 8), highest = get(plain, 24, 8);
  if (payload != plain.size() - kHeaderBytes) return fail("its payload length does not match");
  if (get(plain, 8, 4) != 0) return fail("a normalizing index offset is not supported");
  if (digits < 1 || digits > 5 || lowest != 1 || highest < 2 || highest > std::uint64_t(INT64_MAX / 2))
    return fail("a range or precision this harness does not record");
  LatencyHistogram h(std::int64_t(highest), digits);
  std::size_t at = kHeaderBytes, index = 0;
  while (at < plain.size()) {
    std::int64_t value = 0;
    if (!get_zigzag(plain, at, value)) return fail("its counts are cut short");
    if (value < 0) {
      index += std::size_t(-value);
      continue;
    }
    if (index >= h.counts_length()) return fail("a count beyond the histogram's range");
    if (value > 0) h.record_n(h.value_at_index(index), value);
    ++index;
  }
  return h;
}

std::vector<SpectrumLine> spectrum_lines(const LatencyHistogram& h) {
  std::vector<SpectrumLine> lines;
  for (const auto& point : h.spectrum()) lines.push_back({double(point.value) / 1e3, point.percentile, point.total_count});
  return lines;
}

std::string histogram_log(const std::vector<LogInterval>& intervals, double start_epoch_s) {
  std::string out = "#[Histogram log format version 1.3]\n";
  out += fmt::format("#[StartTime: {:.3f} (seconds since epoch)]\n", start_epoch_s);
  out += "#[Values are end-to-end latencies in nanoseconds, corrected for coordinated omission; Interval_Max in ms]\n";
  out += "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
  for (const LogInterval& i : intervals) {
    std::string tag = i.tag;
    for (char& c : tag)
      if (c == ',' || c == ' ' || c == '\n' || c == '\r') c = '_';
    out += fmt::format("{}{:.3f},{:.3f},{:.3f},{}\n", tag.empty() ? "" : "Tag=" + tag + ",", i.start_s, i.length_s, i.max_ms,
                       i.histogram);
  }
  return out;
}

}  // namespace aiway
