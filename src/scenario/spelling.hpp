// "Did you mean": the known name closest to a mistyped one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aiway {

// The candidate nearest to `typed` by edit distance (insertions, deletions,
// substitutions and swaps of neighbours), when it is near enough to be a
// slip: a third of the typed name's length in edits, at least one. Ties go
// to the first candidate.
std::optional<std::string> closest_name(std::string_view typed, const std::vector<std::string>& candidates);
// "; did you mean \"run\"?" or "".
std::string did_you_mean(std::string_view typed, const std::vector<std::string>& candidates);

}  // namespace aiway
