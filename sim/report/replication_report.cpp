#include "sim/report/replication_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "base/text_format.h"

namespace ppsim {
namespace {

constexpr std::size_t kTopOps = 5;

std::string dur(double ns) { return format_duration(static_cast<TimeNs>(std::llround(ns))); }

// Indices of `v` by decreasing value (ties by index), at most `k` of them, positive values only.
std::vector<std::size_t> top(const std::vector<double>& v, std::size_t k) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&v](std::size_t a, std::size_t b) { return v[a] > v[b]; });
  std::vector<std::size_t> out;
  for (std::size_t i : idx)
    if (out.size() < k && v[i] > 0) out.push_back(i);
  return out;
}

std::vector<double> compute_only(const OpTable& t, const ReplicationResult& r) {
  return std::vector<double>(r.op_excess_ns.begin(), r.op_excess_ns.begin() + t.compute_ops());
}

}  // namespace

std::string render_replication_text(const OpTable& t, const ReplicationSpec& s, const ReplicationResult& r) {
  std::ostringstream os;
  os << "\njitter: " << distribution_name(s.jitter.distribution);
  if (s.jitter.distribution == Distribution::Profile)
    os << " (each op from the profile's p10 / median / p90: F " << format_number("%.3f", s.kind_spread[0].q10) << " / 1 / "
       << format_number("%.3f", s.kind_spread[0].q90) << " of the median)";
  else if (!s.jitter.deterministic())
    os << " (cv " << format_number("%g", s.jitter.cv) << ")";
  if (s.straggler) os << ", straggler rank " << s.straggler->rank << " x" << format_number("%g", s.straggler->slowdown);
  os << "; " << s.replications << (s.replications == 1 ? " replication" : " replications") << " (seed " << s.seed << ")\n";
  const double det = static_cast<double>(r.deterministic_makespan);
  os << "makespan            mean " << dur(r.mean_ns) << " (" << format_number("%+.2f", det > 0 ? 100 * (r.mean_ns - det) / det : 0)
     << " % over the deterministic " << format_duration(r.deterministic_makespan) << "), p50 " << format_duration(r.p50)
     << ", p99 " << format_duration(r.p99) << ", max " << format_duration(r.max) << "\n";
  os << "what variability costs (mean time each added on the replays' critical paths):\n  ranks:";
  for (std::size_t k : top(r.rank_excess_ns, static_cast<std::size_t>(t.ranks)))
    os << " rank " << k << " " << dur(r.rank_excess_ns[k]) << ";";
  if (r.link_excess_ns != 0) os << " links " << dur(r.link_excess_ns);
  os << "\n  ops:";
  const std::vector<double> ops = compute_only(t, r);
  for (std::size_t v : top(ops, kTopOps))
    os << " " << op_label(t, static_cast<OpId>(v), false) << " on rank " << t.ops[v].resource << " " << dur(ops[v]) << ";";
  os << "\n";
  return os.str();
}

void write_replication_json(JsonWriter& w, const OpTable& t, const ReplicationSpec& s, const ReplicationResult& r) {
  w.key("jitter").begin_object();
  w.field("distribution", distribution_name(s.jitter.distribution));
  w.field("cv", s.jitter.cv);
  w.field("replications", s.replications);
  w.field("seed", static_cast<std::int64_t>(s.seed));
  if (s.straggler) {
    w.key("straggler").begin_object();
    w.field("rank", s.straggler->rank);
    w.field("slowdown", s.straggler->slowdown);
    w.end_object();
  }
  w.field("deterministic_makespan_ns", r.deterministic_makespan);
  w.key("makespan_ns").begin_object();
  w.field("mean", r.mean_ns);
  w.field("p50", r.p50);
  w.field("p99", r.p99);
  w.field("max", r.max);
  w.end_object();
  w.key("ranks").begin_array();
  for (int k = 0; k < t.ranks; ++k) {
    w.begin_object();
    w.field("rank", k);
    w.field("critical_excess_ns", r.rank_excess_ns[k]);
    w.end_object();
  }
  w.end_array();
  w.field("links_critical_excess_ns", r.link_excess_ns);
  w.key("top_ops").begin_array();
  const std::vector<double> ops = compute_only(t, r);
  for (std::size_t v : top(ops, kTopOps)) {
    w.begin_object();
    w.field("op", op_label(t, static_cast<OpId>(v), false));
    w.field("rank", t.ops[v].resource);
    w.field("stage", t.ops[v].stage);
    w.field("microbatch", t.ops[v].microbatch);
    w.field("critical_excess_ns", ops[v]);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

}  // namespace ppsim
