#pragma once
// What every subcommand does the same way: parse flags (with --help), and turn whatever escapes a
// command into a message and an exit code (base/error.h: ExitCode). Nothing escapes main: no abort.
#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ppsim::cli {

namespace po = boost::program_options;

// The exit codes, as `--help` lists them.
const char* exit_codes_help();

// Parses argv against `visible` (listed by --help) and `hidden` (positional) options, then runs
// `check` for cross-flag rules (it throws po::error). Returns an exit code when the command must
// stop now (0 after --help; kExitUsage after printing a flag error), nullopt to go on.
std::optional<int> parse_command_line(const std::string& command, int argc, char** argv,
                                      const po::options_description& visible, const po::options_description& hidden,
                                      const po::positional_options_description& positional, po::variables_map& vm,
                                      const std::function<void(const po::variables_map&)>& check = {});

// Runs a command's body and maps what it throws to a message on stderr and an exit code: bad
// input 1, deadlock 3, too large 4, a failed run 5, anything else (a bug) 70 with how to report
// it. Commands write their output files only after everything succeeded, so none is left behind.
// PPSIM_DEBUG_INTERNAL_ERROR=COMMAND in the environment makes COMMAND throw a std::logic_error
// first (the tests of this path); PPSIM_DEBUG_PARSE_ONLY=COMMAND,... stops after the flags are
// parsed (the command-line fuzzer).
int run_reporting_errors(const std::string& command, const std::function<int()>& body);

// "0,1,3" -> {0, 1, 3}: GPU numbers for --gpus; throws po::error naming `flag` otherwise.
// "2,4,8" -> {2, 4, 8}: comma-separated whole numbers of at most 6 digits, each at least `min`;
// throws po::error with `bad(item)` for an item that is not one.
std::vector<int> parse_number_list(const std::string& text, int min,
                                   const std::function<std::string(const std::string& item)>& bad);

std::vector<int> parse_gpu_list(const std::string& text, const std::string& flag = "--gpus");

}  // namespace ppsim::cli
