#pragma once

namespace ppsim::cpu {

// Pins the calling thread to one core; false when the core does not exist or pinning failed.
bool pin_current_thread(int core);

// The number of cores this process may use.
int usable_cores();

}  // namespace ppsim::cpu
