// `ppsim plan` end to end: the report, the JSON keys, the CSV, the best as a simulate config giving
// the same figures, and bad input (exit 1, a clear message, no output file).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
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
                           " --csv " + (dir / "all.csv").string() + " --write-best " + (dir / "best.yaml").string() + " --bubble-target 20%");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("bubble target 20.0 %: "), std::string::npos) << r.out;
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
                          "\"bubble_fraction\": ", "\"peak_memory_bytes\": ", "\"fits\": ", "\"bubble_target\": {"})
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
  const auto target = run_ppsim("plan " + plan.string() + " --bubble-target 120%");
  EXPECT_EQ(target.code, 1);
  EXPECT_NE(target.out.find("--bubble-target: '120%' is not a fraction between 0 and 1"), std::string::npos) << target.out;
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

namespace ppsim {
namespace {

// Renders an SVG the way a test can without a browser: python3's XML parser (well-formed, an <svg>
// root) and a count of the elements of each class. Empty when python3 is missing.
std::string svg_elements(const std::filesystem::path& svg) {
  const std::string cmd =
      "python3 -c \"import sys, xml.etree.ElementTree as E, collections; r = E.parse(sys.argv[1]).getroot(); "
      "assert r.tag.endswith('svg'), r.tag; c = collections.Counter((e.tag.split('}')[1], e.get('class')) for e in r.iter()); "
      "print(' '.join('%s.%s=%d' % (t, k, n) for (t, k), n in sorted(c.items(), key=str)))\" " + svg.string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return status == 0 ? out : "error: " + out;
}

TEST(PlanCli, SvgPicturesAreWellFormedAndDrawWhatTheySay) {
  if (std::system("python3 -c 'import xml.etree.ElementTree' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is not installed";
  const std::filesystem::path dir = test::scratch_dir("plan_svg");
  {
    // tiny needs 1.9 to 17.5 MB per GPU across this search: a 6 MB limit leaves some on each side.
    std::string text = kPlan;
    text.replace(text.find("memory_limit: 1GB"), 17, "memory_limit: 6MB");
    std::ofstream(dir / "plan.yaml") << text;
  }
  const auto r = test::run_ppsim("plan " + (dir / "plan.yaml").string() + " -q --json " + (dir / "p.json").string() +
                                 " --svg " + (dir / "pictures").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string json = test::read_text(dir / "p.json");
  const std::string evaluated = json_number(json, "evaluated");
  const std::size_t fitting = std::stoul(json_number(json, "fitting"));
  const std::size_t all = std::stoul(evaluated);
  ASSERT_GT(fitting, 0u);
  ASSERT_LT(fitting, all);
  const std::string pareto = svg_elements(dir / "pictures" / "pareto.svg");
  // One point per simulated candidate (fitting ones filled, the others hollow), the front, the limit, the best.
  EXPECT_NE(pareto.find("circle.candidate=" + std::to_string(fitting)), std::string::npos) << pareto;
  EXPECT_NE(pareto.find("circle.candidate non-fitting=" + std::to_string(all - fitting)), std::string::npos) << pareto;
  EXPECT_NE(pareto.find("polyline.pareto=1"), std::string::npos) << pareto;
  EXPECT_NE(pareto.find("line.memory-limit=1"), std::string::npos) << pareto;
  EXPECT_NE(pareto.find("circle.best=1"), std::string::npos) << pareto;
  const std::string heatmap = svg_elements(dir / "pictures" / "bubble-heatmap.svg");
  EXPECT_EQ(heatmap.find("error"), std::string::npos) << heatmap;
  EXPECT_NE(heatmap.find("rect.cell="), std::string::npos) << heatmap;
  const std::string timeline = svg_elements(dir / "pictures" / "best-timeline.svg");
  EXPECT_EQ(timeline.find("error"), std::string::npos) << timeline;
  EXPECT_NE(timeline.find("rect."), std::string::npos) << timeline;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

TEST(SimulateSweepHeatmap, TableAndSvgHeatmap) {
  const std::filesystem::path dir = test::scratch_dir("sweep_heatmap");
  const std::string svg = (dir / "heatmap.svg").string();
  const auto r = test::run_ppsim("simulate " + kSource + "/examples/1f1b.yaml -q --sweep-heatmap 2,4,8 8,16,32 --heatmap-svg " + svg);
  ASSERT_EQ(r.code, 0) << r.out;
  // 1F1B with equal stages and free hops: (P - 1) / (M + P - 1).
  EXPECT_NE(r.out.find("   M \\ P        2        4        8\n       8    11.1%    27.3%    46.7%\n"
                       "      16     5.9%    15.8%    30.4%\n      32     3.0%     8.6%    17.9%\n"),
            std::string::npos)
      << r.out;
  if (std::system("python3 -c 'import xml.etree.ElementTree' >/dev/null 2>&1") == 0) {
    const std::string elements = svg_elements(svg);
    EXPECT_NE(elements.find("rect.cell=9"), std::string::npos) << elements;
  }
  // Without the flag, simulate's output is unchanged (the golden outputs check it byte for byte).
  EXPECT_EQ(test::run_ppsim("simulate " + kSource + "/examples/1f1b.yaml -q --sweep-heatmap 2,4").code, 2);
  EXPECT_EQ(test::run_ppsim("simulate " + kSource + "/examples/1f1b.yaml -q --heatmap-svg " + svg).code, 2);
  const auto bad = test::run_ppsim("simulate " + kSource + "/examples/1f1b.yaml -q --sweep-heatmap 0,2 8");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.out.find("--sweep-heatmap: '0' in P_LIST is not a count >= 1"), std::string::npos) << bad.out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

// profile: as in simulate. A profile is measured at one micro-batch size: candidates at another are
// skipped (cost_model_rejected), the others run on the profile's times, as simulate runs them.
TEST(PlanCli, ProfileDrivesTheCandidatesAndOtherMicroBatchSizesAreSkipped) {
  const std::filesystem::path dir = test::scratch_dir("plan_profile");
  const std::string calibrate = "calibrate --device cpu --model tiny --sequence-length 32 --repeats 2 --out " +
                                (dir / "p.yaml").string();
  const auto c = test::run_ppsim(calibrate);
  ASSERT_EQ(c.code, 0) << c.out;
  {
    std::ofstream(dir / "plan.yaml") << "model: tiny\nhardware: h100-sxm\ngpus: 2\nglobal_batch_size: 8\nsequence_length: 32\n"
                                        "profile: p.yaml\nsearch:\n  schedules: [1f1b, zb-h1]\n  micro_batch_size: [1, 2]\n"
                                        "  recompute: [none]\n";
  }
  const auto r = test::run_ppsim("plan " + (dir / "plan.yaml").string() + " -q --json " + (dir / "p.json").string() +
                                 " --write-best " + (dir / "best.yaml").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string json = test::read_text(dir / "p.json");
  // The profile was measured at micro-batch 1: no candidate at 2 is simulated, and they are counted.
  EXPECT_NE(json.find("\"cost_model_rejected\": "), std::string::npos) << json;
  EXPECT_EQ(json.find("\"micro_batch_size\": 2"), std::string::npos) << json;
  const auto s = test::run_ppsim("simulate " + (dir / "best.yaml").string() + " -q --json " + (dir / "best.json").string());
  ASSERT_EQ(s.code, 0) << s.out;
  const std::string simulated = test::read_text(dir / "best.json");
  EXPECT_EQ(json_number(simulated, "iteration_time_ns"), json_number(json, "iteration_time_ns", json.find("\"best\": {")));
  EXPECT_NE(simulated.find("profile"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ppsim

#include "plan/progress.h"

namespace ppsim {
namespace {

TEST(PlanProgress, BarLine) {
  EXPECT_EQ(progress_line(0, 8, 4), "\r[    ] 0 / 8 configurations");
  EXPECT_EQ(progress_line(5, 8, 4), "\r[##  ] 5 / 8 configurations");
  EXPECT_EQ(progress_line(8, 8, 4), "\r[####] 8 / 8 configurations\n");
}

// On a terminal (script(1) gives the command one), a search that ends within a second draws no bar.
TEST(PlanProgress, QuietOnATerminalWhenTheSearchIsFast) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "script(1) is not installed";
  const std::filesystem::path dir = test::scratch_dir("plan_progress");
  {
    std::ofstream(dir / "plan.yaml") << "model: tiny\ngpus: 2\nglobal_batch_size: 4\nsequence_length: 32\n"
                                        "search:\n  schedules: [1f1b]\n  recompute: [none]\n";
  }
  const std::string cmd = "script -qfec '" + std::string(PPSIM_BINARY) + " plan " + (dir / "plan.yaml").string() + "' /dev/null 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("ppsim plan: tiny on 2 x h100-sxm"), std::string::npos) << out;
  EXPECT_EQ(out.find("configurations\r"), std::string::npos) << out;
  EXPECT_EQ(out.find("\r["), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

TEST(PlanCli, NothingFitsIsAResultWithTheFrontAndNoBest) {
  const std::filesystem::path dir = test::scratch_dir("plan_nothing_fits");
  std::string text = kPlan;
  text.replace(text.find("memory_limit: 1GB"), 17, "memory_limit: 1MB");
  {
    std::ofstream(dir / "plan.yaml") << text;
  }
  const std::string plan = (dir / "plan.yaml").string();
  const auto r = test::run_ppsim("plan " + plan + " --json " + (dir / "p.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("no configuration fits in 0.00 GB per GPU; the least memory any needs is "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Pareto front"), std::string::npos);
  const std::string json = test::read_text(dir / "p.json");
  EXPECT_NE(json.find("\"best\": null"), std::string::npos);
  EXPECT_NE(json.find("\"fitting\": 0"), std::string::npos);
  // Asking for the best then is an error, and nothing is written.
  const auto w = test::run_ppsim("plan " + plan + " --json " + (dir / "q.json").string() + " --write-best " + (dir / "b.yaml").string());
  EXPECT_EQ(w.code, 1);
  EXPECT_NE(w.out.find("--write-best: no configuration fits in the memory limit"), std::string::npos) << w.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "q.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "b.yaml"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ppsim
