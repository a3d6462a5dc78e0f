#pragma once
// Internal to the MPI build (calibrate/mpi/mpi_session.cpp, calibrate/cuda/nccl_mpi_sweep.cpp):
// checked MPI calls and point-to-point transfers that wait against a deadline.
#include <mpi.h>

#include <cstdint>
#include <string>

#include "calibrate/mpi/mpi_session.h"

namespace ppsim::mpi::detail {

// Throws std::runtime_error "CALL failed on rank R: <MPI's error string>" unless rc is MPI_SUCCESS.
// (MPI_COMM_WORLD's error handler is set to MPI_ERRORS_RETURN, so errors reach us as codes.)
void check(int rc, const char* call, int rank);

// Polls MPI_Test until `request` completes; after `timeout_s` throws naming `what` and the rank.
void wait(MPI_Request& request, const std::string& what, int rank, double timeout_s);

// Non-blocking send / receive of `bytes` bytes to / from `peer`, waited for with wait().
void send_bytes(const void* data, std::int64_t bytes, int peer, int tag, const World& world, double timeout_s);
void recv_bytes(void* data, std::int64_t bytes, int peer, int tag, const World& world, double timeout_s);

// Rank 0 sends its settings to rank 1, which adopts them (after checking that both use the same
// device kind); each then sends the other a label for itself ("host (rank r, ...)"). Returns the
// peer's label. Only ranks 0 and 1 call it.
std::string handshake(const World& world, SweepSettings& settings, const std::string& my_label);

}  // namespace ppsim::mpi::detail
