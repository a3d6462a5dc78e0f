#include "cli/command_line.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <new>
#include <string>
#include <string_view>
#include <typeinfo>

#include "base/error.h"
#include "base/version.h"

namespace ppsim::cli {

const char* exit_codes_help() {
  return "exit codes:\n"
         "  0   success\n"
         "  1   bad input: a file, key, value or flag value is wrong (the message names it)\n"
         "  2   usage: the command line itself (unknown flag, missing argument)\n"
         "  3   the schedule would deadlock (the message lists the ops that wait)\n"
         "  4   too large: refused before allocating, it would not fit in memory (see --max-memory)\n"
         "  5   a measured run failed: a device error, or a rank waited past the deadline (--timeout)\n"
         "  70  internal error: a bug in ppsim (please report it)\n";
}

namespace {

// Boost.Program_options (1.74) builds an option error's message by replacing %placeholders% until
// none is left, so an argument that contains one itself ('--x%canonical_option%') makes what() loop
// forever (found by fuzz_command_line). Where an argument could hold a placeholder, the message is
// written here from the option's name instead.
std::string option_error_message(const po::error_with_option_name& e, int argc, char** argv) {
  bool placeholder_like = false;
  for (int i = 1; i < argc && !placeholder_like; ++i) {
    const std::string_view a = argv[i];
    const auto first = a.find('%');
    placeholder_like = first != std::string_view::npos && a.find('%', first + 1) != std::string_view::npos;
  }
  if (!placeholder_like) return e.what();
  if (dynamic_cast<const po::unknown_option*>(&e)) return "unrecognised option '" + e.get_option_name() + "'";
  return "the option '" + e.get_option_name() + "' or its value is invalid";
}

}  // namespace

std::optional<int> parse_command_line(const std::string& command, int argc, char** argv,
                                      const po::options_description& visible, const po::options_description& hidden,
                                      const po::positional_options_description& positional, po::variables_map& vm,
                                      const std::function<void(const po::variables_map&)>& check) {
  po::options_description all;
  all.add(visible).add(hidden);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << visible << "\n" << exit_codes_help();
      return kExitSuccess;
    }
    po::notify(vm);
    if (check) check(vm);
  } catch (const po::error_with_option_name& e) {
    std::cerr << "ppsim " << command << ": " << option_error_message(e, argc, argv) << "\n(see 'ppsim " << command
              << " --help')\n";
    return kExitUsage;
  } catch (const po::error& e) {
    std::cerr << "ppsim " << command << ": " << e.what() << "\n(see 'ppsim " << command << " --help')\n";
    return kExitUsage;
  }
  return std::nullopt;
}

namespace {

// "std::logic_error" rather than the mangled "St11logic_error".
std::string type_name(const std::type_info& t) {
  int status = 0;
  char* name = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name ? name : t.name();
  std::free(name);
  return out;
}

}  // namespace

int run_reporting_errors(const std::string& command, const std::function<int()>& body) {
  const std::string who = "ppsim " + command + ": ";
  auto internal = [&](const std::string& what) {
    std::cerr << who << "internal error: " << what
              << "\nThis is a bug in ppsim " << kVersion << ", not in your input. Please report it with the command line, "
              << "the input files and this message (no output file was written).\n";
    return kExitInternal;
  };
  try {
    if (const char* inject = std::getenv("PPSIM_DEBUG_INTERNAL_ERROR"); inject && command == inject)
      throw std::logic_error("injected by PPSIM_DEBUG_INTERNAL_ERROR=" + command);
    // The command-line fuzzer parses these commands' flags without running their bodies.
    if (const char* only = std::getenv("PPSIM_DEBUG_PARSE_ONLY"); only && std::string(only).find(command) != std::string::npos)
      return kExitSuccess;
    return body();
  } catch (const DeadlockError& e) {
    std::cerr << who << e.what() << "\n";
    return kExitDeadlock;
  } catch (const TooLargeError& e) {
    std::cerr << who << "refused: " << e.what() << "\n";
    return kExitTooLarge;
  } catch (const InputError& e) {
    std::cerr << who << "error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const RunError& e) {
    std::cerr << who << "the run failed: " << e.what() << "\n";
    return kExitRunFailed;
  } catch (const std::bad_alloc&) {
    std::cerr << who << "refused: out of memory while running (the size estimate let it start; lower stages, "
              << "microbatches or chunks, or run on a machine with more memory)\n";
    return kExitTooLarge;
  } catch (const std::exception& e) {
    return internal(std::string(e.what()) + " (" + type_name(typeid(e)) + ")");
  } catch (...) {
    return internal("an exception that is not a std::exception");
  }
}

std::vector<int> parse_number_list(const std::string& text, int min,
                                   const std::function<std::string(const std::string& item)>& bad) {
  std::vector<int> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    bool ok = !item.empty() && item.size() <= 6;
    for (char c : item) ok = ok && c >= '0' && c <= '9';
    if (!ok || std::stoi(item) < min) throw po::error(bad(item));
    out.push_back(std::stoi(item));
    pos = comma + 1;
  }
  return out;
}

std::vector<int> parse_gpu_list(const std::string& text, const std::string& flag) {
  return parse_number_list(text, 0, [&](const std::string& item) {
    return flag + ": '" + item + "' is not a GPU number (expected e.g. " + flag + " 0,1,2,3)";
  });
}

}  // namespace ppsim::cli
