#pragma once
// The report of a jittered training run's replays (issue 15): the makespan's distribution against
// the deterministic makespan, and the ranks and ops whose variability costs the most.
#include <string>

#include "sim/replications.h"
#include "sim/report/json_writer.h"

namespace ppsim {

std::string render_replication_text(const OpTable& table, const ReplicationSpec& spec, const ReplicationResult& r);

// The "jitter" object of the JSON report (written as one key into an open object).
void write_replication_json(JsonWriter& w, const OpTable& table, const ReplicationSpec& spec, const ReplicationResult& r);

}  // namespace ppsim
