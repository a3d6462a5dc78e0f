// `ppsim measure`: issue 5, not built yet. Says so plainly instead of pretending.
#include <iostream>

#include "sim/cli/commands.h"

namespace ppsim::cli {

int run_measure(int, char**) {
  std::cerr << "ppsim measure: not implemented yet (issue 5); see README.md, 'Status'\n";
  return 2;
}

int run_compare(int, char**) {
  std::cerr << "ppsim compare: not implemented yet (issue 5); see README.md, 'Status'\n";
  return 2;
}

}  // namespace ppsim::cli
