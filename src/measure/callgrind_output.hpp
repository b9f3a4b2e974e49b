// Instruction counts per function from callgrind's output file (the format of
// valgrind's docs, "Callgrind Format Specification"): each function's own
// cost lines plus the inclusive cost of every call it made. With collection
// switched on only inside chosen functions (--toggle-collect), a function's
// inclusive count is exactly the work done inside it and its callees.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace aiway {

struct CallgrindCounts {
  // Function name as callgrind writes it ("ns::f(int)") -> Ir inside it and its callees.
  std::map<std::string, std::uint64_t> inclusive;
  std::uint64_t total = 0;  // every Ir collected (its "totals:" or "summary:" line)

  // The sum over every function whose name starts with `prefix`.
  std::uint64_t with_prefix(std::string_view prefix) const;
};

// Parses the text of one callgrind output file (compressed names and
// positions allowed). `source` names it in errors; throws std::runtime_error
// when it is not such a file or counts no Ir.
CallgrindCounts parse_callgrind_output(std::string_view text, const std::string& source);

}  // namespace aiway
