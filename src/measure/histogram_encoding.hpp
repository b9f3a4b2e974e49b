// A latency histogram in HdrHistogram's own exchange form: the V2 encoding
// (ZigZag LEB128 counts, zero runs folded), zlib-compressed and base64'd --
// the "HISTF…" strings of HdrHistogram's interval logs (.hlog), which
// HdrHistogram (Java, C, Go, JS: hdr-histogram-js) decodes. Guarantees:
// encode then decode gives back every count exactly; decode never reads past
// its input and refuses anything over its bounds.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "aiway/latency_histogram.hpp"
#include "aiway/results.hpp"

namespace aiway {

// "HISTF…": base64 of the compressed V2 encoding (values in the histogram's
// unit, here ns).
std::string encode_histogram(const LatencyHistogram& histogram);

// The histogram back, or nullopt (with `error` saying why) for anything that
// is not such a string or exceeds 64 MiB uncompressed.
std::optional<LatencyHistogram> decode_histogram(std::string_view encoded, std::string* error = nullptr);

// The percentile spectrum as the results keep it (values in us), from a
// histogram of ns.
std::vector<SpectrumLine> spectrum_lines(const LatencyHistogram& histogram);

// An HdrHistogram interval log (format 1.3), one interval line per entry.
struct LogInterval {
  std::string tag;      // e.g. the scenario's name ("" for none; commas and spaces become '_')
  double start_s = 0;   // seconds since the log's start
  double length_s = 0;
  std::string histogram;  // encode_histogram's string
  double max_ms = 0;    // the interval's maximum, in ms (values in ns)
};
std::string histogram_log(const std::vector<LogInterval>& intervals, double start_epoch_s);

}  // namespace aiway
