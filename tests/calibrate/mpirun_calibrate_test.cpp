// `mpirun -n 2 ppsim calibrate --device cpu` on this machine: two processes, rank 0 writes exactly
// one profile whose inter_node section holds the MPI ping-pong fit between the two processes.
// Registered only when CMake found MPI and mpirun (tests/calibrate/CMakeLists.txt).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "models/profile.h"

namespace ppsim {
namespace {

// Runs `command` through the shell; returns the exit status and stdout+stderr.
int run_shell(const std::string& command, std::string& output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t c = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++c;
  return c;
}

TEST(CalibrateMpirun, TwoCpuProcessesWriteOneProfileWithTheMpiFit) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ppsim_mpirun_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path out = dir / "profile.yaml";
  // LSan suppressions for Open MPI's own allocations, read by the ranks of a sanitizer build (mpirun
  // passes -x variables to them; full stacks and components kept loaded so that they match);
  // harmless otherwise.
  const std::string command = std::string(PPSIM_MPIEXEC) +
                              " --allow-run-as-root --oversubscribe -n 2 --mca mca_base_component_disable_dlclose 1"
                              " -x LSAN_OPTIONS=suppressions=" PPSIM_SOURCE_DIR "/tests/calibrate/lsan_openmpi.supp"
                              ":fast_unwind_on_malloc=0:print_suppressions=0"
                              " " PPSIM_BINARY " calibrate --device cpu --model tiny --sequence-length 32 --repeats 2"
                              " --out " + out.string();
  std::string output;
  const int rc = run_shell(command, output);
  ASSERT_EQ(rc, 0) << command << "\n" << output;

  // Exactly one profile, no temporary left, one summary.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "profile.yaml") << output;
  }
  EXPECT_EQ(files, 1u) << output;
  EXPECT_EQ(count(output, "wrote " + out.string()), 1u) << output;
  EXPECT_EQ(count(output, "inter-node transfer: mpi"), 1u) << output;

  const Profile p = load_profile(out.string());
  ASSERT_TRUE(p.inter_node.has_value()) << output;
  EXPECT_TRUE(p.inter_node->measured);
  EXPECT_EQ(p.inter_node->method, "mpi");
  EXPECT_NE(p.inter_node->between.find("(rank 0)"), std::string::npos) << p.inter_node->between;
  EXPECT_NE(p.inter_node->between.find("(rank 1)"), std::string::npos) << p.inter_node->between;
  EXPECT_EQ(p.inter_node->samples.size(), 8u);  // 4 KiB .. 64 MiB by factors of 4
  EXPECT_GT(p.inter_node->fit.beta_bytes_per_s, 0);
  EXPECT_GE(p.inter_node->fit.alpha_s, 0);
  // The thread sweep on rank 0 is still the intra-node fit.
  EXPECT_TRUE(p.transfer.measured);
  EXPECT_EQ(p.transfer.method, "shared-memory");
  const MeasuredLayerTimes m = to_layer_times(p);
  ASSERT_TRUE(m.inter_node_link.has_value());
  EXPECT_EQ(m.inter_node_link->beta_bytes_per_s, p.inter_node->fit.beta_bytes_per_s);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ppsim
