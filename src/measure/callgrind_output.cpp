#include "measure/callgrind_output.hpp"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace aiway {
namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// "fn=(12) name", "fn=(12)" (a name given before) or "fn=name".
class NameTable {
 public:
  std::string resolve(std::string_view spec) {
    if (spec.empty() || spec.front() != '(') return std::string(spec);
    const std::size_t close = spec.find(')');
    if (close == std::string_view::npos) return std::string(spec);
    const std::string id(spec.substr(1, close - 1));
    std::string_view name = spec.substr(close + 1);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    if (name.empty()) {
      const auto it = names_.find(id);
      return it == names_.end() ? std::string(spec) : it->second;
    }
    return names_[id] = std::string(name);
  }

 private:
  std::unordered_map<std::string, std::string> names_;
};

std::uint64_t number(std::string_view word) {
  std::uint64_t value = 0;
  std::from_chars(word.data(), word.data() + word.size(), value);
  return value;
}

}  // namespace

std::uint64_t CallgrindCounts::with_prefix(std::string_view prefix) const {
  std::uint64_t sum = 0;
  for (auto it = inclusive.lower_bound(std::string(prefix)); it != inclusive.end() && it->first.starts_with(prefix); ++it)
    sum += it->second;
  return sum;
}

CallgrindCounts parse_callgrind_output(std::string_view text, const std::string& source) {
  CallgrindCounts out;
  NameTable functions;
  std::size_t positions = 1;    // numbers before the events on a cost line
  std::size_t ir_column = 0;    // Ir's place among the events
  bool events_seen = false;
  std::uint64_t* function = nullptr;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line.front() == '#') continue;
    const char c = line.front();
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '*') {
      // A cost line: its own cost, or (right after calls=) the call's inclusive cost; both are the function's.
      const auto w = words(line);
      if (function && w.size() > positions + ir_column) {
        *function += number(w[positions + ir_column]);
      }
    } else if (line.starts_with("fn=")) {
      function = &out.inclusive[functions.resolve(line.substr(3))];  // std::map: the address stays
    } else if (line.starts_with("cfn=") || line.starts_with("cfunc=")) {
      functions.resolve(line.substr(line.find('=') + 1));  // defines a compressed name for later
    } else if (line.starts_with("positions:")) {
      positions = words(line.substr(10)).size();
    } else if (line.starts_with("events:")) {
      const auto names = words(line.substr(7));
      for (ir_column = 0; ir_column < names.size() && names[ir_column] != "Ir"; ++ir_column) {
      }
      if (ir_column == names.size()) throw std::runtime_error(fmt::format("{}: callgrind counted no Ir event", source));
      events_seen = true;
    } else if (line.starts_with("totals:") || line.starts_with("summary:")) {
      const auto w = words(line.substr(line.find(':') + 1));
      if (w.size() > ir_column) out.total = number(w[ir_column]);
    }
  }
  if (!events_seen) throw std::runtime_error(fmt::format("{}: not a callgrind output file (no events: line)", source));
  return out;
}

}  // namespace aiway
