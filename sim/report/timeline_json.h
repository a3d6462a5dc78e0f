#pragma once
// A timeline in the JSON report ("ops" with every op's place and times), so that a prediction and
// a measurement written by different runs can be compared later (`ppsim compare`).
#include <string>

#include "sim/report/json_writer.h"
#include "sim/timeline.h"

namespace ppsim {

// Writes "rank_of_stage", "resources" and "ops" (one [kind, stage, microbatch, resource,
// is_transfer, start_ns, end_ns] array per op) into an open object.
void write_timeline_fields(JsonWriter& w, const Timeline& timeline);

// Reads a report written with those fields back into a timeline; InputError names the file and
// what is missing or inconsistent. Where the top level has no "ops", the object under `nested`
// ("measured" or "predicted", as `ppsim measure` writes them) is read instead.
Timeline read_timeline_json(const std::string& path, const std::string& nested = "");

}  // namespace ppsim
