#include "measure/cpu/rank_calibration.h"

#include <exception>
#include <thread>

#include "calibrate/cpu/affinity.h"
#include "calibrate/cpu/cpu_calibrator.h"

namespace ppsim::cpu {

std::vector<Profile> calibrate_ranks_concurrently(const CalibrationOptions& options, int ranks) {
  CalibrationOptions o = options;
  o.measure_transfers = false;
  o.check_numerics = false;
  o.progress = {};
  std::vector<Profile> out(ranks);
  std::vector<std::exception_ptr> errors(ranks);
  const bool pin = ranks <= usable_cores();
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        if (pin) pin_current_thread(r);
        out[r] = calibrate_cpu(o);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

}  // namespace ppsim::cpu
