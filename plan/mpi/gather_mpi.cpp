#include <mpi.h>

#include <stdexcept>

#include "plan/mpi/gather.h"

namespace ppsim::mpi {
namespace {

void check(int rc, const char* call, int rank) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string(call) + " failed on rank " + std::to_string(rank) + ": " + text);
}

}  // namespace

std::vector<std::string> gather_to_root(const World& world, const std::string& mine) {
  if (!world.active || world.size <= 1) return {mine};
  if (mine.size() > static_cast<std::size_t>(1) << 30) throw std::runtime_error("gather_to_root: a part over 1 GiB");
  const int bytes = static_cast<int>(mine.size());
  std::vector<int> sizes(world.rank == 0 ? world.size : 0);
  check(MPI_Gather(&bytes, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather", world.rank);
  std::vector<int> offsets(sizes.size());
  long long total = 0;
  for (std::size_t r = 0; r < sizes.size(); ++r) {
    offsets[r] = static_cast<int>(total);
    total += sizes[r];
  }
  if (total > (1ll << 31) - 1) throw std::runtime_error("gather_to_root: the parts add up to over 2 GiB");
  std::string all(static_cast<std::size_t>(total), '\0');
  check(MPI_Gatherv(mine.data(), bytes, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD),
        "MPI_Gatherv", world.rank);
  std::vector<std::string> parts;
  for (std::size_t r = 0; r < sizes.size(); ++r) parts.push_back(all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(sizes[r])));
  return parts;
}

}  // namespace ppsim::mpi
