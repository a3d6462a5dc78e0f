// libFuzzer harness: calibration profiles. Any text parses or throws InputError; a parsed profile
// converts to layer times and writes back out.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "models/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const ppsim::Profile p = ppsim::parse_profile(text, "fuzz-profile.yaml");
    ppsim::to_layer_times(p);
    ppsim::profile_to_yaml(p);
  } catch (const ppsim::InputError&) {
  }
  return 0;
}
