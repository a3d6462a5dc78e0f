// The ppsim binary end to end: every example runs with checked figures, outputs are well formed,
// and bad input exits non-zero with a clear message and no partial output file.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace {

namespace fs = std::filesystem;
const std::string kSource = PPSIM_SOURCE_DIR;
const std::string kPpsim = PPSIM_BINARY;

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr
};

CliRun run(const std::string& args) {
  const std::string cmd = kPpsim + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ppsim_cli_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Figures checked for every example; an example without an entry fails the suite.
struct Expected {
  long long makespan_ns;
  double bubble_fraction;
  double bubble_rate_zb;
};
const std::map<std::string, Expected> kExamples = {
    // Uneven F/B/W with transfers has no closed form: a regression figure (the engine itself is
    // cross-checked against the DAG's longest path in engine_test.cpp).
    {"default.yaml", {1'309'500'000, 1.0 - 8 * 24 * 45'900'000.0 / (8 * 1'309'500'000.0), 0.0}},
    {"gpipe-textbook.yaml", {330'000'000, 3.0 / 11.0, 90.0 / 330.0}},
    {"1f1b.yaml", {330'000'000, 3.0 / 11.0, 90.0 / 330.0}},
    {"interleaved.yaml", {285'000'000, 3.0 / 19.0, 45.0 / 285.0}},
    {"zb-h2.yaml", {270'000'000, 1.0 - 4 * 240.0 / (4 * 270.0), 0.0}},
    {"uneven-stages.yaml", {706'000'000, 1.0 - (16 * (29 + 25 + 25 + 39)) / (4 * 706.0), 82.0 / 706.0}},
    {"custom.yaml", {122'000'000, 1.0 - 2 * 100.0 / (2 * 122.0), 22.0 / 122.0}},
    // Chunk ops of 5 ms, 240 ms of work per rank. ZB-V: no bubble inside any rank's span. V-Half:
    // 6 floor((P-1)/2) - 1 = 5 chunk ops of bubble; V-Min: 12k - 1 = 11 at P = 3k + 1 (the authors'
    // generator's figures). Looped BFS: (P-1)/(VM+P-1), as interleaved.
    {"zb-v.yaml", {255'000'000, 1.0 - 240.0 / 255.0, 0.0}},
    {"v-half.yaml", {265'000'000, 25.0 / 265.0, 25.0 / 265.0}},
    {"v-min.yaml", {295'000'000, 55.0 / 295.0, 55.0 / 295.0}},
    {"looped-bfs.yaml", {285'000'000, 3.0 / 19.0, 45.0 / 285.0}},
    // DualPipe, DeepSeek-V3 Table 2: (P/2 - 1)(F&B + B - 3W) = (25 + 20 - 30) ms of bubble per rank.
    {"dualpipe.yaml", {440'000'000, 15.0 / 440.0, 15.0 / 440.0}},
    // Regression figures (transfers; interleaved zero bubble; the zero-bubble search).
    {"dualpipe-v.yaml", {343'500'000, 1.0 - 300.0 / 343.5, 43.5 / 343.5}},
    {"interleaved-zb.yaml", {195'000'000, 15.0 / 195.0, 15.0 / 195.0}},
    {"zb-auto.yaml", {1'236'541'000, 0.10825439674058523, 0.0445699273645092}},
    // Issue 15: the deterministic figures of a jittered run (the replays are checked in
    // tests/stream/stream_cli_test.cpp): a regression figure, 51 ms of bubble in 251 ms.
    {"jitter-zb-h1.yaml", {251'000'000, 51.0 / 251.0, 51.0 / 251.0}},
};

TEST(Cli, EveryExampleRunsWithCheckedFigures) {
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(kSource + "/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = entry.path().filename().string();
    // Model-driven examples are checked in their own test.
    if (read_file(entry.path()).find("\nmodel:") != std::string::npos) continue;
    // Streams (issue 15) are checked in tests/stream/stream_cli_test.cpp.
    if (read_file(entry.path()).find("\nschedule: stream") != std::string::npos) continue;
    auto it = kExamples.find(name);
    ASSERT_NE(it, kExamples.end()) << "examples/" << name << " has no checked figures in cli_test.cpp";
    const fs::path dir = temp_dir("ex");
    const CliRun r = run("simulate " + entry.path().string() + " --json " + (dir / "r.json").string());
    ASSERT_EQ(r.exit_code, 0) << name << "\n" << r.out;
    YAML::Node j = YAML::LoadFile((dir / "r.json").string());
    EXPECT_EQ(j["makespan_ns"].as<long long>(), it->second.makespan_ns) << name;
    EXPECT_NEAR(j["bubble_fraction"].as<double>(), it->second.bubble_fraction, 1e-12) << name;
    if (name != "default.yaml") {
      EXPECT_NEAR(j["bubble_rate_zb"].as<double>(), it->second.bubble_rate_zb, 1e-12) << name;
    }
    ++seen;
    fs::remove_all(dir);
  }
  EXPECT_EQ(seen, static_cast<int>(kExamples.size()));
}

TEST(Cli, DefaultExampleAndOutputs) {
  const fs::path dir = temp_dir("outputs");
  const std::string json = (dir / "r.json").string(), trace = (dir / "t.json").string(), svg = (dir / "t.svg").string(),
                    csv = (dir / "o.csv").string();
  const CliRun r = run("simulate --json " + json + " --trace " + trace + " --svg " + svg + " --order-csv " + csv +
                    " --timeline --width 100");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("<embedded default example>"), std::string::npos);
  EXPECT_NE(r.out.find("makespan            1.310 s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Little's law per rank"), std::string::npos);
  EXPECT_NE(r.out.find("rank 0: "), std::string::npos);
  // JSON contract keys.
  YAML::Node j = YAML::LoadFile(json);
  for (const char* k : {"makespan_ns", "bubble_fraction", "bubble_rate_zb", "throughput_microbatches_per_s", "stages"})
    EXPECT_TRUE(j[k]) << k;
  ASSERT_EQ(j["stages"].size(), 8u);
  for (const char* k : {"rank", "busy_ns", "span_ns", "bubble_fraction", "peak_in_flight", "mean_in_flight",
                        "arrival_rate_per_s", "mean_residence_ns"})
    EXPECT_TRUE(j["stages"][0][k]) << k;
  EXPECT_EQ(j["stages"][7]["busy_ns"].as<long long>(), 24LL * 45'900'000);
  // Trace: one X event per op, tracks named after ranks and links.
  YAML::Node t = YAML::LoadFile(trace);
  int ops = 0, names = 0;
  for (const auto& e : t["traceEvents"]) {
    if (e["ph"].as<std::string>() == "X") ++ops;
    if (e["name"].as<std::string>() == "thread_name") ++names;
  }
  EXPECT_EQ(ops, 8 * 24 * 3 + 2 * 7 * 24);
  EXPECT_EQ(names, 8 + 14);
  EXPECT_NE(read_file(svg).find("<svg"), std::string::npos);
  // The exported order reads back as a custom schedule with the same result.
  const std::string custom = (dir / "c.yaml").string();
  std::ofstream(custom) << "schedule: custom\nstages: 8\nmicrobatches: 24\norder_csv: o.csv\ntimes:\n"
                           "  forward: 18.5ms\n  backward_input: 18.1ms\n  backward_weight: 9.3ms\n  transfer: 0.6ms\n";
  const CliRun c = run("simulate " + custom);
  ASSERT_EQ(c.exit_code, 0) << c.out;
  EXPECT_NE(c.out.find("makespan            1.310 s"), std::string::npos) << c.out;
  fs::remove_all(dir);
}

TEST(Cli, BadInputFailsCleanlyWithoutPartialOutputs) {
  const fs::path dir = temp_dir("bad");
  struct Case {
    std::string yaml, csv, needle;
    int code;
  };
  const std::string times = "times:\n  forward: 1ms\n  backward_input: 1ms\n  backward_weight: 1ms\n";
  const Case cases[] = {
      {"schedule: zb-h1\nstages: [8\n", "", "bad.yaml:3:1: malformed YAML", 1},
      {"schedule: pipedream-2bw\nstages: 2\nmicrobatches: 2\n" + times, "",
       "bad.yaml:1:11: schedule: must be one of gpipe, 1f1b, interleaved-1f1b, looped-bfs, zb-h1, zb-h2, interleaved-zb, "
       "zb-v, dualpipe, dualpipe-v, v-half, v-min, zb-auto, custom, stream (got 'pipedream-2bw')", 1},
      {"schedule: 1f1b\nstages: 0\nmicrobatches: 2\n" + times, "", "bad.yaml:2:9: stages: must be a positive integer (got '0')", 1},
      {"schedule: 1f1b\nstages: 2\nmicrobatches: 2\ntimes:\n  forward: 1 parsec\n  backward_input: 1ms\n  backward_weight: 1ms\n",
       "", "unknown unit 'parsec'", 1},
      {"schedule: custom\nstages: 2\nmicrobatches: 2\norder_csv: o.csv\n" + times, "0F0,0B0,0F1,0B1\n1F0,1B0,1F1,1B1\n1F0\n",
       "o.csv:3: more rows than stages", 1},
      {"schedule: custom\nstages: 2\nmicrobatches: 2\norder_csv: o.csv\n" + times, "0F0,0B0,0F1,0B1\n1F0,1F1,1B0,1B1\n",
       "rank 0 is blocked at step 1 (0B0 on rank 0), waiting for 1B0 on rank 1", 3},
      {"schedule: interleaved-1f1b\nstages: 4\nmicrobatches: 9\nchunks: 2\n" + times, "", "must be a multiple of 2 (microbatches: 9, stages: 4)", 1},
  };
  for (const auto& c : cases) {
    std::ofstream(dir / "bad.yaml") << c.yaml;
    if (!c.csv.empty()) std::ofstream(dir / "o.csv") << c.csv;
    const std::string out_json = (dir / "out.json").string();
    const CliRun r = run("simulate " + (dir / "bad.yaml").string() + " --json " + out_json + " --trace " +
                      (dir / "out.trace").string());
    EXPECT_EQ(r.exit_code, c.code) << c.yaml << r.out;
    EXPECT_NE(r.out.find(c.needle), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out_json)) << "partial output left behind for:\n" << c.yaml;
    EXPECT_FALSE(fs::exists(dir / "out.trace"));
  }
  const CliRun missing = run("simulate " + (dir / "nope.yaml").string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("nope.yaml: cannot open the file"), std::string::npos);
  const CliRun flag = run("simulate --frobnicate");
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.out.find("frobnicate"), std::string::npos);
  const CliRun cmd = run("simulte");
  EXPECT_EQ(cmd.exit_code, 2);
  EXPECT_NE(cmd.out.find("unknown command 'simulte'"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
