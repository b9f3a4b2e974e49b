// Reading, overriding, validating and listing scenarios.
#pragma once

#include <filesystem>
#include "aiway/input_error.hpp"
#include <string>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "aiway/scenario.hpp"

namespace aiway {

// Bad input: the message names what is wrong and where ("file:line:col: …").
class ScenarioError : public InputError {
 public:
  using InputError::InputError;
};

// Loads and validates a scenario file. Throws ScenarioError.
Scenario load_scenario_file(const std::filesystem::path& file);
Scenario parse_scenario(std::string_view toml_text, const std::string& source_name);

// Applies each "section.key=value" (or "key=value" for top-level fields) with
// the same type and range checks as a file, then the cross-field checks once,
// so overrides that are valid only together can be given in any order.
// Throws ScenarioError.
void apply_overrides(Scenario& scenario, const std::vector<std::string>& assignments);

// Cross-field checks; called by the loaders and after overrides.
void validate(const Scenario& scenario);

// target.shard "K/N" as (K, N), 1 <= K <= N; absent when it is not that.
std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_shard(std::string_view text);

// A scenario field as a generic value, for printing and serialising.
using FieldValue = std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string, std::vector<std::string>>;
struct Field {
  std::string section;  // "" for top-level fields
  std::string key;
  FieldValue value;     // monostate for an unset optional
  bool operator==(const Field&) const = default;
};
std::vector<Field> scenario_fields(const Scenario& scenario);
// Sections that define the workload (backend, hop1, control, faults, upstream): two
// results are comparable only when every field of them agrees.
bool is_workload_section(std::string_view section);

std::string_view to_string(Overflow overflow);

// Scenario lookup: NAME resolves to DIR/NAME.toml, anything with a '/' or a
// ".toml" suffix is a path.
struct ScenarioEntry {
  std::string name;
  std::string description;
  std::filesystem::path file;
};
std::vector<ScenarioEntry> list_scenarios(const std::filesystem::path& dir);
std::filesystem::path resolve_scenario(const std::string& name_or_path, const std::filesystem::path& dir);

}  // namespace aiway
