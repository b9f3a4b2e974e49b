#include "scenario/scenario_toml.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "aiway/scenario_file.hpp"

namespace aiway {

std::string scenario_to_toml(const Scenario& scenario) {
  std::string out;
  std::string section = "";
  for (const Field& field : scenario_fields(scenario)) {
    if (field.section != section) {
      section = field.section;
      out += fmt::format("\n[{}]\n", section);
    }
    const std::string value = std::visit(
        [](const auto& v) -> std::string {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) return "";
          else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::string>>)
            return nlohmann::json(v).dump();  // quoted, escaped; a list as ["a","b"], which TOML reads too
          else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
          else if constexpr (std::is_same_v<T, double>) return fmt::format("{}", v);
          else return fmt::format("{}", v);
        },
        field.value);
    const std::string& key = field.key;
    if (value.empty()) out += fmt::format("# {} = (not set)\n", key);
    else out += fmt::format("{} = {}\n", key, value);
  }
  return out;
}

}  // namespace aiway
