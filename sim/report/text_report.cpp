#include "sim/report/text_report.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "base/text_format.h"

namespace ppsim {
namespace {

std::string pct(double v) { return format_number("%.2f %%", v * 100); }

}  // namespace

std::string render_text_report(const RunInfo& info, const Timeline& tl, const Metrics& m) {
  const OpTable& t = *tl.table;
  std::ostringstream os;
  os << "ppsim: " << info.config_source << " (" << tl.source << ")\n";
  os << "schedule " << info.schedule << ", P = " << info.ranks << " stages, M = " << info.microbatches
     << " micro-batches, V = " << info.chunks << (info.chunks == 1 ? " chunk" : " chunks") << ", backward "
     << (info.split_backward ? "split into B and W" : "fused (B+W)") << "\n";
  os << "op times from " << info.times_source << "; " << t.compute_ops() << " compute ops, "
     << (t.pipeline_ops() - t.compute_ops()) << " transfers";
  if (t.step_ops > 0) os << ", " << t.step_ops << " training-step ops";
  os << "\n";
  for (const auto& note : info.notes) os << note << "\n";
  os << "\n";
  os << "makespan            " << format_duration(m.makespan_ns) << (m.has_training_step ? "   the pipeline" : "") << "\n";
  if (m.has_training_step) {
    // The step as a breakdown: the pipeline (its compute and its bubble), then what of the
    // data-parallel reduction and the optimizer the pipeline did not hide.
    const double T = static_cast<double>(m.iteration_ns);
    auto share = [&](TimeNs x) { return T > 0 ? pct(static_cast<double>(x) / T) : pct(0); };
    const TimeNs bubble = static_cast<TimeNs>(std::llround(m.bubble_fraction * static_cast<double>(m.makespan_ns)));
    os << "iteration time      " << format_duration(m.iteration_ns) << "   one training step:\n";
    os << "  pipeline          " << format_duration(m.makespan_ns) << "  " << share(m.makespan_ns) << "\n";
    os << "    of which bubble " << format_duration(bubble) << "  " << share(bubble) << "   (mean over ranks)\n";
    os << "  exposed DP comm   " << format_duration(m.exposed_data_parallel_ns) << "  " << share(m.exposed_data_parallel_ns)
       << "   data-parallel collectives not hidden under the pipeline\n";
    os << "  optimizer         " << format_duration(m.exposed_optimizer_ns) << "  " << share(m.exposed_optimizer_ns) << "\n";
  }
  os << "throughput          " << format_number("%.3f", m.throughput_microbatches_per_s) << " micro-batches/s"
     << (m.has_training_step ? " (pipeline)" : "");
  if (info.model)
    os << ", " << format_number("%.0f", info.model->tokens_per_s) << " tokens/s, " << format_number("%.2f", info.model->samples_per_s)
       << " samples/s, MFU " << pct(info.model->mfu) << ", HFU " << pct(info.model->hfu) << " over "
       << info.model->gpus << (info.model->gpus == 1 ? " GPU" : " GPUs");
  os << "\n";
  os << "bubble fraction     " << pct(m.bubble_fraction) << "   1 - sum(busy) / (P x makespan)\n";
  os << "bubble rate (ZB)    " << pct(m.bubble_rate_zb) << "   (C - B*) / C: largest span " << format_duration(m.largest_span_ns)
     << ", largest busy " << format_duration(m.largest_busy_ns) << "\n";
  if (!m.critical_path.ops.empty()) {
    std::map<int, int> per_rank;
    for (OpId v : m.critical_path.ops)
      if (!t.ops[v].is_transfer && !t.is_step(v)) ++per_rank[t.ops[v].resource];
    os << "critical path       " << m.critical_path.ops.size() << " ops: " << format_duration(m.critical_path.compute_ns)
       << " compute + " << format_duration(m.critical_path.transfer_ns) << " transfer";
    if (m.critical_path.step_ns > 0) os << " + " << format_duration(m.critical_path.step_ns) << " training step";
    os << ", through " << per_rank.size() << " of " << t.ranks << " ranks\n";
  }
  os << "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%5s %12s %12s %8s %5s %8s %10s %12s %8s | %11s %11s %11s %11s %11s\n", "rank", "busy",
                "span", "bubble", "peak", "mean L", "lambda/s", "W", "lambda*W", "idle start", "idle end", "wait act",
                "wait grad", "other");
  os << line;
  double worst_little = 0;
  for (const auto& r : m.ranks) {
    const double lw = r.arrival_rate_per_s * r.mean_residence_ns * 1e-9;
    worst_little = std::max(worst_little, std::fabs(lw - r.mean_in_flight));
    std::snprintf(line, sizeof line, "%5d %12s %12s %7.2f%% %5d %8.3f %10.2f %12s %8.3f | %11s %11s %11s %11s %11s\n", r.rank,
                  format_duration(r.busy_ns).c_str(), format_duration(r.span_ns).c_str(), r.bubble_fraction * 100,
                  r.peak_in_flight, r.mean_in_flight, r.arrival_rate_per_s,
                  format_duration(static_cast<TimeNs>(std::llround(r.mean_residence_ns))).c_str(), lw,
                  format_duration(r.idle_leading_ns).c_str(), format_duration(r.idle_trailing_ns).c_str(),
                  format_duration(r.idle_waiting_activation_ns).c_str(), format_duration(r.idle_waiting_gradient_ns).c_str(),
                  format_duration(r.idle_other_ns).c_str());
    os << line;
  }
  os << "Little's law per rank: L (time-average in flight, from the timeline) vs lambda*W (arrival rate x mean residence): "
     << (worst_little < 1e-6 ? "holds" : "DIFFERS") << ", largest |L - lambda*W| = " << format_number("%.3g", worst_little) << "\n";
  if (m.has_training_step) {
    os << "training step per rank: data-parallel channel busy / optimizer / step end:";
    for (const auto& r : m.ranks)
      os << "\n  rank " << r.rank << ": " << format_duration(r.data_parallel_busy_ns) << " / " << format_duration(r.optimizer_ns)
         << " / " << format_duration(r.step_end_ns);
    bool gathers = false;
    for (const auto& r : m.ranks) gathers = gathers || r.idle_waiting_parameters_ns > 0;
    if (gathers) {
      os << "\nidle waiting for ZeRO-3 parameter gathers per rank (besides the table's idle columns):";
      for (const auto& r : m.ranks) os << " " << format_duration(r.idle_waiting_parameters_ns);
    }
    os << "\n";
  }
  bool any_bytes = false;
  for (const auto& r : m.ranks) any_bytes = any_bytes || r.peak_activation_bytes > 0;
  if (any_bytes && !info.model) {
    os << "peak activation memory per rank (GiB):";
    for (const auto& r : m.ranks) os << ' ' << format_number("%.2f", static_cast<double>(r.peak_activation_bytes) / (1024.0 * 1024 * 1024));
    os << "\n";
  }
  if (info.model) {
    const double GiB = 1024.0 * 1024 * 1024;
    os << "\nmemory per GPU (limit " << format_number("%.2f", info.model->memory_limit_bytes / GiB) << " GiB), in GiB:\n";
    std::snprintf(line, sizeof line, "%5s %7s %11s %10s %10s %12s %10s  %s\n", "rank", "layers", "parameters", "gradients",
                  "optimizer", "activations", "peak", "fits");
    os << line;
    for (const auto& r : info.model->ranks) {
      std::string fits = r.fits ? "yes" : "NO, over by " + format_number("%.2f", (r.peak_memory_bytes - info.model->memory_limit_bytes) / GiB) + " GiB";
      std::snprintf(line, sizeof line, "%5d %7d %11.2f %10.2f %10.2f %12.2f %10.2f  %s\n", r.rank, r.layers,
                    r.parameter_bytes / GiB, r.gradient_bytes / GiB, r.optimizer_bytes / GiB, r.activation_bytes / GiB,
                    r.peak_memory_bytes / GiB, fits.c_str());
      os << line;
    }
  }
  if (!m.links.empty()) {
    const LinkMetrics* busiest = &m.links[0];
    std::int64_t queued = 0;
    for (const auto& l : m.links) {
      queued += l.queued_transfers;
      if (l.busy_ns > busiest->busy_ns) busiest = &l;
    }
    os << "links: " << m.links.size() << " used; busiest " << busiest->src << "->" << busiest->dst << " busy "
       << format_duration(busiest->busy_ns) << " ("
       << pct(m.makespan_ns > 0 ? static_cast<double>(busiest->busy_ns) / static_cast<double>(m.makespan_ns) : 0)
       << " of the makespan); " << queued << " transfers waited for a busy link\n";
  }
  return os.str();
}

}  // namespace ppsim
