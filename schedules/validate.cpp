#include "schedules/validate.h"

#include <sstream>
#include <vector>

#include "base/error.h"
#include "schedules/action_index.h"

namespace ppsim {
namespace {

// "rank 1: 1F0 1F1 [1I0] 1W0 ..." around position `pos`, with the offending action bracketed.
std::string show_place(const std::vector<Action>& order, std::size_t pos) {
  std::ostringstream os;
  const std::size_t from = pos > 4 ? pos - 4 : 0;
  const std::size_t to = std::min(order.size(), pos + 5);
  if (from > 0) os << "... ";
  for (std::size_t i = from; i < to; ++i) {
    if (i == pos) os << '[' << to_csv_string(order[i]) << "] ";
    else os << to_csv_string(order[i]) << ' ';
  }
  if (to < order.size()) os << "...";
  return os.str();
}

}  // namespace

void validate_schedule(const Schedule& sch, const std::string& source) {
  const int S = sch.stages();
  const int M = sch.microbatches;
  if (static_cast<int>(sch.order.size()) != sch.ranks)
    throw InputError(source + ": schedule has " + std::to_string(sch.order.size()) + " rank orders for " +
                     std::to_string(sch.ranks) + " stages");
  ActionTable<std::int64_t> position(S, M, -1);  // index in its rank's order, or -1
  auto fail = [&](int rank, std::size_t pos, const std::string& what) {
    throw InputError(source + ": rank " + std::to_string(rank) + ", position " + std::to_string(pos) + " (" +
                     to_csv_string(sch.order[rank][pos]) + "): " + what + "\n  rank " + std::to_string(rank) +
                     ": " + show_place(sch.order[rank], pos));
  };
  for (int r = 0; r < sch.ranks; ++r) {
    const auto& order = sch.order[r];
    for (std::size_t i = 0; i < order.size(); ++i) {
      const Action& a = order[i];
      if (a.stage < 0 || a.stage >= S)
        fail(r, i, "stage " + std::to_string(a.stage) + " is out of range 0.." + std::to_string(S - 1));
      if (a.microbatch < 0 || a.microbatch >= M)
        fail(r, i, "micro-batch " + std::to_string(a.microbatch) + " is out of range 0.." + std::to_string(M - 1));
      if (sch.rank_of_stage[a.stage] != r)
        fail(r, i, "stage " + std::to_string(a.stage) + " lives on rank " + std::to_string(sch.rank_of_stage[a.stage]));
      auto& slot = position[a];
      if (slot >= 0) fail(r, i, "repeats the action already at position " + std::to_string(slot));
      slot = static_cast<std::int64_t>(i);
    }
  }
  // Overlapped units: an F joined with the backward right after it on the same rank.
  for (int r = 0; r < sch.ranks; ++r) {
    const auto& order = sch.order[r];
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (!order[i].overlapped_with_next) continue;
      if (order[i].kind != ActionKind::F) fail(r, i, "only a forward can be overlapped with the backward after it");
      if (i + 1 >= order.size() || (order[i + 1].kind != ActionKind::B && order[i + 1].kind != ActionKind::BW))
        fail(r, i, "an overlapped forward needs a backward right after it on its rank");
      if (order[i + 1].overlapped_with_next) fail(r, i + 1, "a backward cannot start another overlapped unit");
    }
  }
  // Completeness and local order.
  for (int st = 0; st < S; ++st) {
    const int r = sch.rank_of_stage[st];
    for (int m = 0; m < M; ++m) {
      const std::int64_t f = position(st, m, ActionKind::F), b = position(st, m, ActionKind::B),
                         w = position(st, m, ActionKind::W), bw = position(st, m, ActionKind::BW);
      // Built only for a message: a string per (stage, micro-batch) was most of the validation's time.
      auto item = [&] { return "stage " + std::to_string(st) + " micro-batch " + std::to_string(m); };
      if (st < sch.first_stage(m) || st >= sch.end_stage(m)) {  // another model copy's stage
        for (const std::int64_t p : {f, b, w, bw})
          if (p >= 0)
            fail(r, static_cast<std::size_t>(p), "micro-batch " + std::to_string(m) + " goes through stages " +
                                                     std::to_string(sch.first_stage(m)) + ".." +
                                                     std::to_string(sch.end_stage(m) - 1) + " only");
        continue;
      }
      if (f < 0) throw InputError(source + ": rank " + std::to_string(r) + " is missing the forward " + std::to_string(st) + "F" + std::to_string(m));
      const bool split = b >= 0 || w >= 0;
      if (split && bw >= 0)
        fail(r, static_cast<std::size_t>(bw), item() + " has both a full backward and a split B/W");
      if (!split && bw < 0)
        throw InputError(source + ": rank " + std::to_string(r) + " is missing the backward of " + item() +
                         " (" + std::to_string(st) + "B" + std::to_string(m) + ", or " + std::to_string(st) + "I" +
                         std::to_string(m) + " and " + std::to_string(st) + "W" + std::to_string(m) + ")");
      if (split && b < 0)
        throw InputError(source + ": rank " + std::to_string(r) + " has " + std::to_string(st) + "W" + std::to_string(m) +
                         " but is missing its input-gradient backward " + std::to_string(st) + "I" + std::to_string(m));
      if (split && w < 0)
        throw InputError(source + ": rank " + std::to_string(r) + " has " + std::to_string(st) + "I" + std::to_string(m) +
                         " but is missing its weight-gradient backward " + std::to_string(st) + "W" + std::to_string(m));
      const std::int64_t back = split ? b : bw;
      if (back < f) fail(r, static_cast<std::size_t>(back), "the backward of " + item() + " comes before its forward (position " + std::to_string(f) + ")");
      if (split && w < b) fail(r, static_cast<std::size_t>(w), "W of " + item() + " comes before its B (position " + std::to_string(b) + ")");
      // Chunk order within a micro-batch on one rank: forward in model order, backward reversed.
      if (st + 1 < sch.end_stage(m) && sch.rank_of_stage[st + 1] == r) {
        const std::int64_t f_next = position(st + 1, m, ActionKind::F);
        if (f_next >= 0 && f_next < f)
          fail(r, static_cast<std::size_t>(f_next), "forward of stage " + std::to_string(st + 1) + " micro-batch " + std::to_string(m) + " comes before the forward of stage " + std::to_string(st));
      }
    }
  }
}

}  // namespace ppsim
