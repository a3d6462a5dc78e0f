#include "cli/command_line.h"

#include <iostream>

#include "base/error.h"

namespace ppsim::cli {

std::optional<int> parse_command_line(const std::string& command, int argc, char** argv,
                                      const po::options_description& visible, const po::options_description& hidden,
                                      const po::positional_options_description& positional, po::variables_map& vm,
                                      const std::function<void(const po::variables_map&)>& check) {
  po::options_description all;
  all.add(visible).add(hidden);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << visible << "\n";
      return 0;
    }
    po::notify(vm);
    if (check) check(vm);
  } catch (const po::error& e) {
    std::cerr << "ppsim " << command << ": " << e.what() << "\n(see 'ppsim " << command << " --help')\n";
    return 2;
  }
  return std::nullopt;
}

int run_reporting_errors(const std::string& command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const DeadlockError& e) {
    std::cerr << "ppsim " << command << ": " << e.what() << "\n";
    return 3;
  } catch (const InputError& e) {
    std::cerr << "ppsim " << command << ": error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace ppsim::cli
