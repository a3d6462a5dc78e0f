// ppsim: a thin dispatcher; each subcommand lives in its own file (cli/*_command.cpp).
#include <unistd.h>

#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "base/allocator.h"
#include "base/error.h"
#include "base/version.h"
#include "cli/command_line.h"
#include "cli/commands.h"

namespace {

void usage(std::ostream& os) {
  os << "usage: ppsim <command> [options]\n\n"
        "commands:\n"
        "  simulate [schedule.yaml]   simulate a pipeline schedule (no file: the embedded default example)\n"
        "  calibrate                  measure layer kernels and transfers, write a profile\n"
        "  measure schedule.yaml      run a schedule for real and record its timeline\n"
        "  compare predicted.json measured.json   compare a prediction with a measurement\n"
        "  trace DIR_OR_FILES...      import profiler traces (one per rank): bubbles, idle time, ops, a profile\n"
        "  plan plan.yaml             choose the configuration to run: simulate every candidate under a memory cap\n\n"
        "'ppsim <command> --help' lists a command's options; 'ppsim --version' prints the version.\n\n"
     << ppsim::cli::exit_codes_help();
}

// Last line of defence: an exception escaping a thread would call std::terminate and abort with a
// core dump. Say what happened and leave with the internal-error code instead.
[[noreturn]] void on_terminate() {
  std::string what = "std::terminate was called";
  if (const std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = std::string("uncaught exception: ") + x.what();
    } catch (...) {
      what = "uncaught exception of an unknown type";
    }
  }
  std::cerr << "ppsim: internal error: " << what << "\nThis is a bug in ppsim " << ppsim::kVersion
            << "; please report it with the command line and the input files.\n";
  std::cerr.flush();
  ::_exit(ppsim::kExitInternal);
}

}  // namespace

int main(int argc, char** argv) {
  std::set_terminate(on_terminate);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? ppsim::kExitUsage : ppsim::kExitSuccess;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "ppsim " << ppsim::kVersion << "\n";
    return ppsim::kExitSuccess;
  }
  ppsim::keep_freed_memory_for_reuse();  // before the first large allocation (base/allocator.h)
  const std::string cmd = argv[1];
  if (cmd == "simulate") return ppsim::cli::run_simulate(argc - 1, argv + 1);
  if (cmd == "calibrate") return ppsim::cli::run_calibrate(argc - 1, argv + 1);
  if (cmd == "measure") return ppsim::cli::run_measure(argc - 1, argv + 1);
  if (cmd == "compare") return ppsim::cli::run_compare(argc - 1, argv + 1);
  if (cmd == "trace") return ppsim::cli::run_trace(argc - 1, argv + 1);
  if (cmd == "plan") return ppsim::cli::run_plan(argc - 1, argv + 1);
  std::cerr << "ppsim: unknown command '" << cmd << "' (valid: simulate, calibrate, measure, compare, trace, plan)\n";
  return ppsim::kExitUsage;
}
