#pragma once
// Simulated time: int64 nanoseconds everywhere, so every run is reproducible bit for bit.
#include <cstdint>
#include <string>
#include <string_view>

namespace ppsim {

using TimeNs = std::int64_t;

// Parses "18.5ms", "600us", "3 s", "250ns" into nanoseconds, rounding to the nearest ns.
// A bare "0" is accepted; any other value needs a unit. Throws InputError naming `what` on bad text.
TimeNs parse_duration(std::string_view text, const std::string& what);

// "18.500 ms", "2.1 s", "830 ns": a human-readable duration with a sensible unit.
std::string format_duration(TimeNs ns);

// Parses "400GB/s", "50 GiB/s", "1.5TB/s" into bytes per second (decimal and binary prefixes).
double parse_bandwidth(std::string_view text, const std::string& what);

// Parses "80GB", "1.2 GiB", "4096" (bytes) into bytes.
std::int64_t parse_bytes(std::string_view text, const std::string& what);

}  // namespace ppsim
