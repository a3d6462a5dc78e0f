#include "calibrate/profile_merge.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace ppsim {
namespace {

TimeNs median_of(std::vector<TimeNs> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Timing merge_timing(const std::vector<const Timing*>& ts) {
  std::vector<TimeNs> med, p10, p90;
  double mean_sum = 0;
  bool all_means = true;
  for (const Timing* t : ts) {
    mean_sum += static_cast<double>(t->mean_ns);
    all_means = all_means && t->mean_ns > 0;
    med.push_back(t->median_ns);
    p10.push_back(t->p10_ns);
    p90.push_back(t->p90_ns);
  }
  Timing out = *ts.front();
  // Each profile holds the same number of repeats, so the mean of the means is the mean of all runs.
  out.mean_ns = all_means ? static_cast<TimeNs>(std::llround(mean_sum / static_cast<double>(ts.size()))) : 0;
  out.median_ns = median_of(med);
  out.p10_ns = median_of(p10);
  out.p90_ns = median_of(p90);
  out.tflops = out.median_ns > 0 && out.flops > 0 ? out.flops / (static_cast<double>(out.median_ns) * 1e-9) / 1e12 : 0;
  return out;
}

}  // namespace

Profile merge_profiles(const std::vector<Profile>& profiles) {
  if (profiles.empty()) throw InputError("merge_profiles: no profiles");
  Profile out = profiles.front();
  for (auto layer : {&Profile::embedding, &Profile::block, &Profile::head})
    for (auto pass : {&LayerProfile::forward, &LayerProfile::backward_input, &LayerProfile::backward_weight}) {
      std::vector<const Timing*> ts;
      for (const Profile& p : profiles) ts.push_back(&(p.*layer.*pass));
      out.*layer.*pass = merge_timing(ts);
    }
  out.repeats = 0;
  for (const Profile& p : profiles) out.repeats += p.repeats;
  return out;
}

}  // namespace ppsim
