#pragma once
// Analytic op times from FLOPs and bytes, used where no calibration profile gives a measurement.
#include "models/hardware.h"
#include "models/layer_times.h"

namespace ppsim {

// max(flops / (peak(dtype) * eff.compute), bytes / (memory bandwidth * eff.memory)), rounded to
// the nearest ns: an op is bound by whichever of compute and memory traffic takes longer.
TimeNs roofline_time(double flops, double bytes, const HardwareSpec& hw, DType dtype, const Efficiency& eff);

// latency + bytes / (bandwidth * eff.network), rounded to the nearest ns.
TimeNs link_time(double bytes, const LinkSpec& link, const Efficiency& eff);

// alpha + bytes / beta of a measured fit, rounded to the nearest ns.
TimeNs link_time(double bytes, const LinkFit& fit);

}  // namespace ppsim
