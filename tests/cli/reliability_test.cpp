// Issue 9: the calibrate -> measure --compare loop on a saved profile, exit codes per outcome, no
// abort and no partial output on an internal error, deadlines instead of hangs, and refusals of
// what cannot fit before anything is allocated.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tests/cli_run.h"

namespace ppsim::test {
namespace {

namespace fs = std::filesystem;

const char* kModelKeys = "model: tiny\nprofile: prof.yaml\nmicro_batch_size: 1\nsequence_length: 32\ndtype: fp32\n";

// Calibrate once (one core), then run every schedule for real against that saved profile.
TEST(Reliability, CalibrateThenMeasureCompareWithTheSavedProfile) {
  const fs::path dir = scratch_dir("loop");
  const CliRun cal = run_ppsim("calibrate --device cpu --model tiny --micro-batch-size 1 --sequence-length 32 "
                               "--dtype fp32 --repeats 2 --no-transfers --out " + (dir / "prof.yaml").string());
  ASSERT_EQ(cal.code, 0) << cal.out;
  struct Case {
    const char* schedule;
    int chunks;
    const char* partition;
  };
  for (const Case& c : {Case{"gpipe", 1, "auto"}, Case{"1f1b", 1, "auto"}, Case{"zb-h1", 1, "[4, 4]"},
                        Case{"zb-h2", 1, "auto"}, Case{"interleaved-1f1b", 2, "[2, 2, 2, 2]"}}) {
    SCOPED_TRACE(c.schedule);
    std::ofstream(dir / "c.yaml") << "schedule: " << c.schedule << "\nstages: 2\nmicrobatches: 4\nchunks: " << c.chunks
                                  << "\n" << kModelKeys << "partition: " << c.partition << "\n";
    const fs::path json = dir / "o.json";
    fs::remove(json);
    const CliRun r = run_ppsim("measure " + (dir / "c.yaml").string() + " --device cpu --compare --iterations 1 "
                               "--warmup 0 --json " + json.string());
    ASSERT_EQ(r.code, 0) << r.out;
    const YAML::Node j = YAML::LoadFile(json.string());
    const double err = j["throughput_error_pct"].as<double>();
    EXPECT_TRUE(std::isfinite(err)) << err;
    // A profile of one core gives both ranks' op times, and the report says so.
    const YAML::Node by_rank = j["predicted"]["timings_by_rank"];
    ASSERT_EQ(by_rank.size(), 2u);
    for (const auto& t : by_rank)
      EXPECT_EQ(t.as<std::string>(), "profile " + (dir / "prof.yaml").string() + " (cpu, one device): every rank's op times");
    EXPECT_NE(r.out.find("prediction's op times by rank:\n  rank 0: profile "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  rank 1: profile "), std::string::npos) << r.out;
  }
  fs::remove_all(dir);
}

TEST(Reliability, InternalErrorsGetTheirOwnCodeAndNoOutputFile) {
  const fs::path dir = scratch_dir("internal");
  for (const std::string command : {"simulate", "measure", "calibrate", "compare"}) {
    SCOPED_TRACE(command);
    const fs::path out = dir / "x.json";
    std::string args = command;
    if (command == "simulate") args += " --json " + out.string();
    if (command == "measure") args += " " + std::string(PPSIM_SOURCE_DIR) + "/examples/measure-tiny-1f1b.yaml --json " + out.string();
    if (command == "calibrate") args += " --device cpu --out " + out.string();
    if (command == "compare") args += " a.json b.json";
    const CliRun r = run_ppsim(args, "PPSIM_DEBUG_INTERNAL_ERROR=" + command);
    EXPECT_EQ(r.code, 70) << r.out;
    EXPECT_NE(r.out.find("ppsim " + command + ": internal error: injected by PPSIM_DEBUG_INTERNAL_ERROR=" + command +
                         " (std::logic_error)"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("This is a bug in ppsim"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Please report it"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out));
  }
  fs::remove_all(dir);
}

// Boost.Program_options' what() replaces %placeholders% until none is left: an argument holding one
// used to hang the command (fuzz_command_line, tests/fuzz/regressions/command_line).
TEST(Reliability, APlaceholderInAnArgumentIsAUsageErrorNotAHang) {
  const std::string config = std::string(PPSIM_SOURCE_DIR) + "/examples/1f1b.yaml";
  CliRun r = run_ppsim("simulate " + config + " --x%canonical_option%", "timeout 30");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("ppsim simulate: unrecognised option '--x%canonical_option%'"), std::string::npos) << r.out;
  r = run_ppsim("simulate " + config + " --width %value%x", "timeout 30");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("ppsim simulate: the option '--width' or its value is invalid"), std::string::npos) << r.out;
  // Without a placeholder, Boost's own message.
  r = run_ppsim("simulate " + config + " --width %x", "timeout 30");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("the argument ('%x') for option '--width' is invalid"), std::string::npos) << r.out;
}

// A folder where a report belongs is bad input, not an internal error (fuzz_command_line: yaml-cpp's
// LoadFile threw from inside its stream and leaked its buffer).
TEST(Reliability, AFolderGivenAsAFileIsBadInput) {
  const fs::path dir = scratch_dir("folder");
  for (const std::string& args : {"compare " + dir.string() + " " + dir.string(), "simulate " + dir.string()}) {
    const CliRun r = run_ppsim(args);
    EXPECT_EQ(r.code, 1) << args << ": " << r.out;
    EXPECT_NE(r.out.find(dir.string() + ": cannot read it: not a regular file"), std::string::npos) << args << ": " << r.out;
  }
  fs::remove_all(dir);
}

// A timeline row is `--width` characters: a huge width was refused only by the allocator
// (fuzz_command_line). Now a usage error before anything runs; COLUMNS is clamped the same way.
TEST(Reliability, ATimelineWiderThanTenThousandColumnsIsRefused) {
  const std::string config = std::string(PPSIM_SOURCE_DIR) + "/examples/1f1b.yaml";
  const CliRun r = run_ppsim("simulate " + config + " --timeline --width 44444448");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("ppsim simulate: --width: at most 10000 columns (got 44444448)"), std::string::npos) << r.out;
  const CliRun wide = run_ppsim("simulate " + config + " --timeline", "COLUMNS=44444448");
  EXPECT_EQ(wide.code, 0) << wide.out;
  EXPECT_LT(wide.out.size(), 200'000u);  // 4 rank rows of at most 10,000 columns, and the report
}

TEST(Reliability, HelpListsTheExitCodes) {
  for (const std::string args : {"--help", "simulate --help", "measure --help", "calibrate --help", "compare --help"}) {
    const CliRun r = run_ppsim(args);
    EXPECT_EQ(r.code, 0) << args;
    for (const char* line : {"  0   success", "  1   bad input", "  2   usage", "  3   the schedule would deadlock",
                             "  4   too large", "  5   a measured run failed", "  70  internal error"})
      EXPECT_NE(r.out.find(line), std::string::npos) << args << ": " << line;
  }
}

// The 3D-parallel keys are explained where a user looks first (issue 12).
TEST(Reliability, SimulateHelpExplainsTheParallelismKeys) {
  const CliRun r = run_ppsim("simulate --help");
  for (const char* key : {"tensor_parallel", "sequence_parallel", "data_parallel", "zero (0-3", "global_batch_size",
                          "placement", "grad_reduce_overlap", "iteration_time_ns", "examples/llama3-70b-64-h100.yaml"})
    EXPECT_NE(r.out.find(key), std::string::npos) << key;
}

// A worker that never sends: its peer's wait hits the deadline, the run stops with code 5 and says
// which rank waited at which op for what; nothing is written.
TEST(Reliability, AStalledRankEndsAtTheDeadlineNamingTheRankAndTheOp) {
  const fs::path dir = scratch_dir("stall");
  const CliRun r = run_ppsim("measure " + std::string(PPSIM_SOURCE_DIR) + "/examples/measure-tiny-1f1b.yaml "
                             "--iterations 1 --warmup 0 --timeout 0.5 --debug-stall-rank 0 --json " +
                             (dir / "x.json").string());
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("ppsim measure: the run failed: measure --device cpu: rank 1 waited 500.000 ms at 1F0 on rank 1 "
                       "for the activation from 0F0 on rank 0 and gave up (--timeout); the ranks were stopped"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(dir / "x.json"));
  // The same run without the fault finishes.
  EXPECT_EQ(run_ppsim("measure " + std::string(PPSIM_SOURCE_DIR) + "/examples/measure-tiny-1f1b.yaml "
                      "--iterations 1 --warmup 0 --timeout 30 --virtual-clock").code, 0);
  fs::remove_all(dir);
}

TEST(Reliability, RefusesWhatCannotFitBeforeAllocating) {
  const fs::path dir = scratch_dir("refuse");
  // 8.6 G compute ops: past 32-bit op ids, refused at once with the counts and bytes named.
  std::ofstream(dir / "huge.yaml") << "schedule: zb-h1\nstages: 65536\nmicrobatches: 65536\n"
                                      "times: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms, transfer: 0.1ms}\n";
  CliRun r = run_ppsim("simulate " + (dir / "huge.yaml").string() + " --json " + (dir / "x.json").string());
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("schedule zb-h1 with P = 65536, M = 65536, V = 1 has 12.9 G compute ops + 8.59 G transfers = "
                       "21.5 G ops, more than the 4.29 G a 32-bit op id can number (it would need about 3.13 TiB)"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(dir / "x.json"));
  // Within op ids but over the memory limit: the bytes, the limit and the flag that raises it.
  std::ofstream(dir / "big.yaml") << "schedule: 1f1b\nstages: 512\nmicrobatches: 4096\n"
                                     "times: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms, transfer: 0.1ms}\n";
  r = run_ppsim("simulate " + (dir / "big.yaml").string() + " --max-memory 1GiB");
  EXPECT_EQ(r.code, 4) << r.out;
  // 512 * 4096 * 2 compute ops + 2 * 511 * 4096 transfers = 8.38 M ops at 160 B + 64 MiB.
  EXPECT_NE(r.out.find("has 4.19 M compute ops + 4.19 M transfers = 8.38 M ops and needs about 1.31 GiB of memory, "
                       "but 1.00 GiB is available to it; lower stages, microbatches or chunks, or raise the limit with "
                       "--max-memory"),
            std::string::npos)
      << r.out;
  // A measured run whose layers do not fit, and a calibration.
  std::ofstream(dir / "m.yaml") << "schedule: 1f1b\nstages: 2\nmicrobatches: 4\nmodel: llama3-8b\nsequence_length: 2048\n";
  r = run_ppsim("measure " + (dir / "m.yaml").string() + " --max-memory 8GiB");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("running model 'llama3-8b' on the CPU holds every stage's layers"), std::string::npos) << r.out;
  r = run_ppsim("calibrate --device cpu --model llama3-70b --sequence-length 4096 --max-memory 8GiB --out " +
                (dir / "p.yaml").string());
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("calibrating model 'llama3-70b' (micro-batch 1 x sequence 4096) holds its embedding"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(dir / "p.yaml"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ppsim::test
