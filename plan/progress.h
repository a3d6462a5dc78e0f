#pragma once
// The progress bar `ppsim plan` draws on stderr (only on a terminal, and only once the search has
// taken a second; cli/plan_command.cpp decides when).
#include <cstddef>
#include <string>

namespace ppsim {

// "\r[#####     ] 1200 / 4800 configurations", a newline added when done == total.
std::string progress_line(std::size_t done, std::size_t total, int width = 40);

}  // namespace ppsim
