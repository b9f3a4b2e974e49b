// libFuzzer target: the scenario loader and --set overrides must answer any
// input with a Scenario or a ScenarioError, never a crash, hang or huge allocation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "aiway/scenario_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    aiway::Scenario s = aiway::parse_scenario(text, "fuzz.toml");
    // A valid scenario must survive show-style serialisation and overrides too.
    (void)aiway::scenario_fields(s);
    aiway::apply_overrides(s, {text.substr(0, 200)});
  } catch (const aiway::ScenarioError&) {
  }
  return 0;
}
