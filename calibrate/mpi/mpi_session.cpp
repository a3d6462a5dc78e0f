// The MPI build of calibrate/mpi/mpi_session.h: MPI start-up and shut-down, checked point-to-point
// transfers with deadlines, and the CPU ping-pong between rank 0 and rank 1.
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <unistd.h>

#include "calibrate/mpi/mpi_check.h"
#include "calibrate/mpi/mpi_session.h"
#include "base/error.h"

namespace ppsim::mpi {
namespace detail {

using Clock = std::chrono::steady_clock;

void check(int rc, const char* call, int rank) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) std::snprintf(text, sizeof text, "error code %d", rc);
  throw std::runtime_error(std::string(call) + " failed on rank " + std::to_string(rank) + ": " + text);
}

void wait(MPI_Request& request, const std::string& what, int rank, double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test", rank);
    if (done) return;
    if (Clock::now() > deadline)
      throw std::runtime_error(what + " on rank " + std::to_string(rank) + ": no answer after " +
                               std::to_string(static_cast<int>(timeout_s)) + " s (is the peer process alive?)");
  }
}

namespace {
int count_of(std::int64_t bytes, int rank) {
  if (bytes < 0 || bytes > INT_MAX)
    throw std::runtime_error("MPI transfer of " + std::to_string(bytes) + " bytes on rank " + std::to_string(rank) +
                             ": more than an int count");
  return static_cast<int>(bytes);
}
}  // namespace

void send_bytes(const void* data, std::int64_t bytes, int peer, int tag, const World& world, double timeout_s) {
  MPI_Request req;
  check(MPI_Isend(data, count_of(bytes, world.rank), MPI_BYTE, peer, tag, MPI_COMM_WORLD, &req), "MPI_Isend",
        world.rank);
  wait(req, "MPI_Isend of " + std::to_string(bytes) + " B to rank " + std::to_string(peer), world.rank, timeout_s);
}

void recv_bytes(void* data, std::int64_t bytes, int peer, int tag, const World& world, double timeout_s) {
  MPI_Request req;
  check(MPI_Irecv(data, count_of(bytes, world.rank), MPI_BYTE, peer, tag, MPI_COMM_WORLD, &req), "MPI_Irecv",
        world.rank);
  wait(req, "MPI_Irecv of " + std::to_string(bytes) + " B from rank " + std::to_string(peer), world.rank, timeout_s);
}

std::string handshake(const World& world, SweepSettings& s, const std::string& my_label) {
  constexpr int kSettingsTag = 1, kLabelTag = 2;
  constexpr std::size_t kLabel = 512;
  const int peer = 1 - world.rank;
  std::int64_t msg[6] = {s.min_bytes, s.max_bytes, s.repeats, s.warmup, s.device_kind,
                         static_cast<std::int64_t>(s.timeout_s * 1000)};
  if (world.rank == 0) {
    send_bytes(msg, sizeof msg, 1, kSettingsTag, world, s.timeout_s);
  } else {
    recv_bytes(msg, sizeof msg, 0, kSettingsTag, world, s.timeout_s);
    if (msg[4] != s.device_kind)
      throw InputError(std::string("rank 0 measures on --device ") + (msg[4] ? "cuda" : "cpu") + " but rank 1 on " +
                       (s.device_kind ? "cuda" : "cpu") + ": pass the same --device to every process");
    s.min_bytes = msg[0];
    s.max_bytes = msg[1];
    s.repeats = static_cast<int>(msg[2]);
    s.warmup = static_cast<int>(msg[3]);
    s.timeout_s = static_cast<double>(msg[5]) / 1000.0;
  }
  char mine[kLabel] = {}, theirs[kLabel] = {};
  std::snprintf(mine, sizeof mine, "%s", my_label.c_str());
  // Rank 0 sends first, rank 1 receives first: no order in which both wait on each other.
  if (world.rank == 0) {
    send_bytes(mine, kLabel, peer, kLabelTag, world, s.timeout_s);
    recv_bytes(theirs, kLabel, peer, kLabelTag, world, s.timeout_s);
  } else {
    recv_bytes(theirs, kLabel, peer, kLabelTag, world, s.timeout_s);
    send_bytes(mine, kLabel, peer, kLabelTag, world, s.timeout_s);
  }
  theirs[kLabel - 1] = '\0';
  return theirs;
}

}  // namespace detail

using detail::check;

bool built_with_mpi() { return true; }

Session::Session() {
  const int launched = launcher_world_size();
  if (launched <= 1) {  // a plain run: MPI is never touched
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) world_.host = host;
    return;
  }
  int initialised = 0;
  check(MPI_Initialized(&initialised), "MPI_Initialized", -1);
  if (!initialised) check(MPI_Init(nullptr, nullptr), "MPI_Init", -1);
  world_.active = true;
  // Errors come back as codes (checked, naming the call and the rank) instead of aborting silently.
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler", -1);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &world_.rank), "MPI_Comm_rank", -1);
  check(MPI_Comm_size(MPI_COMM_WORLD, &world_.size), "MPI_Comm_size", world_.rank);
  char name[MPI_MAX_PROCESSOR_NAME + 1] = {};
  int len = 0;
  check(MPI_Get_processor_name(name, &len), "MPI_Get_processor_name", world_.rank);
  world_.host.assign(name, static_cast<std::size_t>(std::max(0, len)));
  MPI_Comm local;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_.rank, MPI_INFO_NULL, &local),
        "MPI_Comm_split_type", world_.rank);
  check(MPI_Comm_rank(local, &world_.local_rank), "MPI_Comm_rank (node)", world_.rank);
  check(MPI_Comm_free(&local), "MPI_Comm_free", world_.rank);
}

Session::~Session() {
  if (!world_.active) return;
  int finalised = 0;
  if (MPI_Finalized(&finalised) == MPI_SUCCESS && !finalised) MPI_Finalize();
}

void Session::finish() {
  if (!world_.active || finished_) return;
  finished_ = true;
  MPI_Request req;
  check(MPI_Ibarrier(MPI_COMM_WORLD, &req), "MPI_Ibarrier", world_.rank);
  if (world_.rank == 0) {  // the others are already waiting
    detail::wait(req, "final MPI_Ibarrier", world_.rank, 60.0);
    return;
  }
  // The others wait for rank 0's layer timing, however long, sleeping so as not to take its CPU.
  for (;;) {
    int done = 0;
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test (final barrier)", world_.rank);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Session::abort(const std::string& message) {
  std::fprintf(stderr, "ppsim calibrate: rank %d (%s): %s\n", world_.rank, world_.host.c_str(), message.c_str());
  std::fflush(stderr);
  if (world_.active) MPI_Abort(MPI_COMM_WORLD, 1);
  std::exit(1);
}

InterNodeSweep mpi_ping_pong(const World& world, const SweepSettings& in) {
  if (world.size < 2 || world.rank > 1) return {};
  SweepSettings s = in;
  const std::string me = world.host + " (rank " + std::to_string(world.rank) + ")";
  const std::string peer_label = detail::handshake(world, s, me);
  std::vector<char> send(static_cast<std::size_t>(sweep_sizes(s.min_bytes, s.max_bytes).back()),
                         static_cast<char>(world.rank + 1));
  std::vector<char> recv(send.size(), 0);
  const int peer = 1 - world.rank;
  InterNodeSweep out;
  // Both ranks walk the same sweep; rank 0's half round trips are the result (rank 1 only answers).
  auto samples = sweep_transfers(s.min_bytes, s.max_bytes, s.warmup, s.repeats, [&](std::size_t i, std::int64_t bytes) {
    const int tag = 100 + static_cast<int>(i);
    if (world.rank != 0) {
      detail::recv_bytes(recv.data(), bytes, peer, tag, world, s.timeout_s);
      detail::send_bytes(send.data(), bytes, peer, tag, world, s.timeout_s);
      return 0.0;
    }
    const auto t0 = detail::Clock::now();
    detail::send_bytes(send.data(), bytes, peer, tag, world, s.timeout_s);
    detail::recv_bytes(recv.data(), bytes, peer, tag, world, s.timeout_s);
    const TimeNs rt = std::chrono::duration_cast<std::chrono::nanoseconds>(detail::Clock::now() - t0).count();
    return double(rt) / 2.0 * 1e-9;
  });
  if (world.rank == 0) out.samples = std::move(samples);
  if (world.rank == 0) {
    if (recv[0] != 2) throw std::runtime_error("MPI ping-pong: rank 0 received wrong data from rank 1");
    out.between = me + " <-> " + peer_label + " (MPI_Isend/MPI_Irecv ping-pong, half round trip)";
  }
  return out;
}

}  // namespace ppsim::mpi
