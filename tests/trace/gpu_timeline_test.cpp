// Each GPU's step from its kernels alone, on a hand-made two-rank trace whose answers are worked
// out by hand: overlapping streams, a late launch, a wait covered by a receive, a collective and a
// copy, kernels 20 ns apart, and rank 1's clock 5 ms ahead (found from the send/recv pairs, not
// from the profiler step, which starts 100 us off).
#include <gtest/gtest.h>

#include "cli_run.h"
#include "measure/trace/clock_alignment.h"
#include "measure/trace/gpu_timeline.h"
#include "measure/trace/op_patterns.h"
#include "measure/trace/trace_reader.h"
#include "synthetic_trace.h"

namespace ppsim::trace {
namespace {

constexpr TimeNs U = 1000;  // one microsecond

test::FakeKernel kernel(TimeNs a, TimeNs z, int stream, TimeNs launch, std::string name = "void gemm<float>()",
                        std::string category = "kernel") {
  test::FakeKernel k;
  k.start = a, k.end = z, k.stream = stream, k.launch = launch, k.name = std::move(name), k.category = std::move(category);
  return k;
}

const char* kSendRecv = "ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)";

std::vector<test::FakeRank> two_ranks() {
  test::FakeRank r0, r1;
  r0.rank = 0, r0.world_size = 2;
  r1.rank = 1, r1.world_size = 2, r1.skew = 5000 * U;
  r0.kernels = {
      kernel(0, 100 * U, 7, -10 * U),               // A
      kernel(50 * U, 150 * U, 8, -9 * U),           // B, on another stream, overlapping A
      kernel(10 * U, 20 * U, 9, -8 * U),            // two tiny kernels 20 ns apart, inside A
      kernel(20 * U + 20, 30 * U, 9, 5 * U),
      kernel(200 * U, 300 * U, 7, 180 * U),         // D: launched after B ended: 50 us host wait
      kernel(250 * U, 380 * U, 20, 240 * U, kSendRecv),  // a receive covering [300, 380]
      kernel(400 * U, 500 * U, 7, 100 * U),         // C: launched in time, 20 us idle "other"
      kernel(520 * U, 560 * U, 21, 510 * U, "ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevComm*, unsigned long, ncclWork*)"),
      kernel(560 * U, 570 * U, 22, 511 * U, "Memcpy DtoD (Device -> Device)", "gpu_memcpy"),
      kernel(600 * U, 700 * U, 7, 590 * U),         // E: launched late: 50 us host wait
      kernel(700 * U, 750 * U, 20, 690 * U, kSendRecv),
  };
  r1.kernels = {
      kernel(100 * U, 300 * U, 7, 90 * U),
      kernel(280 * U, 380 * U, 20, 270 * U, kSendRecv),  // ends with rank 0's receive
      kernel(400 * U, 650 * U, 7, 390 * U),              // launched after the gap began: host
      kernel(720 * U, 750 * U, 20, 710 * U, kSendRecv),
  };
  r0.ranges = {{"ProfilerStep#7", -1000 * U, 1000 * U}};
  r1.ranges = {{"ProfilerStep#7", -900 * U, 1000 * U}};
  return {r0, r1};
}

struct Loaded {
  std::vector<RankTrace> ranks;
  std::vector<StepWindow> windows;
  std::vector<RankClock> clocks;
};

Loaded load(const std::vector<test::FakeRank>& fakes) {
  const auto dir = test::scratch_dir("gpu_timeline");
  Loaded l;
  const OpPatterns patterns = shipped_patterns();
  for (const auto& f : fakes) {
    const std::string path = (dir / ("rank" + std::to_string(f.rank) + ".json.gz")).string();
    test::write_file(path, test::kineto_json(f));
    l.ranks.push_back(read_rank_trace(path, patterns));
  }
  const std::int64_t step = choose_step(l.ranks, std::nullopt);
  for (const auto& t : l.ranks) l.windows.push_back(step_window(t, step));
  l.clocks = align_clocks(l.ranks, l.windows, {{0, 1}});
  for (std::size_t r = 0; r < l.ranks.size(); ++r) shift_clock(l.ranks[r], l.windows[r], l.clocks[r].offset_ns);
  std::filesystem::remove_all(dir);
  return l;
}

TEST(GpuTimeline, ClocksAlignOnSendRecvPairsNotOnTheStep) {
  const Loaded l = load(two_ranks());
  EXPECT_EQ(l.clocks[0].offset_ns, 0);
  EXPECT_EQ(l.clocks[0].method, "reference");
  EXPECT_EQ(l.clocks[1].offset_ns, -5000 * U);
  EXPECT_EQ(l.clocks[1].method, "nccl send/recv pairs with rank 0");
  EXPECT_EQ(l.clocks[1].matched, 2);
  EXPECT_EQ(l.clocks[1].spread_ns, 0);
  EXPECT_EQ(l.ranks[1].gpu.front().start, l.ranks[0].gpu.front().start + 100 * U);  // now on rank 0's clock
}

TEST(GpuTimeline, WithoutPairsTheStepStartAligns) {
  auto fakes = two_ranks();
  for (auto& f : fakes)
    for (auto& k : f.kernels)
      if (k.name == kSendRecv) k.name = "void other_kernel()";
  const Loaded l = load(fakes);
  EXPECT_EQ(l.clocks[1].method, "profiler step start");
  EXPECT_EQ(l.clocks[1].offset_ns, -5000 * U - 100 * U);  // off by the steps' own 100 us
}

TEST(GpuTimeline, BusyIdleAndWhyByHand) {
  const Loaded l = load(two_ranks());
  const GpuSummary g = analyze_gpu(l.ranks, l.windows);
  EXPECT_EQ(g.window_ns, 750 * U);
  ASSERT_EQ(g.ranks.size(), 2u);
  const RankGpu& a = g.ranks[0];
  EXPECT_EQ(a.busy, 450 * U);  // [0, 150] + [200, 300] + [400, 500] + [600, 700]: streams overlap
  EXPECT_EQ(a.idle, 300 * U);
  EXPECT_EQ(a.idle_leading, 0);
  EXPECT_EQ(a.idle_trailing, 50 * U);
  EXPECT_EQ(a.inner.pipeline, 80 * U);
  EXPECT_EQ(a.inner.collective, 40 * U);
  EXPECT_EQ(a.inner.memory, 10 * U);
  EXPECT_EQ(a.inner.host, 100 * U);
  EXPECT_EQ(a.inner.other, 20 * U);
  EXPECT_EQ(a.idle, a.idle_leading + a.idle_trailing + a.inner.total());
  EXPECT_EQ(a.class_ns[0], 500 * U + 20 * U - 20);  // compute: five 100 us kernels and the two tiny ones
  EXPECT_EQ(a.class_events[0], 7);
  EXPECT_EQ(a.class_ns[1], 180 * U);  // p2p
  EXPECT_EQ(a.class_ns[2], 40 * U);   // collective
  EXPECT_EQ(a.class_ns[3], 10 * U);   // memory
  EXPECT_EQ(a.class_union_ns[0], 450 * U);
  EXPECT_EQ(a.comm_overlap, 50 * U);  // the receive beside D
  EXPECT_EQ(a.active, 450 * U + 80 * U + 40 * U + 10 * U + 50 * U);
  EXPECT_EQ(a.host_step_ns, 2000 * U);

  const RankGpu& b = g.ranks[1];
  EXPECT_EQ(b.busy, 450 * U);
  EXPECT_EQ(b.idle_leading, 100 * U);
  EXPECT_EQ(b.idle_trailing, 100 * U);
  EXPECT_EQ(b.inner.pipeline, 80 * U);
  EXPECT_EQ(b.inner.host, 20 * U);
  EXPECT_EQ(b.inner.other, 0);
  EXPECT_EQ(b.comm_overlap, 20 * U);
  EXPECT_EQ(b.host_step_ns, 1900 * U);
}

TEST(GpuTimeline, PerStreamIdleFollowsHolisticTraceAnalysis) {
  const Loaded l = load(two_ranks());
  const GpuSummary g = analyze_gpu(l.ranks, l.windows);
  const auto& s = g.ranks[0].streams;
  ASSERT_EQ(s.size(), 6u);  // streams 7, 8, 9, 20, 21, 22
  EXPECT_EQ(s[0].stream, 7);
  EXPECT_EQ(s[0].events, 4);
  EXPECT_EQ(s[0].busy, 400 * U);
  EXPECT_EQ(s[0].host_wait, 200 * U);  // A -> D and C -> E: launched after the previous ended
  EXPECT_EQ(s[0].kernel_wait, 0);
  EXPECT_EQ(s[0].other, 100 * U);      // D -> C: launched in time
  EXPECT_EQ(s[2].stream, 9);
  EXPECT_EQ(s[2].kernel_wait, 20);     // under HTA's 30 ns
  EXPECT_EQ(s[3].stream, 20);
  EXPECT_EQ(s[3].host_wait, 320 * U);
  // A larger threshold turns the 20 ns into "other", as HTA's consecutive_kernel_delay does.
  EXPECT_EQ(analyze_gpu(l.ranks, l.windows, 10).ranks[0].streams[2].other, 20);
}

}  // namespace
}  // namespace ppsim::trace
