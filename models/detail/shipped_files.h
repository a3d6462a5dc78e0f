#pragma once
// The shipped models/*.yaml and models/hardware/*.yaml, embedded at build time (see
// models/CMakeLists.txt). Internal to models/: use load_model / load_hardware instead.
#include <span>

#include "base/embedded_file.h"

namespace ppsim {

std::span<const EmbeddedFile> embedded_models();    // sorted by name
std::span<const EmbeddedFile> embedded_hardware();  // sorted by name

}  // namespace ppsim
