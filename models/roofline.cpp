#include "models/roofline.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace ppsim {
namespace {

TimeNs to_ns(double seconds) { return static_cast<TimeNs>(std::llround(seconds * 1e9)); }

}  // namespace

TimeNs roofline_time(double flops, double bytes, const HardwareSpec& hw, DType dtype, const Efficiency& eff) {
  assert(eff.compute > 0 && eff.memory > 0 && "efficiencies are validated when read");
  const double compute_s = flops / (hw.peak_flops(dtype) * eff.compute);
  const double memory_s = bytes / (hw.memory_bandwidth_bytes_per_s * eff.memory);
  return to_ns(std::max(compute_s, memory_s));
}

TimeNs link_time(double bytes, const LinkSpec& link, const Efficiency& eff) {
  assert(eff.network > 0 && link.bandwidth_bytes_per_s > 0);
  return link.latency + to_ns(bytes / (link.bandwidth_bytes_per_s * eff.network));
}

TimeNs link_time(double bytes, const LinkFit& fit) {
  assert(fit.beta_bytes_per_s > 0);
  return to_ns(fit.alpha_s + bytes / fit.beta_bytes_per_s);
}

}  // namespace ppsim
