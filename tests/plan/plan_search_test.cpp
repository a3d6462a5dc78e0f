// The enumeration and its skip reasons, every candidate simulated exactly as `simulate` would, the
// results independent of the thread count, the cost-model cache, the ranking and the Pareto front.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "base/error.h"
#include "input_error.h"
#include "plan/bubble_target.h"
#include "plan/candidate.h"
#include "plan/enumerate.h"
#include "plan/evaluate.h"
#include "plan/plan_config.h"
#include "plan/plan_report.h"
#include "plan/ranking.h"
#include "sim/config/config.h"
#include "sim/simulation.h"

namespace ppsim {
namespace {

// tiny: 8 blocks, 4 heads (t = 8 does not divide them), 8 GPUs, a global batch of 16.
const char* kTinyPlan =
    "model: tiny\nhardware: h100-sxm\ngpus: 8\nglobal_batch_size: 16\nsequence_length: 128\nmemory_limit: 1GB\n"
    "search:\n  schedules: [1f1b, interleaved-1f1b, zb-h1, zb-v]\n  stages: [1, 2, 4, 8]\n  chunks: [1, 2, 4]\n"
    "  micro_batch_size: [1, 2]\n  tensor_parallel: [1, 2, 4, 8]\n  sequence_parallel: [false, true]\n"
    "  recompute: [none, full]\n  zero: [0, 1]\n";

PlanConfig tiny_plan() { return parse_plan_config(kTinyPlan, "tiny-plan.yaml", "."); }

TEST(PlanEnumerate, EveryCombinationIsACandidateOrSkippedForOneReason) {
  const PlanConfig plan = tiny_plan();
  const Enumeration e = enumerate_candidates(plan);
  // 4 t x 4 P x 3 V x 4 schedules x 2 mbs x 2 sp x 2 recompute x 2 zero.
  EXPECT_EQ(e.combinations, 4 * 4 * 3 * 4 * 2 * 2 * 2 * 2);
  std::int64_t skipped = 0;
  for (const auto& kv : e.skipped) skipped += kv.second;
  EXPECT_EQ(static_cast<std::int64_t>(e.candidates.size()) + skipped, e.combinations);
  // t = 8: every combination below it (4 P x 3 V x 4 schedules x 16).
  EXPECT_EQ(e.skipped.at("tensor_parallel_not_dividing_model"), 4 * 3 * 4 * 16);
  // 8 blocks: t = 1, P = 8 with V = 2 (interleaved-1f1b, zb-v) and V = 4 (interleaved-1f1b); P = 4, V = 4
  // (interleaved-1f1b) with t = 1 and with t = 2; 16 combinations below each.
  EXPECT_EQ(e.skipped.at("layers_fewer_than_stages_x_chunks"), 5 * 16);
  for (const Candidate& c : e.candidates) {
    EXPECT_EQ(c.tensor_parallel * c.stages * c.data_parallel, 8);
    EXPECT_EQ(c.microbatches * c.data_parallel * c.micro_batch_size, 16);
    EXPECT_LE(c.stages * c.chunks, 8);
    if (c.schedule == "1f1b" || c.schedule == "zb-h1") {
      EXPECT_EQ(c.chunks, 1);
    }
    if (c.schedule == "zb-v") {
      EXPECT_EQ(c.chunks, 2);
    }
    if (c.sequence_parallel) {
      EXPECT_GT(c.tensor_parallel, 1);
    }
    if (c.zero) {
      EXPECT_GT(c.data_parallel, 1);
    }
  }
  for (std::size_t i = 0; i < e.candidates.size(); ++i) EXPECT_EQ(e.candidates[i].id, static_cast<int>(i));
}

TEST(PlanEvaluate, SameFiguresAsSimulateOnASample) {
  const PlanConfig plan = tiny_plan();
  const Enumeration e = enumerate_candidates(plan);
  const Evaluation ev = evaluate_candidates(plan, e.candidates, {2, {}});
  ASSERT_GT(ev.results.size(), 100u);
  int checked = 0;
  for (std::size_t i = 0; i < ev.results.size(); i += 13) {
    const CandidateResult& r = ev.results[i];
    // What `ppsim simulate` reads: the candidate's schedule.yaml, parsed as any config is.
    const SimulationConfig config = parse_config(candidate_yaml(plan, r.config), "candidate.yaml", ".");
    EXPECT_EQ(config.microbatches, r.config.microbatches);
    if (!r.fits) continue;  // simulate refuses a config whose parameters alone exceed memory_limit
    const SimulationResult s = run_simulation(config);
    ASSERT_TRUE(s.model_metrics);
    std::int64_t peak = 0;
    for (const RankModelMetrics& rank : s.model_metrics->ranks) peak = std::max(peak, rank.peak_memory_bytes);
    EXPECT_EQ(s.metrics.iteration_ns, r.iteration_time_ns) << describe(r.config);
    EXPECT_EQ(peak, r.peak_memory_bytes) << describe(r.config);
    EXPECT_DOUBLE_EQ(s.model_metrics->tokens_per_s, r.tokens_per_s) << describe(r.config);
    EXPECT_DOUBLE_EQ(s.metrics.bubble_fraction, r.bubble_fraction) << describe(r.config);
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(PlanEvaluate, ResultsDoNotDependOnThreadsAndCostModelsAreShared) {
  const PlanConfig plan = tiny_plan();
  const Enumeration e = enumerate_candidates(plan);
  const Evaluation one = evaluate_candidates(plan, e.candidates, {1, {}});
  const Evaluation three = evaluate_candidates(plan, e.candidates, {3, {}});
  const std::string a = render_plan_json(plan, rank_candidates(e, one));
  const std::string b = render_plan_json(plan, rank_candidates(e, three));
  EXPECT_EQ(a, b);
  EXPECT_EQ(one.cost_models_built, three.cost_models_built);
  // Schedules with the same placement of stages (1f1b, zb-h1, interleaved-1f1b at V = 1) share a cost model.
  EXPECT_GT(one.cost_models_built, 0);
  EXPECT_LT(one.cost_models_built, static_cast<std::int64_t>(one.results.size()) * 2 / 3);
  EXPECT_EQ(one.results.size() + [&] {
    std::int64_t n = 0;
    for (const auto& kv : one.skipped) n += kv.second;
    return static_cast<std::size_t>(n);
  }(), e.candidates.size());
}

TEST(PlanRanking, RanksFittingByThroughputAndDrawsTheFront) {
  const PlanConfig plan = tiny_plan();
  const Enumeration e = enumerate_candidates(plan);
  const PlanOutcome o = rank_candidates(e, evaluate_candidates(plan, e.candidates, {2, {}}));
  ASSERT_GE(o.fitting, 2);
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(o.ranked.size()); ++i) {
    EXPECT_EQ(o.ranked[i].fits, i < o.fitting);
    EXPECT_EQ(o.ranked[i].fits, o.ranked[i].peak_memory_bytes <= plan.memory_limit_bytes);
    if (i > 0 && i != o.fitting) {
      EXPECT_LE(o.ranked[i - 1].iteration_time_ns, o.ranked[i].iteration_time_ns);
    }
  }
  // Tokens per step are fixed (global batch x sequence), so throughput is their ratio with the step.
  for (const CandidateResult& r : o.ranked)
    EXPECT_NEAR(r.tokens_per_s, 16.0 * 128 / (static_cast<double>(r.iteration_time_ns) * 1e-9), 1e-6 * r.tokens_per_s);
  // The front: no simulated candidate is at least as fast with strictly less memory, or faster with as little.
  ASSERT_FALSE(o.pareto.empty());
  for (std::size_t p : o.pareto)
    for (const CandidateResult& r : o.ranked) {
      const CandidateResult& f = o.ranked[p];
      EXPECT_FALSE(r.peak_memory_bytes < f.peak_memory_bytes && r.iteration_time_ns <= f.iteration_time_ns) << describe(r.config);
      EXPECT_FALSE(r.peak_memory_bytes <= f.peak_memory_bytes && r.iteration_time_ns < f.iteration_time_ns) << describe(r.config);
    }
  // The front's fastest fitting point is the best.
  EXPECT_NE(std::find(o.pareto.begin(), o.pareto.end(), std::size_t{0}), o.pareto.end());
  EXPECT_NE(o.why.find("#1 is "), std::string::npos);
  // 1f1b and interleaved-1f1b at V = 1 run the same order here: a tie, said as such, and the
  // explanation is against the first slower candidate.
  std::size_t j = 1;
  while (o.ranked[j].iteration_time_ns == o.ranked[0].iteration_time_ns) ++j;
  ASSERT_GT(j, 1u);
  EXPECT_EQ(o.why.rfind("#2" + (j > 2 ? " to #" + std::to_string(j) : std::string()) + " tie with #1", 0), 0u) << o.why;
  EXPECT_NE(o.why.find("#1 against #" + std::to_string(j + 1) + ": "), std::string::npos) << o.why;
  EXPECT_NE(o.why.find(" decides"), std::string::npos) << o.why;
}

TEST(PlanRanking, ExplainsTheDecisivePart) {
  CandidateResult a, b;
  a.config.schedule = "zb-h1";
  b.config.schedule = "1f1b";
  a.largest_busy_ns = b.largest_busy_ns = 100'000'000;
  a.makespan_ns = 110'000'000;  // 10 ms bubble
  b.makespan_ns = 130'000'000;  // 30 ms bubble
  a.exposed_data_parallel_ns = 5'000'000;
  b.exposed_data_parallel_ns = 4'000'000;
  a.iteration_time_ns = 115'000'000;
  b.iteration_time_ns = 134'000'000;
  EXPECT_EQ(explain_difference(a, b),
            "#1 is 14.18 % faster than #2 (19.000 ms less per step; schedule zb-h1 vs 1f1b); #1 against #2: compute on "
            "the busiest rank (F, B, W with recompute and tensor-parallel collectives) the same, pipeline bubble "
            "-20.000 ms, exposed data-parallel communication +1.000 ms, exposed optimizer the same. The pipeline bubble "
            "decides.");
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

TEST(PlanBubbleTarget, ParsesPercentOrFraction) {
  EXPECT_DOUBLE_EQ(parse_fraction("5%", "--bubble-target"), 0.05);
  EXPECT_DOUBLE_EQ(parse_fraction("0.2", "--bubble-target"), 0.2);
  for (const char* bad : {"", "%", "0", "100%", "1.5", "5x", "-3%", "nan"})
    EXPECT_THROW(parse_fraction(bad, "--bubble-target"), InputError) << bad;
}

TEST(PlanBubbleTarget, SmallestSimulatedMicrobatchCountUnderTheTarget) {
  const PlanConfig plan = tiny_plan();
  Candidate c;
  c.schedule = "1f1b";
  c.stages = 4;
  c.tensor_parallel = 2;
  c.data_parallel = 1;
  c.microbatches = 16;
  // tiny's stages are unequal (the embedding and head are large beside its blocks): its bubble
  // stays above 10 % at any M, so the target is 20 %.
  const BubbleTarget t = smallest_microbatches_for_bubble(plan, c, 0.20);
  EXPECT_EQ(t.estimate, 12);  // (4 - 1)(1 - 0.2) / 0.2
  ASSERT_TRUE(t.found);
  EXPECT_EQ(t.global_batch_size, t.microbatches);  // d = 1, micro-batch 1
  EXPECT_LE(t.bubble_fraction, 0.20);
  // It is the smallest: one micro-batch fewer, simulated as `simulate` would, is above the target.
  auto bubble_at = [&](int m) {
    Candidate x = c;
    x.microbatches = m;
    SimulationConfig config = parse_config(candidate_yaml(plan, x), "candidate.yaml", ".");
    config.microbatches = m;
    return run_simulation(config).metrics.bubble_fraction;
  };
  EXPECT_DOUBLE_EQ(bubble_at(t.microbatches), t.bubble_fraction);
  EXPECT_GT(bubble_at(t.microbatches - 1), 0.20);
  // Little's law on rank 0 at that M: L = lambda x W.
  EXPECT_NEAR(t.mean_in_flight, t.arrival_rate_per_s * t.mean_residence_ns * 1e-9, 1e-6 * t.mean_in_flight);
  EXPECT_GE(t.peak_in_flight, 1);
  EXPECT_LE(t.peak_in_flight, 4);  // 1F1B holds at most P micro-batches
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

TEST(PlanEvaluate, ScheduleShapesRefusedAreSkippedByReasonAndAnEmptySpaceIsAnError) {
  // P = 4, M = 9: interleaving runs rounds of max(1, 9 / 4) = 2 micro-batches (9 is not a multiple);
  // DualPipe needs an even M.
  const PlanConfig plan = parse_plan_config(
      "model: tiny\ngpus: 4\nglobal_batch_size: 9\nsequence_length: 128\nsearch:\n  schedules: [interleaved-1f1b, dualpipe]\n"
      "  stages: [4]\n  chunks: [2]\n  micro_batch_size: [1]\n  tensor_parallel: [1]\n  sequence_parallel: [false]\n"
      "  recompute: [none]\n  zero: [0]\n",
      "odd.yaml", ".");
  const Enumeration e = enumerate_candidates(plan);
  ASSERT_EQ(e.candidates.size(), 2u);
  const PlanOutcome o = rank_candidates(e, evaluate_candidates(plan, e.candidates, {1, {}}));
  EXPECT_EQ(o.evaluated, 0);
  EXPECT_EQ(o.skipped.at("interleaving_constraint"), 1);
  EXPECT_EQ(o.skipped.at("dualpipe_constraint"), 1);
  EXPECT_EQ(error_of([&] { require_simulated(plan.source, o); }),
            "odd.yaml: search: the search space is empty: every one of its 2 combinations is skipped (1 DualPipe(V): "
            "needs microbatches >= 2 x stages (DualPipe: both even); 1 interleaving: microbatches not a multiple of the "
            "round size max(1, M / P))");
}

}  // namespace
}  // namespace ppsim
