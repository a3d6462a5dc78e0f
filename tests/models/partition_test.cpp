#include "models/partition.h"

#include <random>

#include <gtest/gtest.h>

#include "sim/error.h"

namespace ppsim {
namespace {

// All compositions of `layers` into `stages` positive parts, in lexicographic order.
void compositions(int layers, int stages, std::vector<int>& prefix, std::vector<std::vector<int>>& out) {
  if (stages == 1) {
    prefix.push_back(layers);
    out.push_back(prefix);
    prefix.pop_back();
    return;
  }
  for (int first = 1; first <= layers - (stages - 1); ++first) {
    prefix.push_back(first);
    compositions(layers - first, stages - 1, prefix, out);
    prefix.pop_back();
  }
}

TEST(Partition, DynamicProgrammeMatchesBruteForce) {
  std::mt19937 rng(12345);
  int checked = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const int L = 1 + static_cast<int>(rng() % 11);
    const int S = 1 + static_cast<int>(rng() % L);
    // Small value ranges force many ties, which exercises the tie-break.
    const int range = trial % 3 == 0 ? 3 : 1000;
    std::vector<TimeNs> blocks(L);
    for (TimeNs& t : blocks) t = 1 + static_cast<TimeNs>(rng() % range);
    std::vector<TimeNs> extra(S, 0);
    extra[0] += static_cast<TimeNs>(rng() % (2 * range));
    extra[S - 1] += static_cast<TimeNs>(rng() % (3 * range));
    if (trial % 5 == 0 && S > 2) extra[1] = static_cast<TimeNs>(rng() % range);  // any stage can carry extra

    std::vector<std::vector<int>> all;
    std::vector<int> prefix;
    compositions(L, S, prefix, all);
    TimeNs best = std::numeric_limits<TimeNs>::max();
    std::vector<int> best_split;
    for (const auto& split : all) {  // lexicographic order: the first optimum is the smallest
      const TimeNs t = split_bottleneck(split, blocks, extra);
      if (t < best) {
        best = t;
        best_split = split;
      }
    }
    const std::vector<int> dp = min_bottleneck_split(blocks, extra, S, "test");
    ASSERT_EQ(split_bottleneck(dp, blocks, extra), best) << "L=" << L << " S=" << S;
    ASSERT_EQ(dp, best_split) << "L=" << L << " S=" << S;
    ++checked;
  }
  EXPECT_EQ(checked, 600);
}

TEST(Partition, EvenSplitAndHeavyEnds) {
  const std::vector<TimeNs> eight(8, 10);
  EXPECT_EQ(min_bottleneck_split(eight, {}, 4, "p"), (std::vector<int>{2, 2, 2, 2}));
  // A head worth two blocks on the last stage: T* = 30 (head + 1 block; 7 blocks in 3 x 3 elsewhere),
  // and the tie-break keeps the earliest stages smallest.
  const std::vector<TimeNs> head_heavy{0, 0, 0, 20};
  EXPECT_EQ(min_bottleneck_split(eight, head_heavy, 4, "p"), (std::vector<int>{1, 3, 3, 1}));
  EXPECT_EQ(split_bottleneck({1, 3, 3, 1}, eight, head_heavy), 30);
  // One block per stage is the only split of 4 blocks over 4 stages.
  EXPECT_EQ(min_bottleneck_split(std::vector<TimeNs>(4, 7), {3, 0, 0, 9}, 4, "p"), (std::vector<int>{1, 1, 1, 1}));
}

TEST(Partition, TooFewLayers) {
  try {
    min_bottleneck_split(std::vector<TimeNs>(3, 1), {}, 4, "run.yaml:4:3: partition");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "run.yaml:4:3: partition: the model has 3 layers, too few to give each of the 4 virtual stages "
                 "(stages x chunks) at least one");
  }
}

TEST(Partition, ValidateExplicit) {
  Partition p;
  p.layers_per_stage = {3, 3, 2};
  EXPECT_NO_THROW(validate_partition(p, 8, 3, 1, "w"));
  EXPECT_EQ(p.first_layer(2), 6);
  EXPECT_EQ(p.head(), 2);
  auto message = [](const Partition& q, int layers, int P, int V) {
    try {
      validate_partition(q, layers, P, V, "cfg.yaml:7:12: partition");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(p, 9, 3, 1), "cfg.yaml:7:12: partition: [3, 3, 2] adds up to 8 layers but the model has 9");
  EXPECT_EQ(message(p, 8, 2, 2),
            "cfg.yaml:7:12: partition: [3, 3, 2] has 3 entries but the pipeline has 2 stages x 2 chunks = 4 virtual stages");
  Partition empty_middle;
  empty_middle.layers_per_stage = {4, 0, 4};
  EXPECT_EQ(message(empty_middle, 8, 3, 1),
            "cfg.yaml:7:12: partition: virtual stage 1 of [4, 0, 4] has no layers and holds neither the embedding nor "
            "the head");
  Partition head_alone;
  head_alone.layers_per_stage = {4, 4, 0};
  EXPECT_EQ(message(head_alone, 8, 3, 1), "no error");
  Partition negative;
  negative.layers_per_stage = {5, -1, 4};
  EXPECT_NE(message(negative, 8, 3, 1).find("negative"), std::string::npos);
}

}  // namespace
}  // namespace ppsim
