#pragma once
// The seeds' diagrams in a terminal: one line per rank, time scaled to `width` columns, each op
// drawn over the columns it occupies ("F0", "B3", "W1", "BW2" where it fits, else its kind letter),
// idle time as '.'.
#include <string>

#include "sim/timeline.h"

namespace ppsim {

std::string render_ascii_timeline(const Timeline& timeline, int width);

// The terminal's width (COLUMNS, then the tty), or 120.
int terminal_width();

}  // namespace ppsim
