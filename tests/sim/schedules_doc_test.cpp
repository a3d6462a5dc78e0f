// docs/schedules.md's table: every row's figures at P = 4, M = 8 re-simulated, and every
// registered schedule has a row.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "schedules/registry.h"
#include "sim/config/config.h"
#include "sim/simulation.h"

namespace ppsim {
namespace {

TEST(SchedulesDoc, EveryRowsFiguresSimulate) {
  std::ifstream f(std::string(PPSIM_SOURCE_DIR) + "/docs/schedules.md");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  // | name | rule | placement | bubble | memory | source | <bubble ms> | <peak> |
  const std::regex row(R"(\n\| ([a-z0-9-]+) \|[^\n]*\| ([0-9]+) \| ([0-9]+) \|)");
  std::set<std::string> rows;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it) {
    const std::string kind = (*it)[1];
    SCOPED_TRACE(kind);
    const int bubble_ms = std::stoi((*it)[2]), peak = std::stoi((*it)[3]);
    const bool two_chunks = kind != "gpipe" && kind != "1f1b" && kind != "zb-h1" && kind != "zb-h2" && kind != "zb-auto";
    const std::string yaml = "schedule: " + kind + "\nstages: 4\nmicrobatches: 8\nchunks: " + (two_chunks ? "2" : "1") +
                             (kind == "zb-auto" ? "\nin_flight_limit: 8" : "") +
                             "\ntimes: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms, transfer: 0}\n";
    const SimulationResult r = run_simulation(parse_config(yaml, "row.yaml", "."));
    TimeNs worst_bubble = 0;
    int worst_peak = 0;
    for (const auto& rank : r.metrics.ranks) {
      worst_bubble = std::max(worst_bubble, rank.span_ns - rank.busy_ns);
      worst_peak = std::max(worst_peak, rank.peak_in_flight);
    }
    EXPECT_EQ(worst_bubble, bubble_ms * 1'000'000LL);
    EXPECT_EQ(worst_peak, peak);
    rows.insert(kind);
  }
  for (const auto& k : schedule_kinds()) EXPECT_TRUE(rows.count(k.name)) << k.name << " has no row in docs/schedules.md";
  EXPECT_TRUE(rows.count("zb-auto"));
}

}  // namespace
}  // namespace ppsim
