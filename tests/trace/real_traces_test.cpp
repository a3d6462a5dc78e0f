// Real traces nobody on this project made. Holistic Trace Analysis' two sampled ranks (copied into
// tests/data with their MIT licence) and DeepSeek's DualPipe chunk pair (read in place from
// ../shared/traces, which has no licence to copy it; the test skips where it is absent). The
// expected figures come from tests/trace/hta_reference.py and dualpipe_reference.py, which read the
// raw JSON without ppsim's code.
#include <gtest/gtest.h>

#include <filesystem>

#include "measure/trace/trace_session.h"

namespace ppsim::trace {
namespace {

namespace fs = std::filesystem;
const fs::path kSource = PPSIM_SOURCE_DIR;

TraceOutcome import(const std::vector<std::string>& inputs) {
  TraceRequest r;
  r.inputs = inputs;
  return run_trace(r);
}

struct StreamExpect {
  int stream;
  std::int64_t events;
  TimeNs busy, host_wait, kernel_wait, other;
};

void expect_streams(const RankGpu& g, const std::vector<StreamExpect>& expected) {
  ASSERT_EQ(g.streams.size(), expected.size()) << "rank " << g.rank;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const StreamIdle& s = g.streams[i];
    const StreamExpect& e = expected[i];
    EXPECT_EQ(s.stream, e.stream);
    EXPECT_EQ(s.events, e.events) << "stream " << e.stream;
    EXPECT_EQ(s.busy, e.busy) << "stream " << e.stream;
    EXPECT_EQ(s.host_wait, e.host_wait) << "stream " << e.stream;
    EXPECT_EQ(s.kernel_wait, e.kernel_wait) << "stream " << e.stream;
    EXPECT_EQ(s.other, e.other) << "stream " << e.stream;
  }
}

// Two ranks of a 128-rank recommendation-model job: no pipeline annotations, all-to-alls run with
// NCCL's SendRecv kernels inside "nccl:all_to_all" ranges.
TEST(RealTraces, HolisticTraceAnalysisSampledRanks) {
  const TraceOutcome o = import({(kSource / "tests/data/hta-sampled-ranks").string()});
  ASSERT_EQ(o.ranks.size(), 2u);
  EXPECT_EQ(o.ranks[0].global_rank, 0);
  EXPECT_EQ(o.ranks[1].global_rank, 1);
  EXPECT_EQ(o.ranks[0].world_size, 128);
  EXPECT_EQ(o.ranks[0].rank_source, "distributedInfo");
  EXPECT_EQ(o.ranks[0].events, 4855u);  // every trace event, kept or not (rank 1 has fewer than the
  EXPECT_EQ(o.ranks[1].events, 4720u);  // 4,855 ../shared/traces/README.md gives for both)
  EXPECT_EQ(o.step, 552);  // the last step both have (551, 552)
  // No send/recv pairs (the SendRecv kernels are all-to-alls): the step start aligns the clocks.
  EXPECT_EQ(o.ranks[1].clock.method, "profiler step start");
  EXPECT_EQ(o.ranks[1].clock.offset_ns, -785'000);
  const RankGpu& a = o.gpu.ranks[0];
  const RankGpu& b = o.gpu.ranks[1];
  EXPECT_EQ(a.class_events[0] + a.class_events[1] + a.class_events[2] + a.class_events[3], 602);
  EXPECT_EQ(b.class_events[0] + b.class_events[1] + b.class_events[2] + b.class_events[3], 577);
  EXPECT_EQ(a.class_events[0], 572);
  EXPECT_EQ(a.class_events[1], 0);  // no pipeline send/recv
  EXPECT_EQ(a.class_events[2], 5);  // the all-to-alls
  EXPECT_EQ(a.busy, 104'068'000);
  EXPECT_EQ(b.busy, 136'425'000);
  EXPECT_EQ(a.inner.pipeline, 0);
  EXPECT_EQ(a.idle, a.idle_leading + a.idle_trailing + a.inner.total());
  // Holistic Trace Analysis' per-stream rule over the same step's events (hta_reference.py).
  expect_streams(a, {{7, 526, 100'311'000, 157'685'000, 0, 338'375'000},
                     {23, 63, 3'943'000, 611'568'000, 0, 90'000},
                     {25, 8, 477'000, 0, 0, 52'574'000},
                     {84, 4, 137'228'000, 301'019'000, 0, 3'142'000},
                     {203, 1, 63'644'000, 0, 0, 0}});
  expect_streams(b, {{7, 501, 134'260'000, 224'651'000, 0, 245'252'000},
                     {23, 63, 4'235'000, 618'987'000, 0, 64'000},
                     {25, 8, 11'767'000, 0, 0, 38'803'000},
                     {84, 4, 148'863'000, 292'840'000, 0, 39'339'000},
                     {203, 1, 62'163'000, 0, 0, 0}});
  EXPECT_FALSE(o.run.has_value());  // nothing names a pipeline op
}

// One rank of DeepSeek-V3's training (rank 0 of 64, H800) running one overlapped forward/backward
// chunk pair of DualPipe: parts named attn(F), mlp(B), mlp(W), ... inside "1F1B".
TEST(RealTraces, DeepSeekDualPipeChunkPair) {
  const fs::path path = kSource / "../shared/traces/deepseek-dualpipe/train.json.gz";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent (it cannot be copied here: no licence); nothing to read";
  const TraceOutcome o = import({path.string()});
  ASSERT_EQ(o.ranks.size(), 1u);
  EXPECT_EQ(o.ranks[0].global_rank, 0);
  EXPECT_EQ(o.ranks[0].world_size, 64);
  EXPECT_EQ(o.device_name, "NVIDIA H800");
  EXPECT_EQ(o.step, 1);
  const RankGpu& g = o.gpu.ranks[0];
  EXPECT_EQ(g.class_events[0], 963);
  EXPECT_EQ(g.class_events[3], 20);
  EXPECT_EQ(g.busy, 128'500'000);
  EXPECT_EQ(o.gpu.window_ns, 129'012'000);
  expect_streams(g, {{7, 927, 118'193'000, 417'000, 0, 9'927'000},
                     {23, 16, 11'355'000, 82'308'000, 0, 4'913'000},
                     {27, 40, 114'521'000, 1'107'000, 0, 10'887'000}});
  // The parts: one F, one B and one W op of the unit, every kernel launched inside a part.
  const RankOps& ops = o.ops[0];
  ASSERT_EQ(ops.ops.size(), 3u);
  EXPECT_EQ(ops.kernels_in_ops, 983);
  EXPECT_EQ(ops.ranges_by_origin.at("dualpipe"), 40);
  EXPECT_EQ(ops.ops[0].kind, ActionKind::F);
  EXPECT_EQ(ops.ops[0].kernel_ns, 97'391'000);
  EXPECT_EQ(ops.ops[1].kind, ActionKind::B);
  EXPECT_EQ(ops.ops[1].kernel_ns, 111'611'000);
  EXPECT_EQ(ops.ops[2].kind, ActionKind::W);
  EXPECT_EQ(ops.ops[2].kernel_ns, 29'805'000);
  ASSERT_TRUE(o.stage_times);
  EXPECT_EQ(o.stage_times->stages[0].forward.mean_ns, 97'391'000);
  EXPECT_EQ(o.stage_times->stages[0].backward_input.mean_ns, 111'611'000);
  EXPECT_EQ(o.stage_times->stages[0].backward_weight.mean_ns, 29'805'000);
  // Overlapped: F and B share the unit's span, so the traced step is far shorter than F + B + W.
  EXPECT_EQ(o.metrics.makespan_ns, 129'012'000);
}

}  // namespace
}  // namespace ppsim::trace
