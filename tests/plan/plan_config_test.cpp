// plan.yaml: defaults, and bad input named by file, line and key.
#include <gtest/gtest.h>

#include "input_error.h"
#include "plan/plan_config.h"

namespace ppsim {
namespace {

PlanConfig parse(const std::string& text) { return parse_plan_config(text, "plan.yaml", "."); }

TEST(PlanConfig, DefaultsFillEveryDimension) {
  const PlanConfig p = parse("model: tiny\nhardware: h100-sxm\ngpus: 8\nglobal_batch_size: 16\nsequence_length: 128\n");
  EXPECT_EQ(p.gpus, 8);
  EXPECT_EQ(p.global_batch_size, 16);
  EXPECT_EQ(p.model_layers, 8);
  // 80 GB less the 5 % reserve.
  EXPECT_EQ(p.memory_limit_bytes, 76'000'000'000);
  EXPECT_TRUE(p.memory_limit_defaulted);
  EXPECT_EQ(p.search.stages, (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(p.search.tensor_parallel, (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(p.search.chunks, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(p.search.micro_batch_size, (std::vector<int>{1, 2, 4, 8}));
  EXPECT_EQ(p.search.zero, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(p.search.schedules.size(), 12u);  // every registered schedule; zb-auto only when named
  EXPECT_EQ(p.search.recompute.size(), 3u);
  EXPECT_EQ(p.search.sequence_parallel.size(), 2u);
}

TEST(PlanConfig, SearchRestrictsAndMemoryLimitOverrides) {
  const PlanConfig p = parse(
      "model: tiny\ngpus: 8\nglobal_batch_size: 16\nmemory_limit: 40GB\nsearch:\n  schedules: [zb-h1, zb-auto]\n"
      "  stages: [2, 4]\n  recompute: [full]\n  sequence_parallel: [false]\n");
  EXPECT_EQ(p.memory_limit_bytes, 40'000'000'000);
  EXPECT_FALSE(p.memory_limit_defaulted);
  EXPECT_EQ(p.search.schedules, (std::vector<std::string>{"zb-h1", "zb-auto"}));
  EXPECT_EQ(p.search.stages, (std::vector<int>{2, 4}));
  EXPECT_EQ(p.search.recompute, (std::vector<Recompute>{Recompute::Full}));
  EXPECT_EQ(p.search.sequence_parallel, (std::vector<bool>{false}));
}

TEST(PlanConfig, BadInputNamesFileLineAndKey) {
  const std::string head = "model: tiny\ngpus: 8\nglobal_batch_size: 16\n";
  EXPECT_EQ(error_of([&] { parse(head + "search:\n  stages: []\n"); }),
            "plan.yaml:5:11: search.stages: is empty: the search space would be empty (leave the key out to search "
            "every valid value)");
  EXPECT_NE(error_of([&] { parse(head + "search:\n  schedules: [1f1b, zb-h3]\n"); })
                .find("plan.yaml:5:21: search.schedules[1]: must be one of gpipe, 1f1b"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse(head + "gpu: 8\n"); }).find("plan.yaml:4:1: gpu: unknown key"), std::string::npos);
  EXPECT_NE(error_of([&] { parse(head + "search:\n  stages: [2, 2]\n"); }).find("search.stages[1]: repeats an earlier value"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { parse("model: tiny\ngpus: 7\nglobal_batch_size: 16\nsearch:\n  stages: [2, 4]\n  tensor_parallel: [2]\n"); }),
            "plan.yaml:2:7: gpus: no tensor_parallel x stages of the search divides 7 GPUs (tensor_parallel [2], "
            "stages [2, 4])");
  EXPECT_NE(error_of([&] { parse("gpus: 8\nglobal_batch_size: 16\n"); }).find("model"), std::string::npos);
  EXPECT_NE(error_of([&] { parse("model: tiny\ngpus: 0\nglobal_batch_size: 16\n"); }).find("plan.yaml:2:7: gpus"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse("model: nosuch\ngpus: 8\nglobal_batch_size: 16\n"); }).find("plan.yaml:1:8: model: "),
            std::string::npos);
}

}  // namespace
}  // namespace ppsim
