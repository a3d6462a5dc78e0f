// The stub of a build without MPI (calibrate/mpi/mpi_missing.cpp, compiled into this test whether or
// not the build has MPI): under a launcher's environment with more than one process, `ppsim
// calibrate` stops with "built without MPI" instead of calibrating once per process.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "calibrate/mpi/mpi_session.h"
#include "base/error.h"

namespace ppsim::mpi {
namespace {

struct ScopedEnv {
  explicit ScopedEnv(const char* value) { ::setenv("OMPI_COMM_WORLD_SIZE", value, 1); }
  ~ScopedEnv() { ::unsetenv("OMPI_COMM_WORLD_SIZE"); }
};

TEST(MpiStub, RefusesToRunUnderALauncherWithSeveralProcesses) {
  EXPECT_FALSE(built_with_mpi());
  ScopedEnv env("2");
  try {
    Session s;
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("built without MPI"), std::string::npos) << e.what();
  }
}

TEST(MpiStub, OneProcessRunsAsUsual) {
  ScopedEnv env("1");
  Session s;
  EXPECT_EQ(s.world().size, 1);
  EXPECT_EQ(s.world().rank, 0);
  EXPECT_FALSE(s.world().active);
  s.finish();
  World two;
  two.size = 2;
  EXPECT_THROW(mpi_ping_pong(two, {}), InputError);
}

}  // namespace
}  // namespace ppsim::mpi
