// libFuzzer harness: the command line. The input is split at newlines into up to 16 arguments; the
// first picks the subcommand. simulate and compare run for real, in a scratch folder holding a
// small config and two reports; measure and calibrate only parse their flags
// (PPSIM_DEBUG_PARSE_ONLY), since their bodies run real layers. Whatever the arguments, the
// command returns an exit code: nothing may abort.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

void prepare_scratch() {
  static bool done = false;
  if (done) return;
  done = true;
  const auto dir = std::filesystem::temp_directory_path() / ("ppsim_fuzz_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::current_path(dir);
  std::ofstream("s.yaml") << "schedule: 1f1b\nstages: 2\nmicrobatches: 3\n"
                             "times: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms, transfer: 0}\n";
  std::ofstream("m.yaml") << "schedule: 1f1b\nstages: 2\nmicrobatches: 2\nmodel: tiny\nsequence_length: 16\n";
  ::setenv("PPSIM_DEBUG_PARSE_ONLY", "measure,calibrate", 1);
  // Keep ppsim's reports and messages (C++ streams) off the console; libFuzzer's own lines (C stdio)
  // still reach it.
  static std::ofstream null("/dev/null");
  std::cout.rdbuf(null.rdbuf());
  std::cerr.rdbuf(null.rdbuf());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  prepare_scratch();
  std::vector<std::string> args;
  std::string current;
  for (std::size_t i = 0; i < size && args.size() < 16; ++i) {
    if (data[i] == '\n') {
      args.push_back(current);
      current.clear();
    } else if (data[i] != 0) {
      current += static_cast<char>(data[i]);
    }
  }
  if (!current.empty() && args.size() < 16) args.push_back(current);
  if (args.empty()) return 0;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int argc = static_cast<int>(args.size());
  const std::string& cmd = args[0];
  if (cmd == "simulate") ppsim::cli::run_simulate(argc, argv.data());
  else if (cmd == "compare") ppsim::cli::run_compare(argc, argv.data());
  else if (cmd == "measure") ppsim::cli::run_measure(argc, argv.data());
  else if (cmd == "calibrate") ppsim::cli::run_calibrate(argc, argv.data());
  return 0;
}
