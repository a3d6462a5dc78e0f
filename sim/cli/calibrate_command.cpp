#include "sim/cli/commands.h"

#include <iostream>

namespace ppsim::cli {

int run_calibrate(int, char**) {
  std::cerr << "ppsim calibrate: not implemented yet\n";
  return 2;
}

}  // namespace ppsim::cli
