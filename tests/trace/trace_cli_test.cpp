// `ppsim trace` end to end, as a user runs it: the loop record -> import -> what-if on a simulated
// job written as traces (the profile it writes makes `ppsim simulate` reproduce the traced run and
// predict another schedule exactly), the outputs, the errors (exit 1, no output file), and a large
// trace read in bounded memory.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <fstream>

#include "cli_run.h"
#include "models/profile.h"
#include "schedules/registry.h"
#include "synthetic_trace.h"

namespace ppsim {
namespace {

namespace fs = std::filesystem;
using test::run_ppsim;

// Stage s: F = 1000 + 100 s us, B = 1100 + 50 s, W = 600; hops 150 us.
OpCosts costs_for(int stages) {
  OpCosts c;
  for (int s = 0; s < stages; ++s) {
    c.forward.push_back((1000 + 100 * s) * 1000);
    c.backward_input.push_back((1100 + 50 * s) * 1000);
    c.backward_weight.push_back(600 * 1000);
  }
  c.forward_transfer.assign(static_cast<std::size_t>(stages - 1), 150 * 1000);
  c.backward_transfer = c.forward_transfer;
  return c;
}

void write_traces(const SimulationResult& sim, const fs::path& dir, const test::FromSimulation& how = {}) {
  for (const auto& f : test::trace_of(sim, how))
    test::write_file((dir / ("rank" + std::to_string(f.rank) + ".json.gz")).string(), test::kineto_json(f));
}

const std::string kModel = "model: tiny\nmicro_batch_size: 1\nsequence_length: 32\npartition: [2, 2, 2, 2]\n";

TimeNs makespan_of(const fs::path& json) { return YAML::LoadFile(json.string())["makespan_ns"].as<TimeNs>(); }

TEST(TraceCli, RecordImportWhatIf) {
  const fs::path dir = test::scratch_dir("trace_cli_loop");
  const SimulationResult sim = run_simulation(generate_schedule("zb-h1", {4, 8, 1}), costs_for(4));
  fs::create_directories(dir / "traces");
  write_traces(sim, dir / "traces");
  std::ofstream(dir / "job.yaml") << "schedule: zb-h1\nstages: 4\nmicrobatches: 8\n" << kModel;
  const auto r = run_ppsim("trace " + (dir / "traces").string() + " --schedule-yaml " + (dir / "job.yaml").string() +
                           " --json " + (dir / "t.json").string() + " --trace " + (dir / "t.trace.json").string() +
                           " --svg " + (dir / "t.svg").string() + " --profile-out " + (dir / "p.yaml").string() + " -q");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ppsim trace: 4 ranks, ProfilerStep#3, Fake GPU"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("profile written to " + (dir / "p.yaml").string()), std::string::npos);
  EXPECT_NE(r.out.find("makespan            31.350 ms"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error +0.00 %"), std::string::npos) << r.out;
  // The JSON: the traced run under "measured" (the simulator's contract keys), its reproduction
  // under "predicted", the comparison at the top, as `ppsim measure --compare` writes them.
  const YAML::Node j = YAML::LoadFile((dir / "t.json").string());
  EXPECT_EQ(j["measured"]["makespan_ns"].as<TimeNs>(), sim.metrics.makespan_ns);
  EXPECT_EQ(j["measured"]["bubble_fraction"].as<double>(), sim.metrics.bubble_fraction);
  EXPECT_EQ(j["predicted_makespan_ns"].as<TimeNs>(), sim.metrics.makespan_ns);
  EXPECT_EQ(j["makespan_error_pct"].as<double>(), 0.0);
  // ... so `ppsim compare` takes it, and any prediction of the same schedule beside it.
  const auto c = run_ppsim("compare " + (dir / "t.json").string() + " " + (dir / "t.json").string());
  EXPECT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("error +0.00 %"), std::string::npos) << c.out;
  EXPECT_EQ(j["gpu"]["ranks"].size(), 4u);
  EXPECT_EQ(j["ranks"][1]["clock_method"].as<std::string>(), "nccl send/recv pairs with rank 0");
  EXPECT_NE(test::read_text(dir / "t.trace.json").find("\"traceEvents\""), std::string::npos);
  EXPECT_NE(test::read_text(dir / "t.svg").find("<svg"), std::string::npos);

  // The profile: the traced stage times as measured, the traced partition, the measured hops.
  const Profile p = load_profile((dir / "p.yaml").string());
  ASSERT_TRUE(p.stage_times);
  EXPECT_EQ(p.stage_times->layers_per_stage, (std::vector<int>{2, 2, 2, 2}));
  EXPECT_EQ(p.stage_times->backward_split, "measured");
  for (int s = 0; s < 4; ++s) {
    EXPECT_EQ(p.stage_times->stages[s].forward.mean_ns, (1000 + 100 * s) * 1000);
    EXPECT_EQ(p.stage_times->stages[s].backward_input.mean_ns, (1100 + 50 * s) * 1000);
    EXPECT_EQ(p.stage_times->stages[s].backward_weight.mean_ns, 600 * 1000);
    EXPECT_EQ(p.stage_times->stages[s].samples, 8);
  }
  ASSERT_EQ(p.stage_times->hops.size(), 3u);
  EXPECT_EQ(p.stage_times->hops[2].median_ns, 150 * 1000);
  EXPECT_EQ(p.stage_times->hops[2].samples, 16);
  EXPECT_EQ(p.device.name, "Fake GPU");

  // What-if: `ppsim simulate` with the profile reproduces the traced run, and predicts 1F1B and
  // ZB-H2 on the same job as the simulator does from the same op times.
  auto simulate = [&](const std::string& schedule) {
    std::ofstream(dir / "whatif.yaml") << "schedule: " << schedule << "\nstages: 4\nmicrobatches: 8\n" << kModel
                                       << "profile: p.yaml\n";
    const auto s = run_ppsim("simulate " + (dir / "whatif.yaml").string() + " --json " + (dir / "w.json").string());
    EXPECT_EQ(s.code, 0) << s.out;
    EXPECT_NE(s.out.find("stage times measured per stage"), std::string::npos) << s.out;
    return makespan_of(dir / "w.json");
  };
  EXPECT_EQ(simulate("zb-h1"), sim.metrics.makespan_ns);
  for (const char* other : {"1f1b", "zb-h2"})
    EXPECT_EQ(simulate(other), run_simulation(generate_schedule(other, {4, 8, 1}), costs_for(4)).metrics.makespan_ns) << other;
  fs::remove_all(dir);
}

// A fused backward (1F1B's) is split into B and W in the ratio of the model's FLOPs.
TEST(TraceCli, FusedBackwardSplitByFlops) {
  const fs::path dir = test::scratch_dir("trace_cli_fused");
  const SimulationResult sim = run_simulation(generate_schedule("1f1b", {4, 8, 1}), costs_for(4));
  write_traces(sim, dir);
  std::ofstream(dir / "job.yaml") << "schedule: 1f1b\nstages: 4\nmicrobatches: 8\n" << kModel;
  const auto r = run_ppsim("trace " + dir.string() + " --schedule-yaml " + (dir / "job.yaml").string() +
                           " --profile-out " + (dir / "p.yaml").string() + " -q");
  ASSERT_EQ(r.code, 0) << r.out;
  const Profile p = load_profile((dir / "p.yaml").string());
  EXPECT_EQ(p.stage_times->backward_split, "flops");
  for (int s = 0; s < 4; ++s) {
    const StageTiming& st = p.stage_times->stages[s];
    EXPECT_EQ(st.backward_input.mean_ns + st.backward_weight.mean_ns, (1100 + 50 * s + 600) * 1000) << s;
    EXPECT_GT(st.backward_weight.mean_ns, 0);
    EXPECT_GT(st.backward_input.mean_ns, st.backward_weight.mean_ns);
  }
  fs::remove_all(dir);
}

TEST(TraceCli, UserPatterns) {
  const fs::path dir = test::scratch_dir("trace_cli_patterns");
  test::FakeRank r;
  r.rank = 0, r.world_size = 1;
  test::FakeKernel a, b;
  a.start = 0, a.end = 1'000'000, a.launch = -20'000;
  b.start = 1'200'000, b.end = 3'000'000, b.launch = -10'000;
  r.kernels = {a, b};
  r.ranges = {{"ProfilerStep#0", -100'000, 100'000}, {"my fwd 0", -25'000, -15'000}, {"my bwd 0", -15'000, -5'000}};
  test::write_file((dir / "t.json").string(), test::kineto_json(r));
  std::ofstream(dir / "p.yaml") << "'^my fwd (?<microbatch>\\d+)$': F\n'^my bwd (?<microbatch>\\d+)$': BW\n";
  const auto out = run_ppsim("trace " + (dir / "t.json").string() + " --patterns " + (dir / "p.yaml").string() + " -q");
  ASSERT_EQ(out.code, 0) << out.out;
  EXPECT_NE(out.out.find("rank 0: 2 ops (BW: 1, F: 1)"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("makespan            3.000 ms"), std::string::npos) << out.out;
  fs::remove_all(dir);
}

TEST(TraceCli, HelpListsTheCommandAndItsFlags) {
  const auto top = run_ppsim("--help");
  EXPECT_EQ(top.code, 0);
  EXPECT_NE(top.out.find("trace DIR_OR_FILES..."), std::string::npos) << top.out;
  const auto help = run_ppsim("trace --help");
  EXPECT_EQ(help.code, 0);
  for (const char* flag : {"--schedule-yaml", "--json", "--trace", "--svg", "--profile-out", "--patterns", "--step"})
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
}

TEST(TraceCli, ErrorsExitOneAndWriteNothing) {
  const fs::path dir = test::scratch_dir("trace_cli_errors");
  const std::string hta = std::string(PPSIM_SOURCE_DIR) + "/tests/data/hta-sampled-ranks";
  const std::string json = (dir / "out.json").string();
  auto fails = [&](const std::string& args, int code, const std::string& expected) {
    const auto r = run_ppsim("trace " + args + " --json " + json + " -q");
    EXPECT_EQ(r.code, code) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(expected), std::string::npos) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(json)) << args;
  };
  fails("", 2, "at least one trace file or directory is required");
  fails(hta + " --svg " + (dir / "t.svg").string(), 1, "--svg needs the pipeline ops, and no annotation in these traces names one");
  fails(hta + " --profile-out " + (dir / "p.yaml").string(), 1, "--profile-out needs --schedule-yaml with 'model:'");
  fails(hta + " --step 9", 1, "--step 9: this trace has ProfilerStep#551, 552 only");
  fails((dir / "missing").string(), 1, "missing: no such file or directory");
  // Two traces of one rank; traces that do not say their rank.
  const std::string one = hta + "/sampled_rank-0.json.gz";
  fs::copy_file(one, dir / "copy.json.gz");
  fails(one + " " + (dir / "copy.json.gz").string(), 1, "are both rank 0 (one trace per rank)");
  test::FakeRank nameless;
  test::FakeKernel k;
  k.start = 0, k.end = 10;
  nameless.kernels = {k};
  test::write_file((dir / "a.json").string(), test::kineto_json(nameless));
  test::write_file((dir / "b.json").string(), test::kineto_json(nameless));
  fails((dir / "a.json").string() + " " + (dir / "b.json").string(), 1, "a.json: cannot tell which rank this trace is");
  // A truncated trace: the file and the byte.
  const std::string text = test::kineto_json(nameless);
  std::ofstream(dir / "cut.json") << text.substr(0, 300);
  fails((dir / "cut.json").string(), 1, "cut.json: byte 300: the JSON ends early");
  fs::remove_all(dir);
}

// A trace of ~100 MB, nearly all CPU ops with their argument lists, goes through in bounded memory:
// ppsim's peak resident set stays within a few MB of what a tiny trace takes.
TEST(TraceCli, LargeTraceInBoundedMemory) {
  const fs::path dir = test::scratch_dir("trace_cli_large");
  const std::size_t bytes = test::write_large_trace((dir / "big.json").string(), 400'000, 50);
  ASSERT_GT(bytes, 100'000'000u);
  // The peak of one child, measured in a child of our own so no other test's runs count.
  auto peak_kb = [&](const std::string& args) {
    int pipe_fd[2];
    if (::pipe(pipe_fd) != 0) return -1L;
    const pid_t pid = ::fork();
    if (pid == 0) {
      const auto r = run_ppsim(args);
      rusage u{};
      ::getrusage(RUSAGE_CHILDREN, &u);
      const long kb = r.code == 0 ? u.ru_maxrss : -1;
      if (::write(pipe_fd[1], &kb, sizeof kb) != sizeof kb) ::_exit(1);
      ::_exit(0);
    }
    long kb = -1;
    if (::read(pipe_fd[0], &kb, sizeof kb) != sizeof kb) kb = -1;
    ::waitpid(pid, nullptr, 0);
    ::close(pipe_fd[0]);
    ::close(pipe_fd[1]);
    return kb;
  };
  const long small = peak_kb("trace " + std::string(PPSIM_SOURCE_DIR) + "/tests/data/hta-sampled-ranks/sampled_rank-0.json.gz -q");
  const long large = peak_kb("trace " + (dir / "big.json").string() + " -q --json " + (dir / "big.out.json").string());
  ASSERT_GT(small, 0);
  ASSERT_GT(large, 0);
  EXPECT_LT(large, small + 16 * 1024) << "peak " << large << " KB for " << bytes << " bytes, " << small << " KB for a small trace";
  const YAML::Node j = YAML::LoadFile((dir / "big.out.json").string());
  EXPECT_EQ(j["ranks"][0]["json_bytes"].as<std::size_t>(), bytes);
  EXPECT_EQ(j["ranks"][0]["gpu_events"].as<std::size_t>(), 8000u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ppsim
