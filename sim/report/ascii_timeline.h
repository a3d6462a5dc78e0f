#pragma once
// The seeds' diagrams in a terminal: one line per rank, time scaled to `width` columns, each op
// drawn over the columns it occupies ("F0", "B3", "W1", "BW2" where it fits, else its kind letter),
// idle time as '.'.
#include <string>

#include "sim/timeline.h"

namespace ppsim {

// The widest timeline drawn: each row is a string of `width` characters (fuzz_command_line found
// `--width 44444448` exhausting memory).
inline constexpr int kMaxTimelineWidth = 10000;

std::string render_ascii_timeline(const Timeline& timeline, int width);

// The terminal's width (COLUMNS, then the tty), or 120; at most kMaxTimelineWidth.
int terminal_width();

}  // namespace ppsim
