#pragma once
// One entry point per subcommand; main.cpp only dispatches. Each returns the process exit code.
namespace ppsim::cli {

int run_simulate(int argc, char** argv);   // sim/cli/simulate_command.cpp
int run_calibrate(int argc, char** argv);  // sim/cli/calibrate_command.cpp
int run_measure(int argc, char** argv);    // sim/cli/measure_command.cpp
int run_compare(int argc, char** argv);    // sim/cli/compare_command.cpp
int run_trace(int argc, char** argv);      // cli/trace_command.cpp
int run_plan(int argc, char** argv);       // cli/plan_command.cpp

}  // namespace ppsim::cli
