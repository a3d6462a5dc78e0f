#pragma once
// The message of the InputError a call throws, for tests that check error texts.
#include <gtest/gtest.h>

#include <string>

#include "base/error.h"

namespace ppsim {

// Fails the test when `f` throws nothing.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

}  // namespace ppsim
