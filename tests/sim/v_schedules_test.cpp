// V-Half and V-Min against the authors' orders (tests/data/zb-orders, cell by cell) and against
// their memory and bubble targets at equal op times (SPEC §4.4 of the zero-bubble research notes).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "schedules/order_csv.h"
#include "schedules/registry.h"
#include "schedules/validate.h"
#include "sim/op_costs.h"
#include "sim/simulation.h"
#include "tests/cli_run.h"
#include "tests/input_error.h"

namespace ppsim {
namespace {

namespace fs = std::filesystem;

TEST(VSchedules, EveryReferenceFileMatchesCellByCell) {
  const fs::path dir = fs::path(PPSIM_SOURCE_DIR) / "tests/data/zb-orders";
  const std::regex name("v(half|min)_P([0-9]+)_M([0-9]+)\\.csv");
  std::map<std::string, int> checked;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    const std::string kind = "v-" + m[1].str();
    const int P = std::stoi(m[2]), M = std::stoi(m[3]);
    SCOPED_TRACE(file);
    const Schedule s = generate_schedule(kind, {P, M, 2});
    EXPECT_NO_THROW(validate_schedule(s, kind));
    // The file's text is exactly ppsim's CSV of the schedule: same cells, same order, every rank.
    EXPECT_EQ(write_order_csv(s), test::read_text(entry.path()));
    ++checked[kind];
  }
  // P = 2, 4, 8 with M = 4, 8, 16, 20 (a file lost or renamed would otherwise pass silently).
  EXPECT_EQ(checked["v-half"], 12);
  EXPECT_EQ(checked["v-min"], 12);
}

struct Figures {
  int peak_in_flight_max = 0, peak_in_flight_min = 0;  // over ranks, in chunk activations
  TimeNs largest_idle = 0;                             // max over ranks of span - busy, unit times
};

// F = B = W = 1 ns on every chunk, no transfer time.
Figures unit_time_figures(const std::string& kind, int P, int M) {
  const SimulationResult r = run_simulation(generate_schedule(kind, {P, M, 2}), uniform_costs(2 * P, 1, 1, 1, 0));
  Figures f{0, 1 << 30, 0};
  for (const RankMetrics& rank : r.metrics.ranks) {
    f.peak_in_flight_max = std::max(f.peak_in_flight_max, rank.peak_in_flight);
    f.peak_in_flight_min = std::min(f.peak_in_flight_min, rank.peak_in_flight);
    f.largest_idle = std::max(f.largest_idle, rank.span_ns - rank.busy_ns);
  }
  return f;
}

// The targets hold once the steady state is reached, M >= 2P; the bubble is then constant in M.
TEST(VSchedules, VHalfMemoryAndBubbleTargets) {
  for (int P = 2; P <= 12; ++P)
    for (int M : {2 * P, 2 * P + 1, 3 * P, 4 * P, 6 * P}) {
      SCOPED_TRACE("P=" + std::to_string(P) + " M=" + std::to_string(M));
      const Figures f = unit_time_figures("v-half", P, M);
      // (P+2)//2 full-stage activations = twice that in chunks, on every rank.
      EXPECT_EQ(f.peak_in_flight_max, 2 * ((P + 2) / 2));
      EXPECT_EQ(f.peak_in_flight_min, 2 * ((P + 2) / 2));
      EXPECT_EQ(f.largest_idle, P == 2 ? 1 : 6 * ((P - 1) / 2) - 1);
    }
}

TEST(VSchedules, VMinMemoryAndBubbleTargets) {
  for (int P = 2; P <= 12; ++P)
    for (int M : {2 * P, 2 * P + 1, 3 * P, 4 * P, 6 * P}) {
      SCOPED_TRACE("P=" + std::to_string(P) + " M=" + std::to_string(M));
      const Figures f = unit_time_figures("v-min", P, M);
      // (P+4)//3 full-stage activations on the rank that holds the most.
      EXPECT_EQ(f.peak_in_flight_max, 2 * ((P + 4) / 3));
      const int k = P / 3;
      const TimeNs idle = P % 3 == 0 ? 12 * k - 7 : P % 3 == 1 ? 12 * k - 1 : 12 * k + 3;
      EXPECT_EQ(f.largest_idle, idle);
    }
}

// Any M works (the targets above need M >= 2P): complete, valid orders that run without deadlock.
TEST(VSchedules, ValidForEveryShape) {
  for (const char* kind : {"v-half", "v-min"})
    for (int P = 1; P <= 6; ++P)
      for (int M = 1; M <= 13; ++M) {
        const Schedule s = generate_schedule(kind, {P, M, 2});
        EXPECT_NO_THROW(validate_schedule(s, kind)) << kind << " P=" << P << " M=" << M;
        EXPECT_EQ(s.action_count(), 3 * 2 * P * M);
        EXPECT_EQ(s.rank_of_stage, v_layout(P, 2));
        EXPECT_NO_THROW(run_simulation(s, uniform_costs(2 * P, 3, 2, 1, 1))) << kind << " P=" << P << " M=" << M;
      }
}

TEST(VSchedules, NeedTwoChunks) {
  for (int V : {1, 3})
    EXPECT_EQ(error_of([&] { generate_schedule("v-half", {4, 8, V}); }),
              "schedule v-half runs two chunks per rank in the V placement (rank r holds stages r and 2P-1-r), so "
              "chunks must be 2 (chunks: " + std::to_string(V) + ")");
  EXPECT_NE(error_of([] { generate_schedule("v-min", {4, 8, 1}); }).find("chunks must be 2"), std::string::npos);
}

TEST(VSchedules, RegisteredWithSplitBackward) {
  for (const char* name : {"v-half", "v-min"}) {
    const ScheduleKind* k = find_schedule_kind(name);
    ASSERT_NE(k, nullptr) << name;
    EXPECT_TRUE(k->split_backward);
  }
}

}  // namespace
}  // namespace ppsim
