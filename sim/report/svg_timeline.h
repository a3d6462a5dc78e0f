#pragma once
// A picture of the timeline: one row per rank (and per used link), ops as coloured boxes labelled
// with their micro-batch where they are wide enough.
#include <string>

#include "sim/timeline.h"

namespace ppsim {

std::string render_svg_timeline(const Timeline& timeline, const std::string& title);

}  // namespace ppsim
