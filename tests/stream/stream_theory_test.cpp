// The streaming engine against queueing theory where it is exact (docs/streams.md lists the cases).
// Deterministic cases are compared exactly; random ones within 4 standard errors of the batch-means
// Monte-Carlo error (stream_test_util.h), which the failure message prints, and each test also
// bounds that error so a loose estimate cannot pass by being loose.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "stream_test_util.h"

namespace ppsim {
namespace {

using test::batch_means;
using test::latency_quantile;
using test::mean_latency;
using test::ms;
using test::stream;
using test::throughput;

constexpr double kSigmas = 4;

// Deterministic closed loop: X(N) = min(N / (sum of stages and hops), 1 / slowest stage), every
// item's latency N / X(N) (Little's law with no variability: each item sees the same).
TEST(StreamTheory, DeterministicClosedLoop) {
  for (int N = 1; N <= 5; ++N) {
    StreamConfig c = stream({ms(2), ms(3), ms(1)}, 2000, 100);
    c.transfer = ms(0.2);
    c.max_outstanding = N;
    const StreamRun run = run_stream(c);
    const StreamMetrics m = compute_stream_metrics(c, run);
    const double cycle = 6.4e6, slowest = 3e6;
    const double X = std::min(N / cycle, 1 / slowest);  // per ns
    EXPECT_NEAR(m.throughput_items_per_s, X * 1e9, 1e-6) << "N = " << N;
    const TimeNs W = static_cast<TimeNs>(std::llround(N / X));
    EXPECT_EQ(m.latency.p50, W) << "N = " << N;
    EXPECT_EQ(m.latency.max, W) << "N = " << N;
    EXPECT_NEAR(m.latency.mean_ns, static_cast<double>(W), 1e-6);
    EXPECT_EQ(m.saturating_in_flight, 3);  // ceil(6.4 / 3)
    EXPECT_NEAR(m.stages[1].utilization, X * slowest, 1e-9);
    EXPECT_NEAR(m.mean_in_system, N, 1e-9);
  }
}

// Exponential closed loop: exact mean value analysis (Reiser & Lavenberg 1980) for single-server
// FCFS stations: R_k(n) = S_k (1 + Q_k(n-1)), X(n) = n / sum_k R_k(n), Q_k(n) = X(n) R_k(n).
TEST(StreamTheory, ExponentialClosedLoopMatchesMeanValueAnalysis) {
  const std::vector<double> S = {2e6, 3e6, 1e6};
  std::vector<double> Q(S.size(), 0.0);
  for (int N = 1; N <= 4; ++N) {
    std::vector<double> R(S.size());
    for (std::size_t k = 0; k < S.size(); ++k) R[k] = S[k] * (1 + Q[k]);
    const double X = N / std::accumulate(R.begin(), R.end(), 0.0);
    for (std::size_t k = 0; k < S.size(); ++k) Q[k] = X * R[k];

    StreamConfig c = stream({ms(2), ms(3), ms(1)}, 200'000);
    c.max_outstanding = N;
    c.jitter.distribution = Distribution::Exponential;
    c.jitter.cv = 1;
    c.seed = 7 + N;
    const StreamRun run = run_stream(c);
    const auto x = throughput(run);
    EXPECT_WITHIN_MC(x, X * 1e9, kSigmas) << " N = " << N;
    EXPECT_LT(x.se, 0.01 * X * 1e9);
    const auto w = mean_latency(run, false);
    EXPECT_WITHIN_MC(w, N / X, kSigmas) << " N = " << N;
    EXPECT_LT(w.se, 0.01 * N / X);
    const StreamMetrics m = compute_stream_metrics(c, run);
    for (std::size_t k = 0; k < S.size(); ++k) EXPECT_NEAR(m.stages[k].mean_in_system, Q[k], 0.05 * N) << k;
  }
}

// Two exponential stages with a buffer of B between them, the first always fed, blocking after
// service: n (items at stage 2, plus one while stage 1 is blocked) is a birth-death chain on
// 0..B+2 with rates mu1 up and mu2 down, so p_n ~ rho^n (rho = mu1 / mu2), the throughput is
// mu2 (1 - p_0) and stage 1 is blocked a fraction p_{B+2} of the time.
TEST(StreamTheory, TwoExponentialStagesWithAFiniteBuffer) {
  for (const auto& [t1, t2, B] : std::vector<std::tuple<double, double, int>>{{2, 3, 0}, {2, 3, 1}, {3, 2, 2}, {2, 2, 1}}) {
    const double mu1 = 1 / (t1 * 1e6), mu2 = 1 / (t2 * 1e6), rho = mu1 / mu2;
    std::vector<double> p(B + 3);
    for (int n = 0; n <= B + 2; ++n) p[n] = std::pow(rho, n);
    const double total = std::accumulate(p.begin(), p.end(), 0.0);
    for (double& x : p) x /= total;
    const double X = mu2 * (1 - p[0]);

    StreamConfig c = stream({ms(t1), ms(t2)}, 200'000);
    c.queue_capacity = {kUnbounded, B};
    c.jitter.distribution = Distribution::Exponential;
    c.jitter.cv = 1;
    c.seed = 3 + B;
    const StreamRun run = run_stream(c);
    const auto x = throughput(run);
    EXPECT_WITHIN_MC(x, X * 1e9, kSigmas) << " t1 " << t1 << " t2 " << t2 << " B " << B;
    EXPECT_LT(x.se, 0.01 * X * 1e9);
    const StreamMetrics m = compute_stream_metrics(c, run);
    EXPECT_NEAR(m.stages[0].blocked_fraction, p[B + 2], 0.01) << "B " << B;
    EXPECT_NEAR(m.stages[1].utilization, 1 - p[0], 0.01) << "B " << B;
    EXPECT_LE(m.stages[1].max_queue_length, B);
  }
}

// Open tandem of M/M/1 stations (Jackson; Burke's theorem): each stage an M/M/1 at rate lambda,
// mean latency sum_k 1 / (mu_k - lambda), utilization rho_k, mean queue rho_k^2 / (1 - rho_k). For
// FCFS tandems the stage sojourn times are independent exponentials (Reich 1957), so the latency
// is hypoexponential: its quantiles by bisection on the CDF.
double hypoexponential_cdf(const std::vector<double>& rates, double t) {
  double F = 1;
  for (std::size_t i = 0; i < rates.size(); ++i) {
    double w = 1;
    for (std::size_t j = 0; j < rates.size(); ++j)
      if (j != i) w *= rates[j] / (rates[j] - rates[i]);
    F -= w * std::exp(-rates[i] * t);
  }
  return F;
}

double quantile(const std::function<double(double)>& cdf, double q, double hi) {
  double lo = 0;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (cdf(mid) < q ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

TEST(StreamTheory, OpenTandemOfMM1) {
  const double lambda = 1 / 4e6;  // per ns: an arrival every 4 ms on average
  StreamConfig c = stream({ms(2), ms(3)}, 400'000);
  c.arrivals = Arrivals{ms(4), ArrivalProcess::Poisson};
  c.jitter.distribution = Distribution::Exponential;
  c.jitter.cv = 1;
  const StreamRun run = run_stream(c);
  const std::vector<double> rates = {1 / 2e6 - lambda, 1 / 3e6 - lambda};
  const auto w = mean_latency(run, true);
  EXPECT_WITHIN_MC(w, 1 / rates[0] + 1 / rates[1], kSigmas);
  EXPECT_LT(w.se, 0.02 * (1 / rates[0] + 1 / rates[1]));
  for (double q : {0.5, 0.9, 0.99}) {
    const double exact = quantile([&](double t) { return hypoexponential_cdf(rates, t); }, q, 1e10);
    const auto p = latency_quantile(run, true, q);
    EXPECT_WITHIN_MC(p, exact, kSigmas) << " q = " << q;
  }
  const StreamMetrics m = compute_stream_metrics(c, run);
  EXPECT_TRUE(m.stable);
  for (int k = 0; k < 2; ++k) {
    const double rho = lambda * (k == 0 ? 2e6 : 3e6);
    EXPECT_NEAR(m.stages[k].utilization, rho, 0.01) << k;
    EXPECT_NEAR(m.stages[k].mean_queue_length, rho * rho / (1 - rho), 0.05 * rho * rho / (1 - rho)) << k;
  }
  EXPECT_NEAR(m.mean_in_system, m.throughput_items_per_s * 1e-9 * m.latency.mean_ns, 0.01 * m.mean_in_system);
}

// M/M/1 latency percentiles: the sojourn time is exponential with rate mu - lambda.
TEST(StreamTheory, MM1LatencyPercentiles) {
  StreamConfig c = stream({ms(3)}, 400'000);
  c.arrivals = Arrivals{ms(5), ArrivalProcess::Poisson};
  c.jitter.distribution = Distribution::Exponential;
  c.jitter.cv = 1;
  const StreamRun run = run_stream(c);
  const double r = 1 / 3e6 - 1 / 5e6;
  for (double q : {0.5, 0.9, 0.99}) {
    const auto p = latency_quantile(run, true, q);
    EXPECT_WITHIN_MC(p, -std::log(1 - q) / r, kSigmas) << " q = " << q;
    EXPECT_LT(p.se, 0.03 * -std::log(1 - q) / r);
  }
}

// M/D/1 waiting time (Erlang 1909): P(Wq <= t) = (1 - rho) sum_{k=0}^{floor(t/D)} [lambda (kD - t)]^k
// / k! e^{-lambda (kD - t)}; the latency is Wq + D, its mean D + lambda D^2 / (2 (1 - rho)).
double md1_wait_cdf(double lambda, double D, double t) {
  const double rho = lambda * D;
  double s = 0;
  for (int k = 0; k <= static_cast<int>(std::floor(t / D)); ++k) {
    const double x = lambda * (k * D - t);
    s += std::pow(x, k) / std::tgamma(k + 1.0) * std::exp(-x);
  }
  return (1 - rho) * s;
}

TEST(StreamTheory, MD1LatencyPercentiles) {
  const double lambda = 1 / 5e6, D = 3e6;
  StreamConfig c = stream({ms(3)}, 400'000);
  c.arrivals = Arrivals{ms(5), ArrivalProcess::Poisson};
  const StreamRun run = run_stream(c);
  const auto w = mean_latency(run, true);
  EXPECT_WITHIN_MC(w, D + lambda * D * D / (2 * (1 - lambda * D)), kSigmas);
  for (double q : {0.5, 0.9, 0.99}) {
    const double exact = D + quantile([&](double t) { return md1_wait_cdf(lambda, D, t); }, q, 40 * D);
    const auto p = latency_quantile(run, true, q);
    EXPECT_WITHIN_MC(p, exact, kSigmas) << " q = " << q;
  }
}

// A tandem of deterministic stages fed by Poisson arrivals: the total wait is that of one M/D/1
// with the slowest stage's time (Friedman 1965), whatever the order; the others add their times.
TEST(StreamTheory, DeterministicTandemFedByPoisson) {
  const double lambda = 1 / 5e6, D = 3e6, others = 3e6 + 2 * 0.5e6;  // stages 2 and 1 ms, two 0.5 ms hops
  StreamConfig c = stream({ms(2), ms(3), ms(1)}, 400'000);
  c.transfer = ms(0.5);
  c.arrivals = Arrivals{ms(5), ArrivalProcess::Poisson};
  c.seed = 11;
  const StreamRun run = run_stream(c);
  const auto w = mean_latency(run, true);
  EXPECT_WITHIN_MC(w, others + D + lambda * D * D / (2 * (1 - lambda * D)), kSigmas);
  for (double q : {0.5, 0.9, 0.99}) {
    const double exact = others + D + quantile([&](double t) { return md1_wait_cdf(lambda, D, t); }, q, 40 * D);
    const auto p = latency_quantile(run, true, q);
    EXPECT_WITHIN_MC(p, exact, kSigmas) << " q = " << q;
  }
}

// Hops per boundary: one item alone takes every stage and every hop (2 + 0.1 + 3 + 0.7 + 1 ms).
TEST(StreamTheory, HopsPerBoundaryAddToTheLatency) {
  StreamConfig c = test::stream({test::ms(2), test::ms(3), test::ms(1)}, 100, 5);
  c.hops = {test::ms(0.1), test::ms(0.7)};
  c.max_outstanding = 1;
  const StreamMetrics m = compute_stream_metrics(c, run_stream(c));
  EXPECT_EQ(m.latency.max, test::ms(6.8));
  EXPECT_EQ(m.latency.p50, test::ms(6.8));
  EXPECT_EQ(m.unloaded_latency, test::ms(6.8));
}

// Fixed arrivals slower than every stage: no queue, every latency the unloaded one.
TEST(StreamTheory, FixedArrivalsBelowCapacity) {
  StreamConfig c = stream({ms(2), ms(3), ms(1)}, 1000, 10);
  c.transfer = ms(0.2);
  c.arrivals = Arrivals{ms(4), ArrivalProcess::Fixed};
  const StreamMetrics m = compute_stream_metrics(c, run_stream(c));
  EXPECT_EQ(m.latency.p50, ms(6.4));
  EXPECT_EQ(m.latency.max, ms(6.4));
  EXPECT_EQ(m.ttff_ns, ms(6.4));
  EXPECT_NEAR(m.throughput_items_per_s, 250, 1e-9);
  EXPECT_NEAR(m.offered_load, 0.75, 1e-12);
  EXPECT_TRUE(m.stable);
  for (const auto& s : m.stages) EXPECT_EQ(s.max_queue_length, 0);
}

// Over capacity: arrivals every 2 ms at a 3 ms bottleneck; the queue grows at 500 - 333.3 items/s.
TEST(StreamTheory, OverCapacityIsUnstableWithTheQueuesGrowthRate) {
  StreamConfig c = stream({ms(1), ms(3)}, 20'000, 100);
  c.arrivals = Arrivals{ms(2), ArrivalProcess::Fixed};
  const StreamMetrics m = compute_stream_metrics(c, run_stream(c));
  EXPECT_FALSE(m.stable);
  EXPECT_NEAR(m.offered_load, 1.5, 1e-12);
  EXPECT_NEAR(m.throughput_items_per_s, 1e3 / 3, 1e-6);
  EXPECT_NEAR(m.queue_growth_items_per_s, 500 - 1e3 / 3, 0.5);
}

// Blocking with deterministic times: a fast stage before a slow one with no buffer is blocked
// (3 - 1) / 3 of the time, and the run is throughput-bound at the slow stage.
TEST(StreamTheory, DeterministicBlocking) {
  StreamConfig c = stream({ms(1), ms(3)}, 3000, 10);
  c.queue_capacity = {kUnbounded, 0};
  const StreamMetrics m = compute_stream_metrics(c, run_stream(c));
  EXPECT_NEAR(m.throughput_items_per_s, 1e3 / 3, 1e-6);
  EXPECT_NEAR(m.stages[0].blocked_fraction, 2.0 / 3, 1e-9);
  EXPECT_NEAR(m.stages[0].utilization, 1.0 / 3, 1e-9);
  EXPECT_NEAR(m.stages[1].utilization, 1.0, 1e-9);
  EXPECT_EQ(m.stages[1].max_queue_length, 0);
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

// Batching, deterministic: one stage of 2 ms per item alone, batches of up to 4 at
// t(b) = 2 ms (0.5 + 0.5 b), 8 items in flight. Every op is a full batch of 4 in t(4) = 5 ms, so
// X = 4 / 5 ms = 800 items/s and each item waits one batch and is served in the next: 10 ms.
TEST(StreamTheory, DeterministicBatchesInAClosedLoop) {
  StreamConfig c = test::stream({test::ms(2)}, 4000, 40);
  c.max_outstanding = 8;
  c.batch = {4, 0.5, {}};
  EXPECT_EQ(batch_time(c, 0, 4), test::ms(5));
  EXPECT_EQ(batch_time(c, 0, 1), test::ms(2));
  const StreamMetrics m = compute_stream_metrics(c, run_stream(c));
  EXPECT_NEAR(m.throughput_items_per_s, 800, 1e-9);
  EXPECT_EQ(m.latency.p50, test::ms(10));
  EXPECT_EQ(m.latency.max, test::ms(10));
  EXPECT_NEAR(m.stages[0].utilization, 1.0, 1e-12);  // busy once per batch, not once per item
  EXPECT_EQ(m.bottleneck_time, test::ms(1.25));       // 5 ms / 4 items
  EXPECT_EQ(m.saturating_in_flight, 4);               // ceil(5 ms x 4 / 5 ms)
}

// A measured table of batch times instead of the linear model: batches of 4 in 2 ms x 2.5 = 5 ms,
// the same figures as the linear case above.
TEST(StreamTheory, DeterministicBatchesFromATable) {
  StreamConfig c = test::stream({test::ms(2)}, 4000, 40);
  c.max_outstanding = 8;
  c.batch.max = 4;
  c.batch.factors = {1, 1.6, 2.1, 2.5};
  const StreamMetrics m = compute_stream_metrics(c, run_stream(c));
  EXPECT_NEAR(m.throughput_items_per_s, 800, 1e-9);
  EXPECT_EQ(m.latency.max, test::ms(10));
}

// Two stages with batches of 2 (t(2) = 1.5 t(1)) and two batches in flight: stage 1 is the
// bottleneck at 3 ms per batch of 2; with 4 in flight, X = 2 / 3 ms; stage 0 (2 ms per batch) is busy
// 2/3 of the time.
TEST(StreamTheory, DeterministicBatchesThroughTwoStages) {
  StreamConfig c = test::stream({test::ms(4.0 / 3.0), test::ms(2)}, 3000, 30);
  c.max_outstanding = 4;
  c.batch = {2, 0.5, {}};
  const StreamMetrics m = compute_stream_metrics(c, run_stream(c));
  EXPECT_NEAR(m.throughput_items_per_s, 2e3 / 3, 1e-3);
  EXPECT_NEAR(m.stages[1].utilization, 1.0, 1e-6);
  EXPECT_NEAR(m.stages[0].utilization, 2.0 / 3, 1e-3);
  EXPECT_EQ(m.bottleneck, 1);
}

}  // namespace
}  // namespace ppsim
