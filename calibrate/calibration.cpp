#include "calibrate/calibration.h"

#include "base/error.h"
#include "base/system_memory.h"
#include "calibrate/layer_footprint.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ppsim {

void check_calibration_fits(const CalibrationOptions& o, int element_bytes, int stashes, std::int64_t available,
                            const std::string& where) {
  const std::int64_t tokens = static_cast<std::int64_t>(o.micro_batch_size) * o.sequence_length;
  std::int64_t need = 0;
  for (const LayerFootprint& f : {embedding_footprint(o.model, tokens, element_bytes),
                                  block_footprint(o.model, tokens, element_bytes),
                                  head_footprint(o.model, tokens, element_bytes)})
    need += f.per_microbatch_total(stashes);
  const std::int64_t budget = o.max_memory_bytes > 0 ? o.max_memory_bytes : available;
  if (budget > 0 && need > budget)
    throw TooLargeError("calibrating model '" + o.model.name + "' (micro-batch " + std::to_string(o.micro_batch_size) +
                        " x sequence " + std::to_string(o.sequence_length) +
                        ") holds its embedding, one block and its head with their gradients and activations: about " +
                        format_bytes(need) + ", but " + format_bytes(budget) + " of " + where +
                        " is available; shorten --sequence-length or --micro-batch-size, or raise the limit with "
                        "--max-memory");
}


Timing summarize(std::vector<TimeNs> samples, double flops) {
  assert(!samples.empty());
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double q) {
    const auto i = static_cast<std::size_t>(std::lround(q * double(samples.size() - 1)));
    return samples[i];
  };
  Timing t;
  double sum = 0;
  for (TimeNs s : samples) sum += static_cast<double>(s);
  t.mean_ns = static_cast<TimeNs>(std::llround(sum / static_cast<double>(samples.size())));
  t.median_ns = rank(0.5);
  t.p10_ns = rank(0.1);
  t.p90_ns = rank(0.9);
  t.flops = flops;
  t.tflops = flops > 0 && t.median_ns > 0 ? flops / double(t.median_ns) * 1e-3 : 0.0;  // flop/ns = 1e9 flop/s
  return t;
}

void ProgressBar::update(double fraction, const std::string& what) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * kWidth + 0.5);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(out_, "\r[%s] %3d%% %-40.40s", bar.c_str(), static_cast<int>(fraction * 100 + 0.5), what.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!enabled_ || !drawn_) return;
  std::fprintf(out_, "\r%*s\r", 80, "");
  std::fflush(out_);
  drawn_ = false;
}

namespace {
std::string us(TimeNs ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", double(ns) / 1e3);
  return buf;
}
}  // namespace

std::string summary_table(const Profile& p) {
  std::ostringstream o;
  char line[512];
  o << "device: " << p.device.kind << " (" << p.device.name << ")";
  if (p.device.kind == "cpu") o << ", " << p.device.threads << " thread(s)";
  if (p.device.sms > 0)
    o << ", on " << (p.device.partitions > 1 ? std::to_string(p.device.partitions) + " partitions" : std::string("a partition"))
      << " of " << p.device.sms << " SMs" << (p.device.partitions > 1 ? " at once" : "");
  o << "\nmodel: " << p.model.name << ", micro-batch " << p.micro_batch_size << ", sequence " << p.sequence_length
    << ", " << to_string(p.dtype);
  if (!p.requested_dtype.empty()) o << " (" << p.requested_dtype << " requested)";
  o << ", " << p.repeats << " repeats\n";
  if (!p.device.attention.empty()) o << "attention: " << p.device.attention << " (" << p.device.attention_note << ")\n";
  o << "\n";
  // The mean is what the simulator takes by default (profile_statistic), the median and spread show
  // how noisy the machine was.
  std::snprintf(line, sizeof line, "%-10s %-16s %12s %12s %22s %9s\n", "layer", "pass", "mean us", "median us",
                "p10 .. p90 us", "TFLOP/s");
  o << line;
  const std::pair<const char*, const LayerProfile*> layers[] = {
      {"embedding", &p.embedding}, {"block", &p.block}, {"head", &p.head}};
  for (const auto& [name, l] : layers) {
    const std::pair<const char*, const Timing*> passes[] = {
        {"forward", &l->forward}, {"backward_input", &l->backward_input}, {"backward_weight", &l->backward_weight}};
    for (const auto& [pass, t] : passes) {
      const std::string spread = us(t->p10_ns) + " .. " + us(t->p90_ns);
      char tf[16] = "-";
      if (t->tflops > 0) std::snprintf(tf, sizeof tf, "%.3f", t->tflops);
      const std::string mean = t->mean_ns > 0 ? us(t->mean_ns) : std::string("-");
      std::snprintf(line, sizeof line, "%-10s %-16s %12s %12s %22s %9s\n", name, pass, mean.c_str(),
                    us(t->median_ns).c_str(), spread.c_str(), tf);
      o << line;
    }
  }
  auto transfer_line = [&](const char* title, const TransferProfile& t) {
    o << "\n" << title << ": ";
    if (t.measured) {
      const auto& f = t.fit;
      std::snprintf(line, sizeof line,
                    "%s %s: alpha %.2f us, beta %.2f GB/s, R^2 %.5f, worst residual %.1f%% at %lld bytes\n",
                    t.method.c_str(), t.between.c_str(), f.alpha_s * 1e6, f.beta_bytes_per_s / 1e9, f.r2,
                    f.worst_relative * 100, static_cast<long long>(f.worst_bytes));
      o << line;
    } else {
      o << "not measured: " << t.reason << "\n";
    }
  };
  // Every timed kernel with a FLOP count against the measured GEMM peak (the yardstick: GEMMs
  // at cuBLASLt's own speed, fused attention at half of it or more).
  if (p.device.gemm_peak_tflops > 0) {
    std::snprintf(line, sizeof line, "\nGEMM peak (8192^3 bf16, cuBLASLt, these SMs): %.1f TFLOP/s\n",
                  p.device.gemm_peak_tflops);
    o << line;
    std::snprintf(line, sizeof line, "%-10s %-16s %-30s %9s %9s\n", "layer", "pass", "kernel", "TFLOP/s", "of peak");
    o << line;
    for (const auto& k : p.kernels) {
      if (k.timing.tflops <= 0 || k.layer == "check") continue;
      std::snprintf(line, sizeof line, "%-10s %-16s %-30s %9.1f %8.1f%%\n", k.layer.c_str(), k.pass.c_str(),
                    k.name.c_str(), k.timing.tflops, 100.0 * k.timing.tflops / p.device.gemm_peak_tflops);
      o << line;
    }
  }
  transfer_line("transfer", p.transfer);
  if (p.inter_node) transfer_line("inter-node transfer", *p.inter_node);
  double worst = -1;
  std::string worst_name;
  for (const auto& k : p.kernels)
    if (k.max_relative_error && *k.max_relative_error > worst) {
      worst = *k.max_relative_error;
      worst_name = k.layer + "." + k.pass + "." + k.name;
    }
  if (worst >= 0) {
    std::snprintf(line, sizeof line, "numerics: worst relative error %.2e (%s) against the float64 reference\n",
                  worst, worst_name.c_str());
    o << line;
  }
  // The wall time, whole and by phase (the target: a Llama-3 8B calibration in under 60 s).
  if (p.calibration_wall_s > 0) {
    std::snprintf(line, sizeof line, "wall time: %.1f s", p.calibration_wall_s);
    o << line;
    for (std::size_t i = 0; i < p.phases.size(); ++i) {
      std::snprintf(line, sizeof line, "%s%s %.1f s", i == 0 ? " (" : ", ", p.phases[i].what.c_str(),
                    p.phases[i].seconds);
      o << line;
    }
    o << (p.phases.empty() ? "\n" : ")\n");
  }
  return o.str();
}

}  // namespace ppsim
