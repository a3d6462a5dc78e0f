#include "schedules/in_flight.h"

#include <algorithm>

namespace ppsim {

std::vector<int> peak_in_flight_by_stage(const Schedule& s) {
  std::vector<int> now(s.stages(), 0), peak(s.stages(), 0);
  for (const auto& order : s.order)
    for (const Action& a : order) {
      if (a.kind == ActionKind::F) peak[a.stage] = std::max(peak[a.stage], ++now[a.stage]);
      else if (a.kind == ActionKind::W || a.kind == ActionKind::BW) --now[a.stage];
    }
  return peak;
}

}  // namespace ppsim
