#include "run/memory_estimate.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "aiway/input_error.hpp"
#include "aiway/token.hpp"

namespace aiway {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kStreamHistogramBytes = 30e3;  // 2 significant digits up to 60 s

std::string mib(double bytes) {
  return bytes >= 1024 * kMiB ? fmt::format("{:.1f} GiB", bytes / 1024 / kMiB) : fmt::format("{:.0f} MiB", bytes / kMiB);
}

}  // namespace

double MemoryEstimate::total() const {
  double sum = 0;
  for (const auto& p : parts) sum += p.bytes;
  return sum;
}

MemoryEstimate estimate_memory(const Scenario& s) {
  MemoryEstimate e;
  const double streams = s.backend.streams;
  const double per_stream_text = double(s.backend.messages) * double(s.backend.size);
  // A token's text lives inside the Token up to 15 bytes, on the heap beyond.
  const double token = double(sizeof(Token)) + (s.backend.size > 15 ? double(s.backend.size) + 16 : 0);
  const double transcript = std::min(double(s.conductor.transcript_max_bytes), per_stream_text);
  e.parts.push_back({fmt::format("transcripts: {} streams x {}", s.backend.streams, mib(transcript)), streams * transcript});
  const double slots = double(s.channel.capacity + s.surface_channel.capacity);
  e.parts.push_back({fmt::format("channels: {:.0f} slots x {:.0f} bytes", slots, token), slots * token});
  e.parts.push_back({"batches in flight", 4.0 * (s.pipeline.batch + streams) * token});
  e.parts.push_back({fmt::format("scrollback: {} streams x {} lines x {} columns", s.backend.streams,
                                 s.surface.scrollback_lines, s.surface.width),
                     streams * double(s.surface.scrollback_lines) * (double(s.surface.width) + 32)});
  if (s.surface.rewrap == Rewrap::full)
    e.parts.push_back({fmt::format("whole answers re-wrapped: {} streams x {}", s.backend.streams, mib(per_stream_text)),
                       streams * per_stream_text});
  if (s.backend.streams > 1 && s.measure.latency)
    e.parts.push_back({"per-stream latency histograms", streams * kStreamHistogramBytes});
  return e;
}

void check_memory_budget(const Scenario& s, std::int64_t available_bytes) {
  const MemoryEstimate e = estimate_memory(s);
  const bool set = s.measure.max_memory_mib.has_value();
  if (!set && available_bytes <= 0) return;  // nothing to judge by
  const double budget = set ? *s.measure.max_memory_mib * kMiB : 0.5 * double(available_bytes);
  if (e.total() <= budget) return;
  std::vector<MemoryPart> parts = e.parts;
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
  std::string largest;
  for (std::size_t i = 0; i < parts.size() && i < 2; ++i)
    largest += fmt::format("{}{} = {}", i ? "; " : "", parts[i].what, mib(parts[i].bytes));
  const auto at = s.origin.find("measure.max_memory_mib");
  throw InputError(fmt::format(
      "{}: scenario {} needs about {} ({}), more than {} {}: lower those bounds, or raise measure.max_memory_mib",
      at != s.origin.end() ? at->second : (s.source.empty() ? s.name : s.source), s.name, mib(e.total()), largest,
      set ? "its measure.max_memory_mib of"
          : "the budget of half the memory this process can have (the least of MemAvailable, its cgroup's and "
            "ulimit -v's room),",
      mib(budget)));
}

}  // namespace aiway
