#pragma once
// Two error channels (see ../shared/style.md): internal invariants are asserts; anything a user can
// cause (a YAML key, a CLI flag, a CSV cell) throws ppsim::InputError, whose message already names
// the file, line and field. The CLI prints it and exits non-zero.
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

}  // namespace ppsim
