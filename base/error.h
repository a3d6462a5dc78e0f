#pragma once
// Two error channels (see ../shared/style.md): internal invariants are asserts; anything a user can
// cause (a YAML key, a CLI flag, a CSV cell) throws ppsim::InputError, whose message already names
// the file, line and field. The CLI turns each kind into its own exit code (cli/command_line.h).
#include <stdexcept>
#include <string>

namespace ppsim {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A schedule whose dependencies form a cycle: the message lists the op each rank waits at.
class DeadlockError : public InputError {
 public:
  using InputError::InputError;
};

// A job refused before anything was allocated because it would not fit in memory (or in 32-bit
// op ids): the message names the op count, the bytes needed, the memory available and the flag
// that raises the limit.
class TooLargeError : public InputError {
 public:
  using InputError::InputError;
};

// A run on real hardware that failed while running: a CUDA or NCCL error, or a deadline that
// passed while a rank waited (the message names the rank and the op it waited on).
class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The process exit codes, one per kind of outcome (documented in `ppsim --help` and the README).
enum ExitCode : int {
  kExitSuccess = 0,
  kExitBadInput = 1,   // InputError: a file, key or value is wrong
  kExitUsage = 2,      // the command line itself (unknown flag, missing argument)
  kExitDeadlock = 3,   // the schedule would deadlock
  kExitTooLarge = 4,   // refused: the job would not fit in memory
  kExitRunFailed = 5,  // a measured run failed (device error, or a deadline passed)
  kExitInternal = 70,  // a bug in ppsim (EX_SOFTWARE): please report it
};

}  // namespace ppsim
