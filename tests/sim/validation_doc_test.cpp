// docs/validation.md's table: every row's prediction re-simulated from its config in
// examples/validation/, and every config there has a row.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "sim/config/config.h"
#include "sim/simulation.h"

namespace ppsim {
namespace {

std::string fixed(const char* format, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

TEST(ValidationDoc, EveryRowsPredictionSimulates) {
  const std::string root = PPSIM_SOURCE_DIR;
  std::ifstream f(root + "/docs/validation.md");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  // | run | GPUs | [name.yaml](...) | <published> s ... | <predicted> s | <error> % |
  const std::regex row(R"(\| \[([a-z0-9.-]+\.yaml)\]\([^)]*\) \| ([0-9.]+) s[^|]*\| ([0-9.]+) s \| ([-+][0-9.]+) % \|)");
  std::set<std::string> rows;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    SCOPED_TRACE(name);
    const double published = std::stod((*it)[2]);
    const SimulationResult r = run_simulation(load_config(root + "/examples/validation/" + name));
    const double predicted = static_cast<double>(r.metrics.iteration_ns) * 1e-9;
    EXPECT_EQ(fixed("%.2f", predicted), std::string((*it)[3]));
    EXPECT_EQ(fixed("%+.1f", (predicted - published) / published * 100), std::string((*it)[4]));
    rows.insert(name);
  }
  for (const auto& e : std::filesystem::directory_iterator(root + "/examples/validation"))
    EXPECT_TRUE(rows.count(e.path().filename().string())) << e.path() << " has no row in docs/validation.md";
  EXPECT_GE(rows.size(), 10u);
}

}  // namespace
}  // namespace ppsim
