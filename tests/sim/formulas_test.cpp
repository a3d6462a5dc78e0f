// Closed forms from the literature, exactly (parameterised sweeps).
#include <gtest/gtest.h>

#include <algorithm>

#include "sim_test_util.h"

namespace ppsim {
namespace {

using test::simulate_uniform;

// Balanced stages, no transfer cost: bubble = (P-1)/(M+P-1), makespan = (M+P-1)(F+B+W).
TEST(Formulas, GpipeAnd1F1BBubbleAndMakespanOverGrid) {
  const TimeNs F = 3000, B = 2000, W = 1000;
  for (const char* kind : {"gpipe", "1f1b"})
    for (int P : {1, 2, 3, 4, 8, 16})
      for (int M : {1, 2, 3, 7, 8, 32, 64}) {
        auto r = simulate_uniform(kind, P, M, 1, F, B, W);
        EXPECT_EQ(r.metrics.makespan_ns, static_cast<TimeNs>(M + P - 1) * (F + B + W)) << kind << P << " " << M;
        EXPECT_DOUBLE_EQ(r.metrics.bubble_fraction, static_cast<double>(P - 1) / (M + P - 1)) << kind << P << " " << M;
        for (int s = 0; s < P; ++s) {
          const int expected_peak = std::string(kind) == "gpipe" ? M : std::min(P - s, M);
          EXPECT_EQ(r.metrics.ranks[s].peak_in_flight, expected_peak) << kind << " P=" << P << " M=" << M << " s=" << s;
        }
      }
}

// Interleaved with M a multiple of P: bubble = (P-1)/(V*M + P-1) with per-chunk times.
TEST(Formulas, InterleavedBubbleOverGrid) {
  const TimeNs F = 1000, B = 1000, W = 1000;
  for (int P : {2, 3, 4, 8})
    for (int k : {1, 2, 3, 4})
      for (int V : {2, 3, 4}) {
        const int M = k * P;
        auto r = simulate_uniform("interleaved-1f1b", P, M, V, F, B, W);
        EXPECT_DOUBLE_EQ(r.metrics.bubble_fraction, static_cast<double>(P - 1) / (V * M + P - 1))
            << "P=" << P << " M=" << M << " V=" << V;
        EXPECT_EQ(r.metrics.makespan_ns, static_cast<TimeNs>(V * M + P - 1) * (F + B + W));
      }
}

// Zero-bubble paper, F = B = W = t, no transfer: largest rank span 3Mt + (P-1)t for ZB-H1
// (M >= P) and 3Mt for ZB-H2 (M >= 2P-1).
TEST(Formulas, ZeroBubbleSpans) {
  const TimeNs t = 1000;
  for (int P : {2, 3, 4, 6, 8})
    for (int extra : {0, 1, 5, 17}) {
      const int M1 = P + extra;
      auto h1 = simulate_uniform("zb-h1", P, M1, 1, t, t, t);
      EXPECT_EQ(h1.metrics.largest_span_ns, 3 * M1 * t + (P - 1) * t) << "zb-h1 P=" << P << " M=" << M1;
      const int M2 = 2 * P - 1 + extra;
      auto h2 = simulate_uniform("zb-h2", P, M2, 1, t, t, t);
      EXPECT_EQ(h2.metrics.largest_span_ns, 3 * M2 * t) << "zb-h2 P=" << P << " M=" << M2;
      EXPECT_DOUBLE_EQ(h2.metrics.bubble_rate_zb, 0.0);
      // ZB-H1's bubble is a third of 1F1B's (P-1)(F+B+W) idle: (P-1)t on the longest rank.
      EXPECT_DOUBLE_EQ(h1.metrics.bubble_rate_zb, static_cast<double>(P - 1) / (3 * M1 + P - 1));
    }
}

// With hop time c <= min(F, B+W) no link queues: GPipe's makespan grows by the round trip,
// (M+P-1)(F+B+W) + 2(P-1)c, and so does 1F1B's with a single micro-batch.
TEST(Formulas, TransferCostAddsTheRoundTrip) {
  const TimeNs F = 5000, B = 4000, W = 1000;
  for (TimeNs c : {TimeNs{1}, TimeNs{700}, TimeNs{5000}})
    for (int P : {2, 4, 8})
      for (int M : {1, P, 4 * P}) {
        auto r = simulate_uniform("gpipe", P, M, 1, F, B, W, c);
        EXPECT_EQ(r.metrics.makespan_ns, static_cast<TimeNs>(M + P - 1) * (F + B + W) + 2 * (P - 1) * c)
            << "P=" << P << " M=" << M << " c=" << c;
        auto one = simulate_uniform("1f1b", P, 1, 1, F, B, W, c);
        EXPECT_EQ(one.metrics.makespan_ns, static_cast<TimeNs>(P) * (F + B + W) + 2 * (P - 1) * c);
      }
}

}  // namespace
}  // namespace ppsim
