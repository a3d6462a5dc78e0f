// `mpirun -n 2 ppsim plan`: two processes split the candidates and rank 0 writes exactly what one
// process writes (JSON and CSV byte for byte), once. Registered only when CMake found MPI and
// mpirun (tests/plan/CMakeLists.txt).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_run.h"

namespace ppsim {
namespace {

namespace fs = std::filesystem;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(PlanMpirun, TwoProcessesGiveWhatOneGives) {
  const fs::path dir = test::scratch_dir("plan_mpirun");
  {
    std::ofstream(dir / "plan.yaml")
        << "model: tiny\nhardware: h100-sxm\ngpus: 8\nglobal_batch_size: 16\nsequence_length: 128\nmemory_limit: 6MB\n"
           "search:\n  schedules: [1f1b, interleaved-1f1b, zb-h1, zb-v]\n  chunks: [1, 2]\n  recompute: [none, full]\n";
  }
  const std::string plan = (dir / "plan.yaml").string();
  const auto one = test::run_ppsim("plan " + plan + " --threads 1 --json " + (dir / "one.json").string() + " --csv " +
                                   (dir / "one.csv").string());
  ASSERT_EQ(one.code, 0) << one.out;
  // LSan suppressions for Open MPI's own allocations in a sanitizer build (as the calibrate test).
  const std::string mpirun = std::string(PPSIM_MPIEXEC) +
                             " --allow-run-as-root --oversubscribe -n 2 --mca mca_base_component_disable_dlclose 1"
                             " -x LSAN_OPTIONS=suppressions=" PPSIM_SOURCE_DIR "/tests/calibrate/lsan_openmpi.supp"
                             ":fast_unwind_on_malloc=0:print_suppressions=0 ";
  const std::string cmd = mpirun + PPSIM_BINARY + " plan " + plan + " --threads 1 --json " + (dir / "two.json").string() +
                          " --csv " + (dir / "two.csv").string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << cmd << "\n" << out;
  EXPECT_EQ(count(out, "ppsim plan: tiny on 8 x h100-sxm"), 1u) << out;  // one report, from rank 0
  EXPECT_EQ(test::read_text(dir / "two.json"), test::read_text(dir / "one.json"));
  EXPECT_EQ(test::read_text(dir / "two.csv"), test::read_text(dir / "one.csv"));
  EXPECT_NE(test::read_text(dir / "one.json").find("\"evaluated\": "), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ppsim
