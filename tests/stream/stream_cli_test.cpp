// schedule: stream end to end through the ppsim binary: every stream example runs with checked
// figures, the report formats work, and bad input exits 1 with no output file.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <optional>

#include "cli_run.h"

namespace ppsim::test {
namespace {

namespace fs = std::filesystem;
const std::string kSource = PPSIM_SOURCE_DIR;

struct StreamExpected {
  double throughput_items_per_s;
  std::optional<long long> p50, p99;  // absent: unstable, no latency reported
  double tolerance;                   // on the throughput
};

// The video pair is exact: one frame in flight runs at 1 / (10 + 10 ms), two at 1 / 10 ms, the
// latency 20 ms either way. The serving runs are seeded regression figures; their throughput is the
// arrival rate within its Monte-Carlo error (about 1 % at 20,000 Poisson arrivals, 4 sigma), and
// the unstable run serves at its bottleneck's 200 items/s.
const std::map<std::string, StreamExpected> kStreamExamples = {
    {"stream-video-1.yaml", {50.0, 20'000'000, 20'000'000, 1e-9}},
    {"stream-video-2.yaml", {100.0, 20'000'000, 20'000'000, 1e-9}},
    {"stream-serving-load-50.yaml", {100.0, 18'614'394, 37'536'670, 3.0}},
    {"stream-serving-load-80.yaml", {160.0, 25'213'555, 74'301'813, 4.0}},
    {"stream-serving-load-95.yaml", {1e9 / 5.25e6, 62'728'136, 261'773'968, 5.0}},
    {"stream-unstable.yaml", {200.0, std::nullopt, std::nullopt, 0.1}},
    // Batching makes the over-capacity load (1.2 one at a time) stable: it serves the arrival rate.
    {"stream-batch.yaml", {200.0, 19'047'086, 40'472'385, 4.0}},
    // Stage times from the cost model (Llama-3 8B, 4 x H100), Poisson at 40 requests/s.
    {"stream-llama3-8b-serving.yaml", {40.0, 79'990'419, 175'166'813, 0.8}},
};

TEST(StreamCli, EveryStreamExampleRunsWithCheckedFigures) {
  int seen = 0;
  for (const auto& e : fs::directory_iterator(kSource + "/examples")) {
    if (e.path().extension() != ".yaml" || read_text(e.path()).find("\nschedule: stream") == std::string::npos) continue;
    const std::string name = e.path().filename().string();
    const auto it = kStreamExamples.find(name);
    ASSERT_NE(it, kStreamExamples.end()) << "examples/" << name << " has no checked figures in stream_cli_test.cpp";
    const fs::path dir = scratch_dir("stream_ex");
    const CliRun r = run_ppsim("simulate " + e.path().string() + " --json " + (dir / "r.json").string());
    ASSERT_EQ(r.code, 0) << name << "\n" << r.out;
    const YAML::Node j = YAML::LoadFile((dir / "r.json").string());
    EXPECT_NEAR(j["throughput_items_per_s"].as<double>(), it->second.throughput_items_per_s, it->second.tolerance) << name;
    if (it->second.p50) {
      EXPECT_EQ(j["latency_ns"]["p50"].as<long long>(), *it->second.p50) << name;
      EXPECT_EQ(j["latency_ns"]["p99"].as<long long>(), *it->second.p99) << name;
    } else {
      EXPECT_FALSE(j["latency_ns"]) << name;
      EXPECT_FALSE(j["stable"].as<bool>()) << name;
      EXPECT_NE(r.out.find("UNSTABLE"), std::string::npos) << r.out;
    }
    ++seen;
    fs::remove_all(dir);
  }
  EXPECT_EQ(seen, static_cast<int>(kStreamExamples.size()));
}

TEST(StreamCli, ReportsAndContractKeys) {
  const fs::path dir = scratch_dir("stream_formats");
  const std::string json = (dir / "r.json").string(), trace = (dir / "t.json").string(), svg = (dir / "t.svg").string();
  const CliRun r = run_ppsim("simulate " + kSource + "/examples/stream-video-1.yaml --json " + json + " --trace " +
                             trace + " --svg " + svg + " --timeline --width 100");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("bottleneck: stage 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("this run is latency-bound: max_outstanding 1 < N* = 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stage 1:"), std::string::npos) << r.out;  // the ASCII timeline
  const YAML::Node j = YAML::LoadFile(json);
  for (const char* k : {"throughput_items_per_s", "latency_ns", "mean_in_system", "bottleneck_stage",
                        "saturating_in_flight", "bound", "stages"})
    EXPECT_TRUE(j[k]) << k;
  for (const char* k : {"mean", "p50", "p90", "p99", "max"}) EXPECT_TRUE(j["latency_ns"][k]) << k;
  ASSERT_EQ(j["stages"].size(), 2u);
  for (const char* k : {"utilization", "mean_queue_length", "max_queue_length", "blocked_fraction", "mean_in_system"})
    EXPECT_TRUE(j["stages"][1][k]) << k;
  EXPECT_DOUBLE_EQ(j["stages"][1]["utilization"].as<double>(), 0.5);  // the 50 % bubble
  EXPECT_EQ(j["bound"].as<std::string>(), "latency");
  // One trace event per item and stage (1010 items; the next one admitted is still in service).
  const YAML::Node t = YAML::LoadFile(trace);
  int ops = 0;
  for (const auto& e : t["traceEvents"]) ops += e["ph"].as<std::string>() == "X";
  EXPECT_GE(ops, 2 * 1010);
  const std::string picture = read_text(svg);
  EXPECT_NE(picture.find("items waiting in front of each stage"), std::string::npos);
  EXPECT_NE(picture.find("<polyline"), std::string::npos);
  fs::remove_all(dir);
}

TEST(StreamCli, OpenLoopReportsTimeToFirstItem) {
  const fs::path dir = scratch_dir("stream_open");
  const CliRun r = run_ppsim("simulate " + kSource + "/examples/stream-serving-load-50.yaml -q --json " + (dir / "r.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const YAML::Node j = YAML::LoadFile((dir / "r.json").string());
  EXPECT_TRUE(j["stable"].as<bool>());
  EXPECT_GT(j["ttff_ns"].as<long long>(), 0);
  EXPECT_NEAR(j["offered_load"].as<double>(), 0.5, 1e-12);
  fs::remove_all(dir);
}

// The training example with 5 % lognormal jitter: 200 replays around the deterministic 251 ms.
TEST(StreamCli, JitteredTrainingExample) {
  const fs::path dir = scratch_dir("jitter_ex");
  const CliRun r = run_ppsim("simulate " + kSource + "/examples/jitter-zb-h1.yaml --json " + (dir / "r.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("jitter: lognormal (cv 0.05); 200 replications (seed 1)"), std::string::npos) << r.out;
  const YAML::Node j = YAML::LoadFile((dir / "r.json").string())["jitter"];
  ASSERT_TRUE(j);
  EXPECT_EQ(j["deterministic_makespan_ns"].as<long long>(), 251'000'000);
  const double mean = j["makespan_ns"]["mean"].as<double>();
  // Jensen: longer on average; with cv 0.05 on ops of 5-10 ms, by a few percent at most.
  EXPECT_GT(mean, 251e6);
  EXPECT_LT(mean, 251e6 * 1.05);
  EXPECT_GE(j["makespan_ns"]["p99"].as<long long>(), j["makespan_ns"]["p50"].as<long long>());
  EXPECT_EQ(j["ranks"].size(), 4u);
  EXPECT_EQ(j["top_ops"].size(), 5u);
  fs::remove_all(dir);
}

// distribution: profile on a model-driven config: ops drawn from the profile's block spread.
TEST(StreamCli, ProfileJitterEndToEnd) {
  const fs::path dir = scratch_dir("profile_jitter");
  {
    std::ofstream f(dir / "c.yaml");
    f << "schedule: 1f1b\nstages: 2\nmicrobatches: 8\nmodel: tiny\nhardware: h100-sxm\nmicro_batch_size: 1\n"
         "sequence_length: 16\nprofile: " << kSource << "/tests/fuzz/corpus/profile/tiny-cpu.yaml\n"
         "jitter: {distribution: profile}\nreplications: 50\n";
  }
  const CliRun r = run_ppsim("simulate " + (dir / "c.yaml").string() + " --json " + (dir / "r.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("jitter: profile (each op from the profile's p10 / median / p90"), std::string::npos) << r.out;
  const YAML::Node j = YAML::LoadFile((dir / "r.json").string())["jitter"];
  EXPECT_EQ(j["distribution"].as<std::string>(), "profile");
  EXPECT_EQ(j["replications"].as<int>(), 50);
  EXPECT_GE(j["makespan_ns"]["max"].as<long long>(), j["makespan_ns"]["p50"].as<long long>());
  fs::remove_all(dir);
}

TEST(StreamCli, BadInputExitsOneWithNoOutputFile) {
  const fs::path dir = scratch_dir("stream_bad");
  const fs::path yaml = dir / "s.yaml", json = dir / "r.json";
  {
    std::ofstream f(yaml);
    f << "schedule: stream\nstages: 2\nitems: 10\nmax_outstanding: 0\ntimes:\n  forward: 1ms\n";
  }
  CliRun r = run_ppsim("simulate " + yaml.string() + " --json " + json.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("s.yaml:4:18: max_outstanding: must be"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(json));
  r = run_ppsim("simulate " + kSource + "/examples/stream-video-1.yaml --order-csv " + (dir / "o.csv").string() +
                " --json " + json.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_FALSE(fs::exists(json));
  EXPECT_FALSE(fs::exists(dir / "o.csv"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ppsim::test
