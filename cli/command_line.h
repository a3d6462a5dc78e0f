#pragma once
// What every subcommand does the same way: parse flags (with --help), and turn user errors into a
// message and an exit code (1 bad input, 2 bad flags, 3 deadlock).
#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <string>

namespace ppsim::cli {

namespace po = boost::program_options;

// Parses argv against `visible` (listed by --help) and `hidden` (positional) options, then runs
// `check` for cross-flag rules (it throws po::error). Returns an exit code when the command must
// stop now (0 after --help; 2 after printing a flag error), nullopt to go on.
std::optional<int> parse_command_line(const std::string& command, int argc, char** argv,
                                      const po::options_description& visible, const po::options_description& hidden,
                                      const po::positional_options_description& positional, po::variables_map& vm,
                                      const std::function<void(const po::variables_map&)>& check = {});

// Runs a command's body; an InputError prints "ppsim COMMAND: error: ..." and returns 1, a
// DeadlockError prints the blocked ops and returns 3.
int run_reporting_errors(const std::string& command, const std::function<int()>& body);

}  // namespace ppsim::cli
