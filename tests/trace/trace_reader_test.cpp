// Reading one rank's trace: exact timestamps, plain and .gz alike, only what matters kept, the
// rank from distributedInfo or the file name, and errors that name the file and the byte offset.
// Then the name patterns, and ops built from parts (DeepSeek's style) and from a backward whose
// kernels another thread launched.
#include <gtest/gtest.h>

#include <fstream>

#include "base/error.h"
#include "cli_run.h"
#include "measure/trace/op_patterns.h"
#include "measure/trace/rank_files.h"
#include "measure/trace/trace_reader.h"
#include "measure/trace/traced_ops.h"
#include "synthetic_trace.h"

namespace ppsim::trace {
namespace {

namespace fs = std::filesystem;
constexpr TimeNs U = 1000;

TEST(TraceReader, MicrosecondsReadIntoExactNanoseconds) {
  auto read = [](const std::string& s) {
    TimeNs ns = -1;
    return parse_microseconds(s.data(), s.size(), ns) ? ns : -1;
  };
  EXPECT_EQ(read("1700000000123456.789"), 1'700'000'000'123'456'789);  // beyond a double's exact range
  EXPECT_EQ(read("1682725898082228"), 1'682'725'898'082'228'000);
  EXPECT_EQ(read("68.0"), 68'000);
  EXPECT_EQ(read("0.5"), 500);
  EXPECT_EQ(read("1.2345"), 1'235);  // a fourth decimal rounds
  EXPECT_EQ(read("1.2344"), 1'234);
  EXPECT_EQ(read("1e3"), 1'000'000);
  EXPECT_EQ(read("-1"), -1);
  EXPECT_EQ(read("x"), -1);
  EXPECT_EQ(read(""), -1);
}

test::FakeRank small_rank() {
  test::FakeRank r;
  r.rank = 3, r.world_size = 8;
  test::FakeKernel a, b, c, d;
  a.start = 100 * U, a.end = 200 * U;
  b.start = 250 * U, b.end = 300 * U, b.stream = 9, b.name = "Memcpy HtoD (Pageable -> Device)", b.category = "gpu_memcpy";
  c.start = 300 * U, c.end = 400 * U, c.stream = 20, c.name = "ncclKernel_SendRecv_RING_SIMPLE_Sum_int8_t(ncclDevComm*)";
  d.start = 500 * U, d.end = 600 * U, d.stream = 21, d.name = "ncclDevKernel_AllGather_RING_LL(ncclDevComm*, unsigned long)";
  r.kernels = {a, b, c, d};
  r.ranges = {{"ProfilerStep#4", 0, 1000 * U}, {"PP:0F1", 10 * U, 20 * U}, {"not an op", 30 * U, 40 * U}};
  return r;
}

TEST(TraceReader, PlainAndGzipReadAlikeAndKeepOnlyWhatMatters) {
  const fs::path dir = test::scratch_dir("reader");
  const std::string text = test::kineto_json(small_rank());
  test::write_file((dir / "a.json").string(), text);
  test::write_file((dir / "a.json.gz").string(), text);
  const OpPatterns patterns = shipped_patterns();
  for (const std::string name : {"a.json", "a.json.gz"}) {
    const RankTrace t = read_rank_trace((dir / name).string(), patterns);
    EXPECT_EQ(t.rank, 3) << name;
    EXPECT_EQ(t.world_size, 8);
    EXPECT_EQ(t.rank_source, "distributedInfo");
    EXPECT_EQ(t.device_name, "Fake GPU");
    EXPECT_EQ(t.bytes, text.size());
    EXPECT_EQ(t.events, 4u * 3 + 3 + 2);  // per kernel: launch, kernel, flow; three ranges; metadata; cpu op
    ASSERT_EQ(t.gpu.size(), 4u);
    EXPECT_EQ(t.gpu[0].start, test::kBase + 100 * U);
    EXPECT_EQ(t.gpu[0].end, test::kBase + 200 * U);
    EXPECT_EQ(t.gpu[0].cls, GpuClass::Compute);
    EXPECT_EQ(t.gpu[1].cls, GpuClass::Memory);
    EXPECT_EQ(t.gpu[1].stream, 9);
    EXPECT_EQ(t.gpu[2].cls, GpuClass::P2P);
    EXPECT_EQ(t.gpu[3].cls, GpuClass::Collective);
    EXPECT_EQ(t.calls.size(), 4u);
    EXPECT_EQ(t.calls[0].start, test::kBase + 95 * U);
    ASSERT_EQ(t.ranges.size(), 1u);  // "not an op" and the CPU op are dropped
    EXPECT_EQ(t.name_of(t.ranges[0].name), "PP:0F1");
    ASSERT_EQ(t.steps.size(), 1u);
    EXPECT_EQ(t.steps[0].step, 4);
  }
  fs::remove_all(dir);
}

TEST(TraceReader, RankFromTheFileName) {
  EXPECT_EQ(rank_from_file_name("/x/rank3.json"), 3);
  EXPECT_EQ(rank_from_file_name("trace_rank-12.json.gz"), 12);
  EXPECT_EQ(rank_from_file_name("RANK_7_step5.json"), 7);
  EXPECT_EQ(rank_from_file_name("worker_3.json"), 3);
  EXPECT_EQ(rank_from_file_name("worker-4.pt.trace.json.gz"), 4);
  EXPECT_EQ(rank_from_file_name("host_12345.1690000000000.pt.trace.json"), std::nullopt);  // a pid, not a rank
  EXPECT_EQ(rank_from_file_name("trace.json"), std::nullopt);
}

// The message of the InputError reading `text` (written as `name`) throws.
std::string error_reading(const std::string& name, const std::string& text, bool raw = false) {
  const fs::path dir = test::scratch_dir("reader_errors");
  const std::string path = (dir / name).string();
  if (raw) std::ofstream(path, std::ios::binary) << text;
  else test::write_file(path, text);
  std::string message = "(no error)";
  try {
    read_rank_trace(path, shipped_patterns());
  } catch (const InputError& e) {
    message = e.what();
  }
  fs::remove_all(dir);
  return message;
}

TEST(TraceReader, ErrorsNameTheFileAndTheByteOffset) {
  const std::string text = test::kineto_json(small_rank());
  // Cut short (a profiler still writing): where the text ends.
  const std::string cut = text.substr(0, 700);
  std::string e = error_reading("cut.json", cut);
  EXPECT_NE(e.find("cut.json: byte 700: the JSON ends early (truncated trace"), std::string::npos) << e;
  // The same in a .gz: the offset is in the decompressed text.
  e = error_reading("cut.json.gz", cut);
  EXPECT_NE(e.find("cut.json.gz: byte 700 of the decompressed JSON: the JSON ends early"), std::string::npos) << e;
  // Malformed: where the parser stopped.
  std::string bad = text;
  const std::size_t at = bad.find("\"dur\": 0.300");
  bad.replace(at, 6, "\"dur\" ");
  e = error_reading("bad.json", bad);
  EXPECT_NE(e.find("bad.json: byte " + std::to_string(bad.find("0.300", at)) + ": invalid JSON: Missing a colon after a name of object member."),
            std::string::npos) << e;
  // A kernel without its start: the offset of its event.
  std::string no_ts = text;
  const std::size_t kernel = no_ts.find("{\"ph\": \"X\", \"cat\": \"kernel\"");
  const std::size_t ts = no_ts.find("\"ts\"", kernel);
  no_ts.replace(ts, 4, "\"tz\"");
  e = error_reading("no_ts.json", no_ts);
  EXPECT_NE(e.find("no_ts.json: byte " + std::to_string(kernel) + ": a 'kernel' event ('void gemm_kernel<float>(float const*, "
                   "float*)') has no numeric 'ts'"), std::string::npos) << e;
  // A .gz whose compressed bytes are cut, or damaged.
  const fs::path dir = test::scratch_dir("gz_bytes");
  test::write_file((dir / "t.json.gz").string(), text);
  const std::string gz = test::read_text(dir / "t.json.gz");
  fs::remove_all(dir);
  e = error_reading("short.json.gz", gz.substr(0, gz.size() / 2), true);
  EXPECT_NE(e.find("short.json.gz: byte "), std::string::npos) << e;
  EXPECT_NE(e.find("the compressed file is damaged or cut short (zlib: unexpected end of file)"), std::string::npos) << e;
  std::string damaged = gz;
  for (std::size_t i = 20; i < 60; ++i) damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
  e = error_reading("damaged.json.gz", damaged, true);
  EXPECT_NE(e.find("damaged.json.gz: byte "), std::string::npos) << e;
  EXPECT_NE(e.find("the compressed file is damaged or cut short (zlib: "), std::string::npos) << e;
  // Missing file.
  try {
    read_rank_trace("/nonexistent/trace.json", shipped_patterns());
    ADD_FAILURE();
  } catch (const InputError& x) {
    EXPECT_NE(std::string(x.what()).find("/nonexistent/trace.json: cannot open the trace"), std::string::npos) << x.what();
  }
}

TEST(TraceReader, SendRecvInsideACollectivesRangeIsACollective) {
  test::FakeRank r = small_rank();
  r.kernels[2].launch = 295 * U;  // the SendRecv kernel, launched inside an all_to_all
  r.ranges.push_back({"nccl:all_to_all", 290 * U, 299 * U});
  test::FakeRank p = small_rank();
  p.kernels[2].launch = 295 * U;
  p.ranges.push_back({"nccl:send 3->4", 290 * U, 299 * U});
  const fs::path dir = test::scratch_dir("collective_ranges");
  test::write_file((dir / "a.json").string(), test::kineto_json(r));
  test::write_file((dir / "p.json").string(), test::kineto_json(p));
  EXPECT_EQ(read_rank_trace((dir / "a.json").string(), shipped_patterns()).gpu[2].cls, GpuClass::Collective);
  EXPECT_EQ(read_rank_trace((dir / "p.json").string(), shipped_patterns()).gpu[2].cls, GpuClass::P2P);
  fs::remove_all(dir);
}

TEST(OpPatterns, ShippedNamesDecode) {
  const OpPatterns p = shipped_patterns();
  auto one = [&](const std::string& name) {
    const int i = p.match(name);
    EXPECT_GE(i, 0) << name;
    return i < 0 ? std::vector<OpName>{} : p.decode(i, name);
  };
  auto is = [](const OpName& n, ActionKind k, int s, int m, PatternRole role = PatternRole::Op) {
    return n.kind == k && n.stage == s && n.microbatch == m && n.role == role;
  };
  EXPECT_TRUE(is(one("PP:2F0")[0], ActionKind::F, 2, 0));
  EXPECT_TRUE(is(one("PP:1I3")[0], ActionKind::B, 1, 3));    // input gradient
  EXPECT_TRUE(is(one("PP:0W12")[0], ActionKind::W, 0, 12));
  EXPECT_TRUE(is(one("PP:3B1")[0], ActionKind::BW, 3, 1));   // PyTorch's B is the full backward
  const auto pair = one("PP:(0F7;7B3)OVERLAP_F_B");
  ASSERT_EQ(pair.size(), 2u);
  EXPECT_TRUE(is(pair[0], ActionKind::F, 0, 7));
  EXPECT_TRUE(is(pair[1], ActionKind::BW, 7, 3));
  EXPECT_TRUE(is(one("PP:2RECV_B3")[0], ActionKind::B, 2, 3, PatternRole::Recv));
  EXPECT_TRUE(is(one("PP:1SEND_F0")[0], ActionKind::F, 1, 0, PatternRole::Send));
  EXPECT_TRUE(is(one("Forward 12")[0], ActionKind::F, -1, 12));
  EXPECT_TRUE(is(one("Backward 3")[0], ActionKind::BW, -1, 3));
  EXPECT_TRUE(is(one("/opt/Megatron-LM/megatron/core/pipeline_parallel/schedules.py(312): forward_step")[0], ActionKind::F, -1, -1));
  EXPECT_TRUE(is(one("mlp(B)")[0], ActionKind::B, -1, -1, PatternRole::Part));  // DualPipe's B is the input gradient
  EXPECT_TRUE(is(one("dispatch(F)")[0], ActionKind::F, -1, -1, PatternRole::Part));
  EXPECT_EQ(p.patterns()[p.match("1F1B")].role, PatternRole::Unit);
  EXPECT_LT(p.match("PP:0UNSHARD"), 0);
  EXPECT_LT(p.match("aten::mm"), 0);
  EXPECT_LT(p.match("xPP:2F0"), 0);  // the whole name must match
}

TEST(OpPatterns, UserPatternsFromYaml) {
  const fs::path dir = test::scratch_dir("patterns");
  const std::string good = (dir / "good.yaml").string();
  std::ofstream(good) << "'^fwd s(?<stage>\\d+) mb(?<microbatch>\\d+)$': F\n"
                         "'^bwd s(?P<stage>\\d+) mb(?P<microbatch>\\d+) (?<kind>I|W)$': kind\n"
                         "'^(?:layer)(\\d+)\\((?<kind>[FBW])\\)$': kind part\n"
                         "'^chunk$': unit\n";
  const OpPatterns p = load_patterns(good);
  ASSERT_EQ(p.patterns().size(), 4u);
  auto decode = [&](const std::string& name) { return p.decode(p.match(name), name).at(0); };
  EXPECT_EQ(decode("fwd s2 mb5").stage, 2);
  EXPECT_EQ(decode("fwd s2 mb5").microbatch, 5);
  EXPECT_EQ(decode("bwd s1 mb0 I").kind, ActionKind::B);
  EXPECT_EQ(decode("bwd s1 mb0 W").kind, ActionKind::W);
  EXPECT_EQ(decode("layer3(B)").kind, ActionKind::B);  // the unnamed group before it is counted
  EXPECT_EQ(decode("layer3(B)").role, PatternRole::Part);
  EXPECT_EQ(p.patterns()[3].origin, good + ":4");
  auto fails = [&](const std::string& yaml, const std::string& expected) {
    const std::string path = (dir / "bad.yaml").string();
    std::ofstream(path) << yaml;
    try {
      load_patterns(path);
      ADD_FAILURE() << yaml;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  fails("'^a$': F\n'^b$': forward\n", "bad.yaml:2:8: ^b$: unknown kind 'forward' (valid: F, B, W, BW, kind; a suffix ' part'; or unit)");
  fails("'^a(?<stage>\\d+)$': F\n'^(b$': F\n", "is not a valid regular expression");
  fails("'^a(?<rank>\\d+)$': F\n", "unknown group name 'rank'");
  fails("'^a$': kind\n", "gives no kind");
  fails("[1, 2]\n", "bad.yaml: must be a mapping of keys at the top level (got a list)");
  fs::remove_all(dir);
}

// DeepSeek's style: parts of one overlapped "1F1B" unit, the backward's kernels launched by
// another thread (PyTorch's autograd engine) while the annotating thread waits in the part.
TEST(TracedOps, PartsOfAUnitFormOneOpPerKind) {
  test::FakeRank r;
  r.rank = 0, r.world_size = 1;
  auto k = [](TimeNs a, TimeNs z, int stream, TimeNs launch, long thread) {
    test::FakeKernel x;
    x.start = a, x.end = z, x.stream = stream, x.launch = launch, x.thread = thread;
    return x;
  };
  r.kernels = {k(100 * U, 200 * U, 7, 11 * U, 1),    // attn(F)
               k(150 * U, 260 * U, 8, 21 * U, 2),    // mlp(B), launched by thread 2
               k(260 * U, 300 * U, 7, 31 * U, 1),    // mlp(F)
               k(300 * U, 320 * U, 8, 41 * U, 1),    // mlp(W)
               k(320 * U, 400 * U, 8, 51 * U, 2)};   // attn(B), thread 2
  r.ranges = {{"ProfilerStep#1", 0, 1000 * U},      {"1F1B", 5 * U, 60 * U},        {"attn(F)", 10 * U, 15 * U},
              {"mlp(B)", 20 * U, 25 * U},           {"mlp(F)", 30 * U, 35 * U},     {"mlp(W)", 40 * U, 45 * U},
              {"attn(B)", 50 * U, 55 * U}};
  const fs::path dir = test::scratch_dir("parts");
  test::write_file((dir / "r.json").string(), test::kineto_json(r));
  const OpPatterns patterns = shipped_patterns();
  const RankTrace t = read_rank_trace((dir / "r.json").string(), patterns);
  fs::remove_all(dir);
  const RankOps ops = find_rank_ops(t, step_window(t, 1), patterns);
  ASSERT_EQ(ops.ops.size(), 3u);
  EXPECT_EQ(ops.kernels_in_ops, 5);
  const TracedOp &f = ops.ops[0], &b = ops.ops[1], &w = ops.ops[2];
  EXPECT_EQ(f.kind, ActionKind::F);
  EXPECT_EQ(b.kind, ActionKind::B);
  EXPECT_EQ(w.kind, ActionKind::W);
  EXPECT_TRUE(f.overlapped && b.overlapped && !w.overlapped);
  EXPECT_TRUE(f.from_parts && b.from_parts && w.from_parts);
  EXPECT_EQ(f.ranges, 2);
  EXPECT_EQ(f.kernel_ns, 140 * U);
  EXPECT_EQ(f.start, test::kBase + 100 * U);
  EXPECT_EQ(f.end, test::kBase + 300 * U);
  EXPECT_EQ(b.kernel_ns, 190 * U);  // [150, 260] + [320, 400]
  EXPECT_EQ(b.kernels, 2);
  EXPECT_EQ(w.kernel_ns, 20 * U);
  EXPECT_EQ(ops.ranges_by_origin.at("dualpipe"), 5);
}

}  // namespace
}  // namespace ppsim::trace
