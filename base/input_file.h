#pragma once
// Reading a user's input file (a YAML config, a CSV order, a profile, a JSON report) whole, with
// the checks every reader needs: it exists, it is a regular file (not a directory, a device such
// as /dev/zero, or a pipe that never ends), and it is not larger than a reader should hold.
#include <cstdint>
#include <string>

namespace ppsim {

inline constexpr std::int64_t kMaxConfigFileBytes = std::int64_t{64} << 20;  // YAML, CSV
inline constexpr std::int64_t kMaxReportFileBytes = std::int64_t{4} << 30;   // JSON reports with every op

// The file's bytes; throws InputError "<path>: <what is wrong>" (no such file, not a regular file,
// larger than `max_bytes`, unreadable).
std::string read_input_file(const std::string& path, std::int64_t max_bytes = kMaxConfigFileBytes);

// True when `path` names an existing regular file (for "a shipped name or a file" lookups).
bool is_regular_file(const std::string& path);

}  // namespace ppsim
