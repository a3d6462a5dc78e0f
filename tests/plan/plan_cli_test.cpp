// `ppsim plan` end to end: the report, the JSON keys, the CSV, the best as a simulate config giving
// the same figures, and bad input (exit 1, a clear message, no output file).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_run.h"

namespace ppsim {
namespace {

using test::read_text;
using test::run_ppsim;
using test::scratch_dir;
namespace fs = std::filesystem;
const std::string kSource = PPSIM_SOURCE_DIR;

fs::path write_plan(const fs::path& dir, const std::string& text) {
  const fs::path p = dir / "plan.yaml";
  std::ofstream(p) << text;
  return p;
}

const char* kPlan =
    "model: tiny\nhardware: h100-sxm\ngpus: 4\nglobal_batch_size: 8\nsequence_length: 128\nmemory_limit: 1GB\n"
    "search:\n  schedules: [1f1b, zb-h1, interleaved-1f1b]\n  chunks: [1, 2]\n  recompute: [none, full]\n"
    "  micro_batch_size: [1, 2]\n";

// The first number after "key": in a JSON text, from `from` on.
std::string json_number(const std::string& json, const std::string& key, std::size_t from = 0) {
  const std::size_t at = json.find("\"" + key + "\": ", from);
  if (at == std::string::npos) return "";
  const std::size_t begin = at + key.size() + 4;
  return json.substr(begin, json.find_first_of(",\n}", begin) - begin);
}

TEST(PlanCli, ReportJsonCsvAndTheBestChecksOutWithSimulate) {
  const fs::path dir = scratch_dir("plan_cli");
  const fs::path plan = write_plan(dir, kPlan);
  const auto r = run_ppsim("plan " + plan.string() + " --top 3 --threads 2 --json " + (dir / "p.json").string() +
                           " --csv " + (dir / "all.csv").string() + " --write-best " + (dir / "best.yaml").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ppsim plan: tiny on 4 x h100-sxm, global batch 8 x 128 tokens, memory limit 1.00 GB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top 3 of "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Pareto front"), std::string::npos);
  EXPECT_NE(r.out.find("why: #1 is "), std::string::npos);
  EXPECT_EQ(r.out.find("\r["), std::string::npos);  // no progress bar when stderr is not a terminal
  const std::string json = read_text(dir / "p.json");
  for (const char* key : {"\"evaluated\": ", "\"skipped\": {", "\"best\": {", "\"pareto\": [", "\"candidates\": [",
                          "\"schedule\": ", "\"stages\": ", "\"chunks\": ", "\"micro_batch_size\": ", "\"microbatches\": ",
                          "\"tensor_parallel\": ", "\"data_parallel\": ", "\"sequence_parallel\": ", "\"recompute\": ",
                          "\"zero\": ", "\"iteration_time_ns\": ", "\"tokens_per_s\": ", "\"mfu\": ",
                          "\"bubble_fraction\": ", "\"peak_memory_bytes\": ", "\"fits\": "})
    EXPECT_NE(json.find(key), std::string::npos) << key;
  const std::string csv = read_text(dir / "all.csv");
  const std::size_t rows = static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')) - 1;
  EXPECT_EQ(std::to_string(rows), json_number(json, "evaluated"));
  EXPECT_EQ(csv.rfind("id,schedule,stages,chunks,micro_batch_size,microbatches,tensor_parallel,data_parallel,"
                      "sequence_parallel,recompute,zero,iteration_time_ns,tokens_per_s,mfu,bubble_fraction,"
                      "peak_memory_bytes,fits\n", 0), 0u);
  // The best, run by `ppsim simulate`: the same step time and peak memory.
  const auto s = run_ppsim("simulate " + (dir / "best.yaml").string() + " -q --json " + (dir / "best.json").string());
  ASSERT_EQ(s.code, 0) << s.out;
  const std::string simulated = read_text(dir / "best.json");
  const std::size_t best = json.find("\"best\": {");
  EXPECT_EQ(json_number(simulated, "iteration_time_ns"), json_number(json, "iteration_time_ns", best));
  std::string peak;
  for (std::size_t at = simulated.find("\"peak_memory_bytes\": "); at != std::string::npos;
       at = simulated.find("\"peak_memory_bytes\": ", at + 1)) {
    const std::string v = json_number(simulated, "peak_memory_bytes", at);
    if (peak.empty() || std::stoll(v) > std::stoll(peak)) peak = v;
  }
  EXPECT_EQ(peak, json_number(json, "peak_memory_bytes", best));
  fs::remove_all(dir);
}

TEST(PlanCli, BadInputIsAClearErrorAndWritesNothing) {
  const fs::path dir = scratch_dir("plan_cli_bad");
  const fs::path plan = write_plan(dir, "model: tiny\ngpus: 7\nglobal_batch_size: 8\nsearch:\n  tensor_parallel: [2, 4]\n");
  const auto r = run_ppsim("plan " + plan.string() + " --json " + (dir / "p.json").string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("plan.yaml:2:7: gpus: no tensor_parallel x stages of the search divides 7 GPUs"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "p.json"));
  const fs::path empty = write_plan(dir, "model: tiny\ngpus: 4\nglobal_batch_size: 8\nsearch:\n  recompute: []\n");
  const auto e = run_ppsim("plan " + empty.string());
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.out.find("search.recompute: is empty"), std::string::npos) << e.out;
  EXPECT_EQ(run_ppsim("plan").code, 2);
  EXPECT_EQ(run_ppsim("plan " + plan.string() + " --threads 0").code, 2);
  fs::remove_all(dir);
}

TEST(PlanCli, HelpListsTheCommandAndItsFlags) {
  const auto top = run_ppsim("--help");
  EXPECT_NE(top.out.find("  plan plan.yaml "), std::string::npos) << top.out;
  const auto help = run_ppsim("plan --help");
  EXPECT_EQ(help.code, 0);
  for (const char* flag : {"--json", "--csv", "--top", "--svg", "--threads", "--write-best"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
}

TEST(PlanCli, ShippedExamplePlansRun) {
  for (const auto& entry : fs::directory_iterator(kSource + "/examples/plans")) {
    const auto r = run_ppsim("plan " + entry.path().string() + " -q");
    EXPECT_EQ(r.code, 0) << entry.path() << r.out;
  }
}

}  // namespace
}  // namespace ppsim
