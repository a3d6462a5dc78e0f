// ppsim's generators against PyTorch's own orders (tests/data/pytorch-orders): for every shape
// PyTorch builds, the same actions on every rank in the same order, cell by cell; and the CSV
// PyTorch writes imports as that schedule.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "base/error.h"
#include "schedules/order_csv.h"
#include "schedules/registry.h"
#include "tests/input_error.h"

namespace ppsim {
namespace {

namespace fs = std::filesystem;

// PyTorch's rows without their idle cells.
std::vector<std::vector<std::string>> compute_cells(const std::string& csv) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ','))
      if (!cell.empty()) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const std::map<std::string, std::string>& ppsim_kind_of() {
  static const std::map<std::string, std::string> m = {
      {"gpipe", "gpipe"},       {"1f1bruntime", "1f1b"},         {"interleaved1f1b", "interleaved-1f1b"},
      {"loopedbfs", "looped-bfs"}, {"interleavedzb", "interleaved-zb"},   {"zbv", "zb-v"},
      {"dualpipev", "dualpipe-v"},
  };
  return m;
}

TEST(PyTorchOrders, EveryFixtureMatchesCellByCell) {
  const fs::path dir = fs::path(PPSIM_SOURCE_DIR) / "tests/data/pytorch-orders";
  const std::regex name("(.+)_P([0-9]+)_M([0-9]+)_V([0-9]+)\\.csv");
  std::map<std::string, int> checked;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    const auto kind = ppsim_kind_of().find(m[1]);
    if (kind == ppsim_kind_of().end()) continue;
    const int P = std::stoi(m[2]), M = std::stoi(m[3]), V = std::stoi(m[4]);
    SCOPED_TRACE(file);
    const std::string text = read(entry.path());
    const Schedule s = generate_schedule(kind->second, {P, M, V});
    EXPECT_EQ(compute_cells(write_order_csv(s)), compute_cells(text));
    // PyTorch's file, idle cells and \r\n included, imports as the same schedule.
    const Schedule imported = read_order_csv(text, file, P, M, V);
    EXPECT_EQ(imported.order, s.order);
    EXPECT_EQ(imported.rank_of_stage, s.rank_of_stage);
    ++checked[kind->second];
  }
  // Every family present (a file lost or renamed would otherwise pass silently).
  EXPECT_EQ(checked["gpipe"], 28);
  EXPECT_EQ(checked["1f1b"], 17);
  EXPECT_EQ(checked["interleaved-1f1b"], 39);
  EXPECT_EQ(checked["looped-bfs"], 16);
  EXPECT_EQ(checked["interleaved-zb"], 30);
  EXPECT_EQ(checked["zb-v"], 20);
  EXPECT_EQ(checked["dualpipe-v"], 17);
}

// The shapes PyTorch refuses, ppsim refuses too, naming the rule.
TEST(PyTorchOrders, RefusesWhatPyTorchRefuses) {
  for (int V : {2, 3, 4}) {
    const std::string e = error_of([&] { generate_schedule("interleaved-1f1b", {2, 5, V}); });
    EXPECT_NE(e.find("must be a multiple of 2 (microbatches: 5, stages: 2); nearest accepted: 4 or 6"), std::string::npos) << e;
  }
  // Accepted by PyTorch although M is not a multiple of P: one round of 6, two of 5.
  EXPECT_NO_THROW(generate_schedule("interleaved-1f1b", {4, 6, 2}));
  EXPECT_NO_THROW(generate_schedule("interleaved-1f1b", {4, 10, 2}));
  EXPECT_NO_THROW(generate_schedule("interleaved-zb", {4, 10, 3}));
}

}  // namespace
}  // namespace ppsim
