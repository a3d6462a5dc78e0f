// The launcher detection and the refusal of a build without MPI (calibrate/mpi/mpi_session.h), and
// the inter-node step of a one-process run (nothing to measure, no MPI touched).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "calibrate/mpi/mpi_session.h"

namespace ppsim::mpi {
namespace {

GetEnv env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(MpiEnv, LauncherWorldSizeFromOpenMpiOrPmi) {
  EXPECT_EQ(launcher_world_size(env({})), 1);
  EXPECT_EQ(launcher_world_size(env({{"OMPI_COMM_WORLD_SIZE", "2"}})), 2);
  EXPECT_EQ(launcher_world_size(env({{"PMI_SIZE", "8"}})), 8);
  EXPECT_EQ(launcher_world_size(env({{"OMPI_COMM_WORLD_SIZE", "4"}, {"PMI_SIZE", "8"}})), 4);
  // Not a positive integer: ignored.
  EXPECT_EQ(launcher_world_size(env({{"OMPI_COMM_WORLD_SIZE", ""}})), 1);
  EXPECT_EQ(launcher_world_size(env({{"OMPI_COMM_WORLD_SIZE", "two"}})), 1);
  EXPECT_EQ(launcher_world_size(env({{"OMPI_COMM_WORLD_SIZE", "0"}, {"PMI_SIZE", "3"}})), 3);
  EXPECT_EQ(launcher_world_size(env({{"PMI_SIZE", "-2"}})), 1);
  EXPECT_EQ(launcher_world_size(env({{"PMI_SIZE", "2x"}})), 1);
}

TEST(MpiEnv, BuildWithoutMpiRefusesSeveralProcesses) {
  EXPECT_EQ(launch_problem(1, false), "");
  EXPECT_EQ(launch_problem(2, true), "");
  const std::string why = launch_problem(2, false);
  EXPECT_NE(why.find("built without MPI"), std::string::npos) << why;
  EXPECT_NE(why.find("2 processes"), std::string::npos) << why;
  EXPECT_NE(why.find("libopenmpi-dev"), std::string::npos) << why;
}

TEST(MpiEnv, OneProcessHasNoInterNodeStep) {
  World one;
  CalibrationOptions o;
  EXPECT_FALSE(measure_inter_node(one, "cpu", o).has_value());
  EXPECT_FALSE(measure_inter_node(one, "cuda", o).has_value());
  // Sweeps outside ranks 0 and 1 (or alone) return at once, with or without MPI in the build.
  if (built_with_mpi()) {
    EXPECT_TRUE(mpi_ping_pong(one, {}).samples.empty());
    World third;
    third.rank = 2;
    third.size = 3;
    EXPECT_TRUE(mpi_ping_pong(third, {}).samples.empty());
  }
}

}  // namespace
}  // namespace ppsim::mpi
