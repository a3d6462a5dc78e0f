// schedule: stream configs: the keys read as documented, and bad input is refused naming the file,
// line, column and key.
#include <gtest/gtest.h>

#include "input_error.h"
#include "sim/config/config.h"

namespace ppsim {
namespace {

SimulationConfig parse(const std::string& yaml) { return parse_config(yaml, "s.yaml", "."); }

const std::string kBase = "schedule: stream\nstages: 3\nitems: 100\ntimes:\n  forward: [2ms, 3ms, 1ms]\n";

TEST(StreamConfig, ReadsEveryKey) {
  const SimulationConfig c = parse(kBase +
                                   "  transfer: 0.2ms\nwarmup_items: 5\nmax_outstanding: 2\nqueue_capacity: [1, 2, 3]\n"
                                   "arrivals:\n  interval: 4ms\n  process: fixed\njitter:\n  distribution: lognormal\n"
                                   "  cv: 0.2\nseed: 9\n");
  ASSERT_TRUE(c.stream);
  const StreamConfig& s = *c.stream;
  EXPECT_EQ(c.schedule, "stream");
  EXPECT_EQ(c.ranks, 3);
  EXPECT_EQ(s.items, 100);
  EXPECT_EQ(s.warmup_items, 5);
  EXPECT_EQ(*s.max_outstanding, 2);
  EXPECT_EQ(s.queue_capacity, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(s.arrivals->interval, 4'000'000);
  EXPECT_EQ(s.arrivals->process, ArrivalProcess::Fixed);
  EXPECT_EQ(s.forward, (std::vector<TimeNs>{2'000'000, 3'000'000, 1'000'000}));
  EXPECT_EQ(s.transfer, 200'000);
  EXPECT_EQ(s.jitter.distribution, Distribution::Lognormal);
  EXPECT_EQ(s.jitter.cv, 0.2);
  EXPECT_EQ(s.seed, 9u);
}

TEST(StreamConfig, Defaults) {
  const StreamConfig s = *parse(kBase).stream;
  EXPECT_EQ(s.warmup_items, 0);
  EXPECT_FALSE(s.max_outstanding);
  EXPECT_FALSE(s.arrivals);
  EXPECT_EQ(s.queue_capacity, (std::vector<std::int64_t>{kUnbounded, kUnbounded, kUnbounded}));
  EXPECT_TRUE(s.jitter.deterministic());
  EXPECT_EQ(parse(kBase + "queue_capacity: 2\n").stream->queue_capacity, (std::vector<std::int64_t>{2, 2, 2}));
  EXPECT_EQ(parse(kBase + "arrivals: {interval: 1ms}\n").stream->arrivals->process, ArrivalProcess::Poisson);
}

TEST(StreamConfig, BadInputNamesFileLineAndKey) {
  EXPECT_EQ(error_of([&] { parse(kBase + "arrivals:\n  interval: -4ms\n"); }),
            "s.yaml:7:13: arrivals.interval: '-4ms' is negative");
  EXPECT_EQ(error_of([&] { parse(kBase + "arrivals:\n  interval: 0ms\n"); }),
            "s.yaml:7:13: arrivals.interval: must be a positive time between arrivals (got '0ms')");
  EXPECT_EQ(error_of([&] { parse(kBase + "jitter:\n  distribution: lognormal\n  cv: -0.1\n"); }),
            "s.yaml:8:7: jitter.cv: must be a number in [0, 10] (got '-0.1')");
  EXPECT_EQ(error_of([&] { parse(kBase + "jitter:\n  distribution: weibull\n"); }),
            "s.yaml:7:17: jitter.distribution: must be one of deterministic, exponential, normal, lognormal, gamma, "
            "profile (got 'weibull')");
  EXPECT_EQ(error_of([&] { parse(kBase + "jitter:\n  distribution: gamma\n"); }),
            "s.yaml:7:3: jitter.cv: missing required key: the coefficient of variation of distribution gamma "
            "(std / mean, >= 0)");
  // The contract's own example pairs exponential with cv: 0.2 ("where the distribution takes one"):
  // accepted, the cv left aside (an exponential's is 1), and still checked as a number.
  EXPECT_EQ(parse(kBase + "jitter:\n  distribution: exponential\n  cv: 0.2\n").stream->jitter.cv, 1.0);
  EXPECT_EQ(error_of([&] { parse(kBase + "jitter:\n  distribution: exponential\n  cv: -1\n"); }),
            "s.yaml:8:7: jitter.cv: must be a number in [0, 10] (got '-1')");
  EXPECT_EQ(error_of([&] { parse(kBase + "max_outstanding: 0\n"); }),
            "s.yaml:6:18: max_outstanding: must be a positive integer (got '0')");
  const std::string head = "schedule: stream\nstages: 3\nitems: 10\n";
  EXPECT_EQ(error_of([&] { parse(head + "times: {forward: [1ms, 2ms], transfer: 0.1ms}\n"); }),
            "s.yaml:4:18: times.forward: has 2 values but stages is 3 (give one value, or one per stage)");
  EXPECT_EQ(error_of([&] { parse(head + "times: {forward: 1ms, transfer: [0.1ms]}\n"); }),
            "s.yaml:4:33: times.transfer: has 1 values but 3 stages have 2 boundaries (give one value, or one per "
            "boundary)");
  EXPECT_EQ(error_of([&] { parse(kBase + "queue_capacity: [1, 2]\n"); }),
            "s.yaml:6:17: queue_capacity: has 2 values but stages is 3 (give one value, or one per stage)");
  EXPECT_EQ(error_of([&] { parse(kBase + "arrivals:\n  interval: 4ms\n  process: bursty\n"); }),
            "s.yaml:8:12: arrivals.process: must be one of poisson, fixed (got 'bursty')");
  EXPECT_EQ(error_of([&] { parse(kBase + "itemz: 3\n"); }).substr(0, 46),
            "s.yaml:6:1: itemz: unknown key (valid keys: ar");
}

TEST(StreamConfig, Batch) {
  const StreamConfig s = *parse(kBase + "batch: {max: 4, time_model: linear, fixed_fraction: 0.25}\n").stream;
  EXPECT_EQ(s.batch.max, 4);
  EXPECT_EQ(s.batch.fixed_fraction, 0.25);
  EXPECT_EQ(batch_time(s, 1, 4), 3'000'000 * 13 / 4);  // 3 ms (0.25 + 0.75 x 4)
  EXPECT_EQ(parse(kBase).stream->batch.max, 1);
  EXPECT_EQ(error_of([&] { parse(kBase + "batch: {max: 0}\n"); }), "s.yaml:6:14: batch.max: must be a positive integer (got '0')");
  EXPECT_EQ(error_of([&] { parse(kBase + "batch: {max: 2, time_model: quadratic}\n"); }),
            "s.yaml:6:29: batch.time_model: must be one of linear, table (got 'quadratic')");
  EXPECT_EQ(error_of([&] { parse(kBase + "batch: {max: 2, fixed_fraction: 1.5}\n"); }),
            "s.yaml:6:33: batch.fixed_fraction: must be a number in [0, 1] (got '1.5')");
}

TEST(StreamConfig, HopsPerBoundary) {
  const StreamConfig s = *parse(kBase + "  transfer: [0.1ms, 0.3ms]\n").stream;
  EXPECT_EQ(s.hop(0), 100'000);
  EXPECT_EQ(s.hop(1), 300'000);
  EXPECT_EQ(s.total_hops(), 400'000);
  EXPECT_EQ(parse(kBase + "  transfer: 0.2ms\n").stream->total_hops(), 400'000);
  EXPECT_EQ(error_of([&] { parse(kBase + "  transfer: [0.1ms]\n"); }),
            "s.yaml:6:13: times.transfer: has 1 values but 3 stages have 2 boundaries (give one value, or one per "
            "boundary)");
}

TEST(StreamConfig, BatchTable) {
  const StreamConfig s = *parse(kBase + "batch: {max: 3, time_model: table, factors: [1, 1.5, 1.75]}\n").stream;
  EXPECT_EQ(batch_time(s, 0, 3), 3'500'000);  // 2 ms x 1.75
  EXPECT_EQ(batch_time(s, 1, 2), 4'500'000);  // 3 ms x 1.5
  EXPECT_EQ(error_of([&] { parse(kBase + "batch: {max: 3, time_model: table, factors: [1, 1.5]}\n"); }),
            "s.yaml:6:45: batch.factors: has 2 values but max is 3 (one per batch size 1 .. max)");
  EXPECT_EQ(error_of([&] { parse(kBase + "batch: {max: 3, time_model: table}\n"); }),
            "s.yaml:6:8: batch.factors: missing required key with time_model: table (t(b) / t(1) for b = 1 .. max)");
  EXPECT_EQ(error_of([&] { parse(kBase + "batch: {max: 2, factors: [1, 2]}\n"); }),
            "s.yaml:6:26: batch.factors: is for time_model: table (time_model is linear)");
}

TEST(StreamConfig, TimesFromTheCostModel) {
  const std::string base = "schedule: stream\nstages: 2\nitems: 10\n";
  const SimulationConfig c = parse(base + "model: llama3-8b\nhardware: h100-sxm\nsequence_length: 1024\n");
  ASSERT_TRUE(c.stream);
  ASSERT_TRUE(c.model);
  EXPECT_EQ(c.model->sequence_length, 1024);
  EXPECT_EQ(error_of([&] { parse(base + "model: llama3-8b\ntimes: {forward: 1ms}\n"); }),
            "s.yaml:4:8: model: give either 'times:' (explicit per-stage times) or 'model:' (times from the cost "
            "model), not both");
  EXPECT_EQ(error_of([&] { parse(base + "model: llama3-8b\nrecompute: full\n"); }).substr(0, 37),
            "s.yaml:5:12: recompute: is a training");
  EXPECT_EQ(error_of([&] { parse(base + "hardware: h100-sxm\ntimes: {forward: 1ms}\n"); }).substr(0, 36),
            "s.yaml:4:11: hardware: is a training");
}

TEST(StreamConfig, StreamKeysOnATrainingScheduleAndTheReverse) {
  const std::string training =
      "schedule: 1f1b\nstages: 2\nmicrobatches: 4\ntimes: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms}\n";
  EXPECT_EQ(error_of([&] { parse(training + "max_outstanding: 2\n"); }),
            "s.yaml:5:18: max_outstanding: is only used with schedule: stream (schedule is 1f1b)");
  EXPECT_EQ(error_of([&] { parse(training + "arrivals: {interval: 1ms}\n"); }),
            "s.yaml:5:11: arrivals: is only used with schedule: stream (schedule is 1f1b)");
  EXPECT_EQ(error_of([&] { parse(kBase + "microbatches: 4\n"); }),
            "s.yaml:6:15: microbatches: is a training key; schedule: stream takes stages, items, warmup_items, "
            "max_outstanding, queue_capacity, arrivals, times (forward, transfer) or model: with its cost-model keys, "
            "jitter, seed and batch");
  EXPECT_EQ(error_of([&] { parse(kBase + "  backward_input: 1ms\n"); }),
            "s.yaml:6:19: times.backward_input: is a training op; a stream runs forward only (times: forward, "
            "transfer)");
}

}  // namespace
}  // namespace ppsim
