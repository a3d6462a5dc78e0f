// ppsim: a thin dispatcher; each subcommand lives in its own file (sim/cli/*_command.cpp).
#include <cstring>
#include <iostream>
#include <string>

#include "base/allocator.h"
#include "cli/commands.h"

namespace {

void usage(std::ostream& os) {
  os << "usage: ppsim <command> [options]\n\n"
        "commands:\n"
        "  simulate [schedule.yaml]   simulate a pipeline schedule (no file: the embedded default example)\n"
        "  calibrate                  measure layer kernels and transfers, write a profile\n"
        "  measure schedule.yaml      run a schedule for real and record its timeline\n"
        "  compare predicted.json measured.json   compare a prediction with a measurement\n\n"
        "'ppsim <command> --help' lists a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  ppsim::keep_freed_memory_for_reuse();  // before the first large allocation (sim/allocator.h)
  const std::string cmd = argv[1];
  if (cmd == "simulate") return ppsim::cli::run_simulate(argc - 1, argv + 1);
  if (cmd == "calibrate") return ppsim::cli::run_calibrate(argc - 1, argv + 1);
  if (cmd == "measure") return ppsim::cli::run_measure(argc - 1, argv + 1);
  if (cmd == "compare") return ppsim::cli::run_compare(argc - 1, argv + 1);
  std::cerr << "ppsim: unknown command '" << cmd << "' (valid: simulate, calibrate, measure, compare)\n";
  return 2;
}
