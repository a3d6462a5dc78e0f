// `ppsim plan plan.yaml`: options, then plan.yaml -> every candidate simulated -> reports.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "base/error.h"
#include "plan/bubble_target.h"
#include "plan/candidate.h"
#include "plan/enumerate.h"
#include "plan/evaluate.h"
#include "plan/mpi/gather.h"
#include "plan/plan_config.h"
#include "plan/plan_report.h"
#include "plan/plan_svg.h"
#include "plan/progress.h"
#include "plan/ranking.h"
#include "plan/shard.h"
#include "sim/report/output_files.h"

namespace ppsim::cli {
namespace {

struct PlanOptions {
  std::string config;
  std::string json, csv, svg_dir, write_best, bubble_target;
  int top = 5;
  int threads = 0;  // 0: one per core
  bool quiet = false;
};

// A progress bar on stderr, only on a terminal and only once the search has taken a second.
std::function<void(std::size_t, std::size_t)> progress_bar() {
  if (!::isatty(2)) return {};
  const auto start = std::chrono::steady_clock::now();
  return [start](std::size_t done, std::size_t total) {
    if (std::chrono::steady_clock::now() - start < std::chrono::seconds(1)) return;
    std::fputs(progress_line(done, total).c_str(), stderr);
    std::fflush(stderr);
  };
}

int plan(const PlanOptions& o) {
  // A bad flag value is bad input (exit 1), found before the search runs.
  const double bubble_target = o.bubble_target.empty() ? 0 : parse_fraction(o.bubble_target, "--bubble-target");
  const PlanConfig config = load_plan_config(o.config);
  const Enumeration enumeration = enumerate_candidates(config);
  // Under `mpirun -n K` each process simulates every K-th candidate and rank 0 merges and reports.
  mpi::Session session;  // MPI_Init only when a launcher started more than one process
  const mpi::World& world = session.world();
  EvaluateOptions eo;
  eo.threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  if (world.rank == 0) eo.progress = progress_bar();
  Evaluation evaluation = evaluate_candidates(
      config, world.size > 1 ? shard_candidates(enumeration.candidates, world.rank, world.size) : enumeration.candidates, eo);
  if (world.size > 1) {
    const std::vector<std::string> parts = mpi::gather_to_root(world, encode_evaluation(evaluation));
    if (world.rank != 0) {
      session.finish();
      return 0;
    }
    evaluation = merge_evaluations(parts);
  }
  const PlanOutcome outcome = rank_candidates(enumeration, std::move(evaluation));
  require_simulated(config.source, outcome);
  std::optional<BubbleTarget> target;
  if (!o.bubble_target.empty() && outcome.fitting > 0)
    target = smallest_microbatches_for_bubble(config, outcome.ranked.front().config, bubble_target);
  PendingOutputs outputs;
  if (!o.json.empty()) outputs.add(o.json, render_plan_json(config, outcome, target ? &*target : nullptr));
  if (!o.csv.empty()) outputs.add(o.csv, render_plan_csv(outcome));
  if (!o.write_best.empty()) {
    if (outcome.fitting == 0) throw InputError("--write-best: no configuration fits in the memory limit");
    outputs.add(o.write_best, candidate_yaml(config, outcome.ranked.front().config));
  }
  if (!o.svg_dir.empty() && outcome.evaluated > 0) {
    const std::filesystem::path dir(o.svg_dir);
    outputs.add((dir / "pareto.svg").string(), render_pareto_svg(config, outcome));
    outputs.add((dir / "bubble-heatmap.svg").string(), render_svg_heatmap(plan_bubble_heatmap(outcome)));
    outputs.add((dir / "best-timeline.svg").string(), render_best_timeline_svg(config, outcome));
  }
  std::string text = o.quiet ? "" : render_plan_text(config, outcome, o.top);
  if (target && !o.quiet) {
    text += '\n';  // appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "\n" + a temporary
    text += describe_bubble_target(*target, outcome.ranked.front().config);
  }
  if (!o.svg_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.svg_dir, ec);
    if (ec) throw InputError("--svg: cannot create the folder " + o.svg_dir + ": " + ec.message());
  }
  outputs.commit();
  std::cout << text;
  session.finish();
  return 0;
}

}  // namespace

int run_plan(int argc, char** argv) {
  PlanOptions o;
  po::options_description desc(
      "ppsim plan plan.yaml [options]\n\nChooses the configuration to run by simulating every candidate of a search "
      "space: the (tensor, pipeline, data) split of `gpus`, the schedule, chunks, micro-batch size, sequence "
      "parallelism, recompute and ZeRO, each through the same cost model, partitioner, DAG and engine as "
      "'ppsim simulate'. It ranks the fitting ones by throughput, draws the Pareto front of throughput against peak "
      "memory and says why the best wins (docs/planning.md).\n\nplan.yaml keys: model, hardware, gpus, "
      "global_batch_size, sequence_length, dtype, memory_limit (default: the GPU's memory less 5 %), profile, "
      "profile_statistic, efficiency, link, and search: {schedules, stages, chunks, micro_batch_size, "
      "tensor_parallel, sequence_parallel, recompute, zero} (each a list restricting one dimension; absent = every "
      "valid value: every schedule but zb-auto, every divisor of gpus for stages and tensor_parallel, chunks 1-8, "
      "micro-batch sizes 1, 2, 4, 8).\n\nUnder `mpirun -n K ppsim plan ...` the K processes split the candidates "
      "(each simulates every K-th) and rank 0 merges them and writes the same report and files as one process would.\n\noptions");
  desc.add_options()
      ("help,h", "show this help")
      ("json", po::value(&o.json)->value_name("PATH"), "write every simulated candidate, the best and the Pareto front as JSON")
      ("csv", po::value(&o.csv)->value_name("PATH"), "write every simulated candidate as CSV")
      ("top", po::value(&o.top)->value_name("K"), "rank the K fastest fitting configurations in the text report (default 5)")
      ("threads", po::value(&o.threads)->value_name("N"), "simulate on N threads (default: one per core); the results do not depend on it")
      ("svg", po::value(&o.svg_dir)->value_name("DIR"), "draw pareto.svg (throughput against peak memory, the front, the "
       "memory limit), bubble-heatmap.svg (the best schedule over P and M) and best-timeline.svg into DIR")
      ("bubble-target", po::value(&o.bubble_target)->value_name("FRACTION"), "also find the smallest M that brings "
       "the best configuration's bubble under FRACTION (e.g. 5%), by simulation, with the in-flight count it needs "
       "(Little's law)")
      ("write-best", po::value(&o.write_best)->value_name("PATH"), "write the best configuration as a schedule.yaml for 'ppsim simulate'")
      ("quiet,q", po::bool_switch(&o.quiet), "do not print the text report");
  po::options_description hidden;
  hidden.add_options()("config", po::value(&o.config));
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  auto check = [](const po::variables_map& v) {
    if (!v.count("config")) throw po::error("missing plan.yaml (e.g. ppsim plan examples/plans/llama3-8b-8-h100.yaml)");
    if (v.count("top") && v["top"].as<int>() < 1) throw po::error("--top must be at least 1");
    if (v.count("threads") && v["threads"].as<int>() < 1) throw po::error("--threads must be at least 1");
  };
  if (auto stop = parse_command_line("plan", argc, argv, desc, hidden, pos, vm, check)) return *stop;
  return run_reporting_errors("plan", [&] { return plan(o); });
}

}  // namespace ppsim::cli
