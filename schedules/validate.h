#pragma once
#include <string>

#include "schedules/schedule.h"

namespace ppsim {

// Checks that every (stage, micro-batch) has exactly one F and either one fused BW or one B and
// one W, each on the rank that holds the stage, and that each rank's order respects the
// dependencies local to the rank (F before its backward, B before its W, chunk order within a
// micro-batch). Throws InputError showing the rank and the place in its order. `source` names
// where the schedule came from (a CSV path or the generator) for the message.
void validate_schedule(const Schedule& schedule, const std::string& source);

}  // namespace ppsim
