#pragma once
// Schedules are looked up by name. Each generator is a pure function of (P, M, V).
#include <string>
#include <vector>

#include "schedules/schedule.h"

namespace ppsim {

struct ScheduleParams {
  int ranks = 1;         // P
  int microbatches = 1;  // M
  int chunks = 1;        // V
};

using ScheduleGenerator = Schedule (*)(const ScheduleParams&);

struct ScheduleKind {
  const char* name;
  ScheduleGenerator generate;
  const char* summary;
  bool split_backward;  // its orders run B and W apart (3 actions per stage and micro-batch, else 2)
};

// The registered kind of that name, or nullptr.
const ScheduleKind* find_schedule_kind(const std::string& name);

// Every generated kind, in the order the docs list them ("custom" is read from CSV instead).
const std::vector<ScheduleKind>& schedule_kinds();

// "gpipe, 1f1b, ..." for error messages.
std::string schedule_kind_names();

// Generates the named schedule; throws InputError for an unknown name or unsupported parameters.
Schedule generate_schedule(const std::string& name, const ScheduleParams& params);

// A schedule with the interleaved layout and one empty order per rank, for generators to fill.
Schedule start_schedule(const char* kind, const ScheduleParams& params, bool split_backward);

// The generators (one file each).
Schedule generate_gpipe(const ScheduleParams&);
Schedule generate_1f1b(const ScheduleParams&);
Schedule generate_interleaved_1f1b(const ScheduleParams&);
Schedule generate_interleaved_zb(const ScheduleParams&);
Schedule generate_looped_bfs(const ScheduleParams&);
Schedule generate_zb_v(const ScheduleParams&);
Schedule generate_dualpipe(const ScheduleParams&);
Schedule generate_dualpipe_v(const ScheduleParams&);
Schedule generate_zb_h1(const ScheduleParams&);
Schedule generate_zb_h2(const ScheduleParams&);
Schedule generate_v_half(const ScheduleParams&);
Schedule generate_v_min(const ScheduleParams&);

}  // namespace ppsim
