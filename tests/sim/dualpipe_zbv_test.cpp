// DualPipe, DualPipeV and ZB-V: DeepSeek's own orders cell by cell, and the papers' bubble and
// memory figures with equal op times (DeepSeek-V3 Table 2; Zero Bubble section 6).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "schedules/order_csv.h"
#include "schedules/registry.h"
#include "sim/simulation.h"
#include "tests/cli_run.h"
#include "tests/input_error.h"

namespace ppsim {
namespace {

namespace fs = std::filesystem;

TEST(DualPipe, DeepSeeksOrdersCellByCell) {
  const fs::path dir = fs::path(PPSIM_SOURCE_DIR) / "tests/data/dualpipe-orders";
  const std::regex name("(dualpipe|dualpipev)_P([0-9]+)_M([0-9]+)\\.csv");
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    SCOPED_TRACE(file);
    const int P = std::stoi(m[2]), M = std::stoi(m[3]);
    const Schedule s = generate_schedule(m[1] == "dualpipe" ? "dualpipe" : "dualpipe-v", {P, M, 2});
    EXPECT_EQ(write_order_csv(s), test::read_text(entry.path()));
    // And the file imports as the same schedule (two chains inferred for DualPipe).
    const Schedule back = read_order_csv(test::read_text(entry.path()), file, P, M, 2);
    EXPECT_EQ(back.order, s.order);
    EXPECT_EQ(back.chain_begin, s.chain_begin);
    ++checked;
  }
  EXPECT_EQ(checked, 18);
}

struct Times {
  TimeNs f, b, w;  // forward, input gradient, weight gradient (per chunk)
};

SimulationResult simulate(const std::string& kind, int P, int M, const Times& t, TimeNs overlap = 0) {
  Schedule s = generate_schedule(kind, {P, M, 2});
  OpCosts c = uniform_costs(2 * P, t.f, t.b, t.w, 0);
  if (overlap > 0) c.overlap_f_b.assign(P, overlap);
  return run_simulation(std::move(s), std::move(c));
}

// The largest idle time inside a rank's span (DeepSeek's and the zero-bubble paper's "bubble").
TimeNs max_rank_bubble(const Metrics& m) {
  TimeNs worst = 0;
  for (const auto& r : m.ranks) worst = std::max(worst, r.span_ns - r.busy_ns);
  return worst;
}

// DeepSeek-V3 Table 2: DualPipe's bubble (PP/2 - 1)(F&B + B - 3W), activations PP + 1 per rank,
// two copies of the parameters. Exact when F = B = W and F&B costs F plus a full backward.
TEST(DualPipe, BubbleAndMemoryFromDeepSeekV3Table2) {
  const Times t{1000, 1000, 1000};
  const TimeNs full_b = t.b + t.w, fb = t.f + full_b;
  for (int P : {2, 4, 6, 8})
    for (int M : {2 * P, 2 * P + 4, 4 * P}) {
      SCOPED_TRACE("P=" + std::to_string(P) + " M=" + std::to_string(M));
      const SimulationResult r = simulate("dualpipe", P, M, t);
      EXPECT_EQ(max_rank_bubble(r.metrics), (P / 2 - 1) * (fb + full_b - 3 * t.w));
      for (const auto& rank : r.metrics.ranks) EXPECT_EQ(rank.peak_in_flight, P + 1) << "rank " << rank.rank;
      // Each rank holds a stage of each copy: stage r of copy 0 and stage P-1-r of copy 1.
      for (int rank = 0; rank < P; ++rank) {
        EXPECT_EQ(r.schedule.rank_of_stage[rank], rank);
        EXPECT_EQ(r.schedule.rank_of_stage[P + (P - 1 - rank)], rank);
      }
    }
}

// DualPipeV, the DualPipe README's table with PP = 2P virtual stages on P devices: bubble
// (PP/2 - 1)(F&B + B - 3W), activations PP + 1 chunk activations.
TEST(DualPipeV, BubbleAndMemoryFromTheDualPipeReadme) {
  const Times t{1000, 1000, 1000};
  const TimeNs full_b = t.b + t.w, fb = t.f + full_b;
  for (int P : {2, 3, 4, 8})
    for (int M : {2 * P, 2 * P + 3, 4 * P}) {
      SCOPED_TRACE("P=" + std::to_string(P) + " M=" + std::to_string(M));
      const SimulationResult r = simulate("dualpipe-v", P, M, t);
      EXPECT_EQ(max_rank_bubble(r.metrics), (P - 1) * (fb + full_b - 3 * t.w));
      for (const auto& rank : r.metrics.ranks) EXPECT_EQ(rank.peak_in_flight, 2 * P + 1) << "rank " << rank.rank;
    }
}

// An overlapped unit that hides communication costs less than its halves: the run gets faster,
// and an explicit overlap cost is what the unit takes.
TEST(DualPipe, OverlappedUnitsTakeTheirOwnTime) {
  const Times t{1000, 1000, 1000};
  const SimulationResult halves = simulate("dualpipe-v", 4, 16, t);
  const SimulationResult hidden = simulate("dualpipe-v", 4, 16, t, 2500);
  EXPECT_LT(hidden.metrics.makespan_ns, halves.metrics.makespan_ns);
  const OpTable& tab = *hidden.timeline.table;
  int units = 0;
  for (OpId v = 0; v < tab.compute_ops(); ++v)
    if (tab.ops[v].overlapped) {
      ++units;
      EXPECT_EQ(hidden.timeline.end[v] - hidden.timeline.start[v], 2500);
      EXPECT_EQ(hidden.timeline.end[v + 1], hidden.timeline.start[v + 1]);  // its backward half
      EXPECT_EQ(hidden.timeline.start[v + 1], hidden.timeline.end[v]);
    }
  EXPECT_GT(units, 0);
}

// ZB-V (Zero Bubble, section 6): no bubble with F = B = W once M >= 2P, at 1F1B's memory (P full
// stages = 2P chunk activations on every rank).
TEST(ZeroBubbleV, NoBubbleAtOneF1BMemory) {
  const Times t{1000, 1000, 1000};
  for (int P : {2, 3, 4, 6, 8})
    for (int M : {2 * P, 3 * P, 4 * P + 1}) {
      SCOPED_TRACE("P=" + std::to_string(P) + " M=" + std::to_string(M));
      const SimulationResult r = simulate("zb-v", P, M, t);
      EXPECT_EQ(max_rank_bubble(r.metrics), 0);
      EXPECT_EQ(r.metrics.bubble_rate_zb, 0.0);
      for (const auto& rank : r.metrics.ranks) EXPECT_EQ(rank.peak_in_flight, 2 * P) << "rank " << rank.rank;
    }
}

TEST(DualPipe, RefusesShapesItCannotRun) {
  EXPECT_NE(error_of([] { generate_schedule("dualpipe", {3, 8, 2}); }).find("an even number of stages"), std::string::npos);
  EXPECT_NE(error_of([] { generate_schedule("dualpipe", {4, 7, 2}); }).find("an even number of microbatches"), std::string::npos);
  EXPECT_NE(error_of([] { generate_schedule("dualpipe", {4, 4, 2}); }).find("microbatches >= 2 * stages"), std::string::npos);
  EXPECT_NE(error_of([] { generate_schedule("dualpipe", {4, 8, 1}); }).find("chunks: 2"), std::string::npos);
  EXPECT_NE(error_of([] { generate_schedule("dualpipe-v", {4, 6, 2}); }).find("microbatches >= 8"), std::string::npos);
  EXPECT_NE(error_of([] { generate_schedule("zb-v", {4, 8, 3}); }).find("chunks: 2"), std::string::npos);
}

}  // namespace
}  // namespace ppsim
