#pragma once
// A stream run as a Timeline, so the training reporters draw it: one row per stage ("stage k"),
// each item's service an F op labelled with its item number, each hop between stages a transfer.
#include "sim/stream/stream_engine.h"
#include "sim/timeline.h"

namespace ppsim {

// Every item that started service before the run stopped.
Timeline stream_timeline(const StreamRun& run);

}  // namespace ppsim
