// Schedules: action strings, generator shapes, the validator and the CSV codec.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "schedules/order_csv.h"
#include "schedules/registry.h"
#include "schedules/validate.h"
#include "base/error.h"

namespace ppsim {
namespace {

TEST(Action, PrintsAndParsesPyTorchCells) {
  EXPECT_EQ(to_csv_string({ActionKind::F, 2, 0}), "2F0");
  EXPECT_EQ(to_csv_string({ActionKind::B, 1, 3}), "1I3");
  EXPECT_EQ(to_csv_string({ActionKind::W, 1, 3}), "1W3");
  EXPECT_EQ(to_csv_string({ActionKind::BW, 12, 40}), "12B40");
  for (auto text : {"2F0", "1I3", "1W3", "12B40"}) EXPECT_EQ(to_csv_string(*parse_csv_action(text)), text);
  EXPECT_FALSE(parse_csv_action("2X0"));
  EXPECT_FALSE(parse_csv_action("F0"));
  EXPECT_FALSE(parse_csv_action("2F"));
  EXPECT_FALSE(parse_csv_action("2F0x"));
  EXPECT_EQ(label({ActionKind::BW, 3, 2}, false), "BW2");
  EXPECT_EQ(label({ActionKind::F, 3, 2}, true), "F2@3");
}

// Which shapes each kind runs (its documented constraints, docs/schedules.md).
bool accepts(const std::string& kind, int P, int M, int V) {
  if (kind == "gpipe" || kind == "looped-bfs") return true;
  if (kind == "1f1b" || kind == "zb-h1" || kind == "zb-h2") return V == 1;
  if (kind == "interleaved-1f1b" || kind == "interleaved-zb") return M % std::max(1, M / P) == 0;  // PyTorch's rounds
  if (kind == "zb-v" || kind == "v-half" || kind == "v-min") return V == 2;
  if (kind == "dualpipe-v") return V == 2 && M >= 2 * P;
  if (kind == "dualpipe") return V == 2 && P % 2 == 0 && M % 2 == 0 && M >= 2 * P;
  ADD_FAILURE() << "no constraints listed for " << kind;
  return false;
}

// Every generated schedule is complete and locally ordered over a grid of shapes, and the shapes
// a kind cannot run are refused with an InputError.
TEST(Generators, AllKindsValidOverGrid) {
  for (const auto& k : schedule_kinds())
    for (int P : {1, 2, 3, 4, 8})
      for (int M : {1, 2, 4, 5, 8, 16})
        for (int V : {1, 2, 3}) {
          const std::string kind = k.name;
          const std::string where = kind + " P=" + std::to_string(P) + " M=" + std::to_string(M) + " V=" + std::to_string(V);
          if (!accepts(kind, P, M, V)) {
            EXPECT_THROW(generate_schedule(kind, {P, M, V}), InputError) << where;
            continue;
          }
          Schedule s = generate_schedule(kind, {P, M, V});
          EXPECT_NO_THROW(validate_schedule(s, kind)) << where;
          EXPECT_EQ(s.split_backward, k.split_backward) << where;
          std::int64_t forwards = 0;
          for (const auto& row : s.order)
            for (const Action& a : row) forwards += a.kind == ActionKind::F;
          const int copies = s.copies();
          EXPECT_EQ(forwards, static_cast<std::int64_t>(P) * V * M / copies) << where;  // each micro-batch, each stage of its copy
        }
}

TEST(Generators, OneFOneBWarmupAndOrder) {
  Schedule s = generate_schedule("1f1b", {4, 6, 1});
  // Rank 1 warms up with P-s-1 = 2 forwards, then F,B pairs, then drains.
  std::string row;
  for (const auto& a : s.order[1]) row += to_csv_string(a) + " ";
  EXPECT_EQ(row, "1F0 1F1 1F2 1B0 1F3 1B1 1F4 1B2 1F5 1B3 1B4 1B5 ");
}

TEST(Generators, ZeroBubbleH1DelaysWByRank) {
  Schedule s = generate_schedule("zb-h1", {3, 4, 1});
  std::string r0, r2;
  for (const auto& a : s.order[0]) r0 += to_csv_string(a) + " ";
  for (const auto& a : s.order[2]) r2 += to_csv_string(a) + " ";
  EXPECT_EQ(r0, "0F0 0F1 0F2 0I0 0W0 0F3 0I1 0W1 0I2 0W2 0I3 0W3 ");
  EXPECT_EQ(r2, "2F0 2I0 2F1 2I1 2F2 2I2 2W0 2F3 2I3 2W1 2W2 2W3 ");
}

TEST(Generators, ZeroBubbleH2WarmupAndStep) {
  Schedule s = generate_schedule("zb-h2", {2, 4, 1});
  std::string r0, r1;
  for (const auto& a : s.order[0]) r0 += to_csv_string(a) + " ";
  for (const auto& a : s.order[1]) r1 += to_csv_string(a) + " ";
  // Rank 0: 2P-1 = 3 warm-up forwards, steps B, W, F. Rank 1: 1 warm-up, W delayed by 2.
  EXPECT_EQ(r0, "0F0 0F1 0F2 0I0 0W0 0F3 0I1 0W1 0I2 0W2 0I3 0W3 ");
  EXPECT_EQ(r1, "1F0 1I0 1F1 1I1 1F2 1I2 1W0 1F3 1I3 1W1 1W2 1W3 ");
}

TEST(Generators, InterleavedGroupsAndWarmup) {
  Schedule s = generate_schedule("interleaved-1f1b", {2, 4, 2});
  // Rank 0 holds stages 0 and 2; warm-up 2(P-p-1) + (V-1)P = 4 forwards.
  std::string r0;
  for (const auto& a : s.order[0]) r0 += to_csv_string(a) + " ";
  EXPECT_EQ(r0, "0F0 0F1 2F0 2F1 0F2 2B0 0F3 2B1 2F2 0B0 2F3 0B1 2B2 2B3 0B2 0B3 ");
  EXPECT_EQ(s.rank_of_stage, (std::vector<int>{0, 1, 0, 1}));
}

TEST(Generators, RejectUnsupportedShapesClearly) {
  try {
    generate_schedule("interleaved-1f1b", {4, 9, 2});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("must be a multiple of 2 (microbatches: 9, stages: 4)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(generate_schedule("1f1b", {4, 8, 2}), InputError);
  try {
    generate_schedule("pipedream", {4, 8, 1});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("gpipe, 1f1b, interleaved-1f1b, looped-bfs, zb-h1, zb-h2, interleaved-zb, zb-v, dualpipe, dualpipe-v, v-half, v-min, custom"), std::string::npos);
  }
}

TEST(Validator, RejectsMissingRepeatedAndMisordered) {
  auto expect_error = [](const std::string& csv, int P, int M, const std::string& needle) {
    try {
      read_order_csv(csv, "t.csv", P, M, 1);
      ADD_FAILURE() << "accepted: " << csv;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("0F0,0B0\n1F0\n", 2, 1, "missing the backward");
  expect_error("0F0,0B0,0F0\n1F0,1B0\n", 2, 1, "repeats");
  expect_error("0B0,0F0\n1F0,1B0\n", 2, 1, "comes before its forward");
  expect_error("0F0,0W0,0I0\n1F0,1B0\n", 2, 1, "comes before its B");
  expect_error("0F0,0I0\n1F0,1B0\n", 2, 1, "missing its weight-gradient");
  expect_error("0F0,0B0,0B0\n1F0,1B0\n", 2, 1, "repeats the action");
  expect_error("0F0,0X0\n1F0,1B0\n", 2, 1, "t.csv:1:5: cell '0X0'");
  expect_error("0F0,0B0\n1F0,1B0\n", 2, 2, "missing the forward");
  expect_error("0F0,0B0\n1F0,1B0\n2F0,2B0\n", 2, 1, "more rows than stages");
  expect_error("0F0,0B0\n", 2, 1, "has 1 rows but stages is 2");
  expect_error("0F0,0B0,0F3\n1F0,1B0\n", 2, 1, "names micro-batch 3");
  expect_error("0F0,0B0,1F0\n1B0\n", 2, 1, "already on rank 0");
  // Found by fuzzing: a sign is not a micro-batch (from_chars would read "-2").
  expect_error("0F0,0B0\n1F0,(1F-2;1B0)OVERLAP_F_B\n", 2, 1, "is not a compute action");
  expect_error("0F-1,0B0\n1F0,1B0\n", 2, 1, "t.csv:1:1: cell '0F-1'");
  // The message shows the rank and the place with a marker.
  try {
    read_order_csv("0F0,0F1,0B1,0B0,0B1\n1F0,1F1,1B0,1B1\n", "t.csv", 2, 2, 1);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0, position 4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[0B1]"), std::string::npos) << e.what();
  }
}

TEST(OrderCsv, RoundTripsEveryKind) {
  for (const auto& k : schedule_kinds()) {
    const int V = accepts(k.name, 4, 8, 1) ? 1 : 2;
    Schedule s = generate_schedule(k.name, {4, 8, V});
    Schedule back = read_order_csv(write_order_csv(s), "rt.csv", 4, 8, V);
    EXPECT_EQ(back.order, s.order) << k.name;
    EXPECT_EQ(back.rank_of_stage, s.rank_of_stage) << k.name;
    EXPECT_EQ(back.split_backward, s.split_backward) << k.name;
    EXPECT_EQ(back.chain_begin, s.chain_begin) << k.name;
    EXPECT_EQ(back.chain_of_microbatch, s.chain_of_microbatch) << k.name;
  }
}

TEST(OrderCsv, AcceptsPyTorchIdleCellsAndCrLf) {
  Schedule s = read_order_csv("0F0,,0B0\r\n,1F0,1B0\r\n", "t.csv", 2, 1, 1);
  EXPECT_EQ(s.order[0].size(), 2u);
  EXPECT_EQ(s.order[1].size(), 2u);
}

}  // namespace
}  // namespace ppsim
