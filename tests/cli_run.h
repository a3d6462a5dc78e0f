#pragma once
// Runs the ppsim binary (PPSIM_BINARY) as a user would, for end-to-end tests.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ppsim::test {

struct CliRun {
  int code = -1;    // exit code (-1: killed by a signal)
  std::string out;  // stdout and stderr together
};

// `env` is prepended to the command line ("VAR=value "), `args` follow the binary.
inline CliRun run_ppsim(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " " + std::string(PPSIM_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CliRun r;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A fresh folder for one test's files.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("ppsim_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace ppsim::test
