// libFuzzer target: the results/baseline loader behind `compare` must answer
// any input with RunResults or a ResultsError, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "results/results_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)aiway::results_from_json_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
  } catch (const aiway::InputError&) {
  }
  return 0;
}
