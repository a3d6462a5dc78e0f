// `ppsim measure` on the CPU: the pipelined run computes exactly what a non-pipelined run of the
// same layers computes, every op is timed, and the comparison mechanics are exact when both sides
// see the same timeline. No timing thresholds: accuracy figures live in docs/validation.md.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "measure/cpu/cpu_pipeline_runner.h"
#include "models/model_loader.h"
#include "schedules/registry.h"
#include "schedules/validate.h"
#include "measure/comparison.h"
#include "sim/dag.h"
#include "base/error.h"
#include "sim/metrics.h"
#include "sim/op_costs.h"
#include "sim/report/json_writer.h"
#include "sim/report/timeline_json.h"
#include "calibrate/backends.h"

namespace ppsim {
namespace {

namespace fs = std::filesystem;

struct Case {
  const char* kind;
  int P, M, V;
};

double max_rel(const Eigen::MatrixXf& a, const Eigen::MatrixXf& b) {
  const double scale = std::max(1e-6, static_cast<double>(b.cwiseAbs().maxCoeff()));
  return static_cast<double>((a - b).cwiseAbs().maxCoeff()) / scale;
}

template <class M>
double max_rel(const M& a, const M& b) {
  return max_rel(Eigen::MatrixXf(a), Eigen::MatrixXf(b));
}

TEST(Measure, PipelinedRunEqualsNonPipelinedReference) {
  const ModelSpec spec = load_model("tiny");
  for (const Case& c : {Case{"gpipe", 2, 4, 1}, Case{"1f1b", 4, 4, 1}, Case{"zb-h1", 2, 4, 1}, Case{"zb-h2", 2, 4, 1},
                        Case{"interleaved-1f1b", 2, 4, 2}}) {
    const Schedule s = generate_schedule(c.kind, {c.P, c.M, c.V});
    const Dag dag = build_dag(s, uniform_costs(c.P * c.V, 1, 1, 1, 1));
    Partition part;
    part.layers_per_stage.assign(c.P * c.V, spec.layers / (c.P * c.V));
    cpu::CpuPipeline piped(s, dag, spec, part, 2, 16, 7), reference(s, dag, spec, part, 2, 16, 7);
    MeasureOptions o;
    o.iterations = 1;
    o.warmup = 0;
    const MeasuredRun run = piped.run(o);
    reference.run_reference();
    const auto& last_p = *piped.stages().back();
    const auto& last_r = *reference.stages().back();
    for (int m = 0; m < c.M; ++m) EXPECT_NEAR(last_p.loss(m), last_r.loss(m), 1e-6) << c.kind << " mb " << m;
    for (std::size_t st = 0; st < piped.stages().size(); ++st) {
      const auto& gp = piped.stages()[st]->grads();
      const auto& gr = reference.stages()[st]->grads();
      for (std::size_t b = 0; b < gp.blocks.size(); ++b) {
        EXPECT_LT(max_rel(gp.blocks[b].wq, gr.blocks[b].wq), 1e-5) << c.kind << " stage " << st;
        EXPECT_LT(max_rel(gp.blocks[b].w1, gr.blocks[b].w1), 1e-5) << c.kind << " stage " << st;
        EXPECT_LT(max_rel(gp.blocks[b].w2, gr.blocks[b].w2), 1e-5) << c.kind << " stage " << st;
        EXPECT_GT(gr.blocks[b].w2.cwiseAbs().maxCoeff(), 0.0f);
      }
      if (gp.embedding) {
        EXPECT_LT(max_rel(gp.embedding->table, gr.embedding->table), 1e-5) << c.kind;
      }
      if (gp.head) {
        EXPECT_LT(max_rel(gp.head->w_out, gr.head->w_out), 1e-5) << c.kind;
      }
    }
    // Every op was timed, ranks never overlap, and data dependencies hold in measured time.
    const Timeline& tl = run.timeline;
    const OpTable& t = *tl.table;
    for (OpId v = 0; v < t.ops.size(); ++v) EXPECT_LE(tl.start[v], tl.end[v]) << c.kind;
    for (int r = 0; r < t.ranks; ++r)
      for (OpId v = t.rank_begin[r] + 1; v < t.rank_begin[r + 1]; ++v) EXPECT_LE(tl.end[v - 1], tl.start[v]) << c.kind;
    for (OpId v = 0; v < t.ops.size(); ++v)
      dag.for_each_successor(v, [&](OpId w) { EXPECT_LE(tl.end[v], tl.start[w]) << c.kind << " " << describe_op(t, v); });
    const Metrics m = compute_metrics(tl);
    for (const auto& rm : m.ranks) EXPECT_EQ(rm.items, c.M * c.V);
  }
}

TEST(Measure, ComparisonIsExactOnIdenticalTimelinesAndJsonRoundTrips) {
  const Schedule s = generate_schedule("zb-h1", {3, 6, 1});
  const Dag dag = build_dag(s, uniform_costs(3, 1000, 900, 500, 100));
  const ModelSpec spec = load_model("tiny");
  Partition part;
  part.layers_per_stage = {3, 3, 2};
  cpu::CpuPipeline pipe(s, dag, spec, part, 1, 16, 3);
  MeasureOptions o;
  o.iterations = 3;
  o.warmup = 0;
  const MeasuredRun run = pipe.run(o);
  EXPECT_EQ(run.iteration_makespans.size(), 3u);
  const Metrics m = compute_metrics(run.timeline);
  const Comparison same = compare_timelines(run.timeline, m, run.timeline, m);
  EXPECT_EQ(same.makespan_error_pct, 0.0);
  EXPECT_EQ(same.throughput_error_pct, 0.0);
  EXPECT_EQ(same.worst_op_error_pct, 0.0);
  EXPECT_EQ(same.compared_ops, static_cast<std::size_t>(dag.table->compute_ops()));
  // Written and read back, the timeline is the same and so are its metrics.
  const fs::path file = fs::temp_directory_path() / ("ppsim_measure_rt_" + std::to_string(::getpid()) + ".json");
  std::string json;
  JsonWriter w(json);
  w.begin_object();
  w.field("num_stages", 3).field("num_microbatches", 6).field("num_chunks", 1);
  write_timeline_fields(w, run.timeline);
  w.end_object();
  std::ofstream(file) << json;
  const Timeline back = read_timeline_json(file.string());
  fs::remove(file);
  EXPECT_EQ(back.start, run.timeline.start);
  EXPECT_EQ(back.end, run.timeline.end);
  EXPECT_EQ(back.table->rank_begin, run.timeline.table->rank_begin);
  const Metrics mb = compute_metrics(back);
  EXPECT_EQ(mb.makespan_ns, m.makespan_ns);
  for (std::size_t r = 0; r < m.ranks.size(); ++r) {
    EXPECT_EQ(mb.ranks[r].busy_ns, m.ranks[r].busy_ns);
    EXPECT_EQ(mb.ranks[r].peak_in_flight, m.ranks[r].peak_in_flight);
    EXPECT_DOUBLE_EQ(mb.ranks[r].mean_in_flight, m.ranks[r].mean_in_flight);
  }
  // A timeline of another schedule is refused.
  const Dag other = build_dag(generate_schedule("1f1b", {3, 6, 1}), uniform_costs(3, 1, 1, 1, 1));
  Timeline wrong = run.timeline;
  wrong.table = other.table;
  EXPECT_THROW(compare_timelines(run.timeline, m, wrong, m), InputError);
}

struct CliRun {
  int code;
  std::string out;
};

CliRun ppsim(const std::string& args) {
  FILE* p = popen((std::string(PPSIM_BINARY) + " " + args + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

TEST(Measure, CommandMeasuresComparesAndRejectsBadInput) {
  const fs::path dir = fs::temp_directory_path() / ("ppsim_measure_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string cfg = (dir / "m.yaml").string();
  std::ofstream(cfg) << "schedule: 1f1b\nstages: 2\nmicrobatches: 4\nmodel: tiny\nmicro_batch_size: 1\n"
                        "sequence_length: 32\npartition: [4, 4]\n";
  const std::string json = (dir / "m.json").string(), trace = (dir / "m.trace").string();
  CliRun r = ppsim("measure " + cfg + " --compare --iterations 1 --warmup 0 --calibration-repeats 2 --json " + json +
                   " --trace " + trace);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("predicted vs measured"), std::string::npos) << r.out;
  YAML::Node j = YAML::LoadFile(json);
  for (const char* k : {"predicted_makespan_ns", "measured_makespan_ns", "throughput_error_pct"}) EXPECT_TRUE(j[k]) << k;
  EXPECT_EQ(j["measured_makespan_ns"].as<long long>(), j["measured"]["makespan_ns"].as<long long>());
  const double pred = j["predicted_throughput_microbatches_per_s"].as<double>();
  const double meas = j["measured_throughput_microbatches_per_s"].as<double>();
  EXPECT_NEAR(j["throughput_error_pct"].as<double>(), (pred - meas) / meas * 100, 1e-9);
  // One trace, both timelines: two processes with every op in each.
  YAML::Node t = YAML::LoadFile(trace);
  int x_pred = 0, x_meas = 0;
  for (const auto& e : t["traceEvents"])
    if (e["ph"].as<std::string>() == "X") (e["pid"].as<int>() == 1 ? x_pred : x_meas)++;
  EXPECT_EQ(x_pred, 2 * 4 * 2 + 2 * 4);
  EXPECT_EQ(x_meas, x_pred);
  // `ppsim compare` on the two halves of that file gives the same figures.
  CliRun c = ppsim("compare " + json + " " + json + " --json " + (dir / "c.json").string());
  ASSERT_EQ(c.code, 0) << c.out;
  YAML::Node cj = YAML::LoadFile((dir / "c.json").string());
  EXPECT_EQ(cj["predicted_makespan_ns"].as<long long>(), j["predicted_makespan_ns"].as<long long>());
  EXPECT_EQ(cj["measured_makespan_ns"].as<long long>(), j["measured_makespan_ns"].as<long long>());

  // Bad input.
  std::ofstream(dir / "times.yaml") << "schedule: 1f1b\nstages: 2\nmicrobatches: 2\ntimes: {forward: 1ms, "
                                       "backward_input: 1ms, backward_weight: 1ms}\n";
  r = ppsim("measure " + (dir / "times.yaml").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("needs 'model:'"), std::string::npos) << r.out;
  r = ppsim("measure " + cfg + " --device cuda --json " + (dir / "x.json").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--device cuda"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "x.json"));
  r = ppsim("measure " + cfg + " --share-gpu --json " + (dir / "x.json").string());
  EXPECT_EQ(r.code, 2);  // a flag that needs another: usage
  EXPECT_NE(r.out.find("--share-gpu: only with --device cuda"), std::string::npos) << r.out;
  r = ppsim("measure " + cfg + " --attention own --json " + (dir / "x.json").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--attention: only with --device cuda"), std::string::npos) << r.out;
  r = ppsim("measure " + cfg + " --device cuda --attention flash3 --json " + (dir / "x.json").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--attention: 'flash3' (expected cudnn or own)"), std::string::npos) << r.out;
  std::string why;
  if (visible_gpu_count(why) == 0) {
    r = ppsim("measure " + cfg + " --device cuda --share-gpu --json " + (dir / "x.json").string());
    EXPECT_EQ(r.code, 1);
    // A build without CUDA says so first; one with CUDA finds no GPU.
    EXPECT_NE(r.out.find(cuda_backend_built() ? "--share-gpu: no GPU visible" : "built without CUDA and NCCL"),
              std::string::npos)
        << r.out;
  }
  EXPECT_FALSE(fs::exists(dir / "x.json"));
  // A profile from another device kind.
  CliRun cal = ppsim("calibrate --device cpu --model tiny --sequence-length 32 --repeats 2 --no-transfers --out " +
                     (dir / "p.yaml").string());
  ASSERT_EQ(cal.code, 0) << cal.out;
  {
    std::ifstream in(dir / "p.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    text.replace(text.find("kind: cpu"), 9, "kind: cuda");
    std::ofstream(dir / "p-cuda.yaml") << text;
  }
  std::ofstream(dir / "prof.yaml") << "schedule: 1f1b\nstages: 2\nmicrobatches: 4\nmodel: tiny\nmicro_batch_size: 1\n"
                                      "sequence_length: 32\npartition: [4, 4]\nprofile: p-cuda.yaml\n";
  r = ppsim("measure " + (dir / "prof.yaml").string() + " --compare");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("measured on a cuda device"), std::string::npos) << r.out;
  std::ofstream(dir / "prof2.yaml") << "schedule: 1f1b\nstages: 2\nmicrobatches: 4\nmodel: gpt3-125m\n"
                                       "micro_batch_size: 1\nsequence_length: 32\nprofile: p.yaml\n";
  r = ppsim("measure " + (dir / "prof2.yaml").string() + " --compare");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("profile was measured with model 'tiny'"), std::string::npos) << r.out;
  // A measured file that does not match the prediction.
  const std::string other = (dir / "other.json").string();
  ASSERT_EQ(ppsim("simulate " + std::string(PPSIM_SOURCE_DIR) + "/examples/zb-h2.yaml --with-ops --json " + other).code, 0);
  r = ppsim("compare " + other + " " + json);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("does not match the prediction"), std::string::npos) << r.out;
  r = ppsim("compare " + (dir / "c.json").string() + " " + json);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no 'ops'"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ppsim
