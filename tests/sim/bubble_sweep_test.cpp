// simulate --sweep-heatmap's grid (issue 14): each cell a whole simulation; 1F1B's cells equal the
// closed form (P - 1) / (V M + P - 1) with equal stages and free hops; shapes a schedule refuses
// are empty; sizes given per rank are refused with a clear error.
#include <gtest/gtest.h>

#include <cmath>

#include "input_error.h"
#include "sim/bubble_sweep.h"
#include "sim/config/config.h"

namespace ppsim {
namespace {

const std::string kTimes = "times: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms, transfer: 0ms}\n";

TEST(BubbleSweep, OneFOneBAndInterleavedMatchTheClosedForm) {
  for (const auto& [schedule, V] : {std::pair<std::string, int>{"1f1b", 1}, {"interleaved-1f1b", 2}}) {
    const SimulationConfig c = parse_config("schedule: " + schedule + "\nstages: 4\nmicrobatches: 8\nchunks: " +
                                                std::to_string(V) + "\n" + kTimes,
                                            "sweep.yaml", ".");
    const Heatmap h = sweep_bubble(c, {2, 4, 8}, {8, 16, 32});
    ASSERT_EQ(h.value.size(), 3u);
    for (std::size_t y = 0; y < h.ys.size(); ++y)
      for (std::size_t x = 0; x < h.xs.size(); ++x) {
        const double P = h.xs[x], M = h.ys[y];
        EXPECT_NEAR(h.value[y][x], (P - 1) / (V * M + P - 1), 1e-12) << schedule << " P " << P << " M " << M;
      }
  }
}

TEST(BubbleSweep, RefusedShapesAreEmptyCells) {
  // DualPipe needs M >= 2P: P = 8 with M = 8 cannot run.
  const SimulationConfig c = parse_config("schedule: dualpipe\nstages: 4\nmicrobatches: 8\nchunks: 2\n" + kTimes, "sweep.yaml", ".");
  const Heatmap h = sweep_bubble(c, {4, 8}, {8});
  EXPECT_FALSE(std::isnan(h.value[0][0]));
  EXPECT_TRUE(std::isnan(h.value[0][1]));
  EXPECT_NE(render_text_heatmap(h).find("-"), std::string::npos);
}

TEST(BubbleSweep, PerRankTimesAndExplicitPartitionsAreRefused) {
  const SimulationConfig c = parse_config(
      "schedule: 1f1b\nstages: 2\nmicrobatches: 8\ntimes: {forward: [1ms, 2ms], backward_input: 1ms, backward_weight: 1ms}\n",
      "sweep.yaml", ".");
  EXPECT_EQ(error_of([&] { sweep_bubble(c, {2, 4}, {8}); }),
            "sweep.yaml: times.forward differs between ranks: --sweep-heatmap changes the number of stages, so give one "
            "value (the same on every rank)");
  const SimulationConfig m = parse_config("schedule: 1f1b\nstages: 2\nmicrobatches: 8\nmodel: tiny\npartition: [4, 4]\n", "sweep.yaml", ".");
  EXPECT_NE(error_of([&] { sweep_bubble(m, {2, 4}, {8}); }).find("it needs partition: auto"), std::string::npos);
}

}  // namespace
}  // namespace ppsim
