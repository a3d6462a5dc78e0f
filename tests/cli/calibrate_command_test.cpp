// `ppsim calibrate` through its entry point: a CPU run writes a loadable profile; errors exit
// non-zero and leave no file behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "models/profile.h"
#include "cli/commands.h"

namespace ppsim {
namespace {

int run(std::vector<std::string> args) {
  args.insert(args.begin(), "calibrate");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::run_calibrate(static_cast<int>(argv.size()), argv.data());
}

std::string temp_path(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove(p);
  return p.string();
}

TEST(CalibrateCommand, CpuRunWritesProfile) {
  const auto out = temp_path("ppsim_cli_profile.yaml");
  testing::internal::CaptureStdout();
  const int rc = run({"--device", "cpu", "--model", "tiny", "--sequence-length", "32", "--repeats", "2", "--out", out});
  const std::string stdout_text = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0);
  EXPECT_NE(stdout_text.find("backward_weight"), std::string::npos);
  EXPECT_NE(stdout_text.find("wrote " + out), std::string::npos);
  const Profile p = load_profile(out);
  EXPECT_EQ(p.device.kind, "cpu");
  EXPECT_EQ(p.sequence_length, 32);
  EXPECT_EQ(p.repeats, 2);
  EXPECT_EQ(p.requested_dtype, "bf16");
  EXPECT_GT(p.calibration_wall_s, 0.0);  // the run's wall time, also printed
  EXPECT_NE(stdout_text.find("wall time: "), std::string::npos) << stdout_text;
  std::filesystem::remove(out);
}

TEST(CalibrateCommand, ErrorsLeaveNoFile) {
  const auto out = temp_path("ppsim_cli_bad.yaml");
  testing::internal::CaptureStderr();
  EXPECT_NE(run({"--device", "cpu", "--model", "no-such-model", "--out", out}), 0);
  EXPECT_NE(run({"--device", "tpu", "--out", out}), 0);
  EXPECT_NE(run({"--device", "cpu", "--dtype", "int8", "--out", out}), 0);
  EXPECT_NE(run({"--device", "cpu", "--repeats", "-3", "--out", out}), 0);
  EXPECT_NE(run({"--device", "cpu", "--no-such-flag"}), 0);
  EXPECT_NE(run({"--device", "cpu", "--gpus", "0,x", "--out", out}), 0);
  EXPECT_NE(run({"--device", "cpu", "--sms", "8", "--out", out}), 0);  // SM partitions are a GPU's
  EXPECT_NE(run({"--device", "cpu", "--sms", "-8", "--out", out}), 0);
  EXPECT_NE(run({"--device", "cpu", "--partitions", "2", "--out", out}), 0);  // needs --sms
  EXPECT_NE(run({"--device", "cpu", "--sms", "1/2", "--out", out}), 0);      // a GPU's too
  EXPECT_NE(run({"--device", "cuda", "--sms", "1/0", "--out", out}), 0);     // malformed, before any GPU is asked
  EXPECT_NE(run({"--device", "cuda", "--sms", "1/x", "--out", out}), 0);
  EXPECT_NE(run({"--device", "cuda", "--sms", "64x", "--out", out}), 0);
  EXPECT_NE(run({"--device", "cuda", "--attention", "flash3", "--out", out}), 0);
  EXPECT_NE(run({"--device", "cpu", "--attention", "own", "--out", out}), 0);  // the GPU's attention kernels
  EXPECT_NE(run({"--device", "cpu", "--sequence-length", "16", "--repeats", "1", "--out", "/nonexistent/dir/p.yaml"}),
            0);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("no-such-model"), std::string::npos) << err;
  EXPECT_NE(err.find("int8"), std::string::npos) << err;
  EXPECT_NE(err.find("--sms: '1/x'"), std::string::npos) << err;
  EXPECT_NE(err.find("--attention: 'flash3' (expected cudnn or own)"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(CalibrateCommand, HelpExitsZero) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("--micro-batch-size"), std::string::npos);
}

}  // namespace
}  // namespace ppsim
