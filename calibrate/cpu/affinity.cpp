#include "calibrate/cpu/affinity.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <thread>

namespace ppsim::cpu {

int usable_cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

bool pin_current_thread(int core) {
  if (core < 0 || core >= usable_cores()) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

}  // namespace ppsim::cpu
