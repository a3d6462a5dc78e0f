// `ppsim simulate [schedule.yaml]`: options, then config -> simulation -> reports.
#include <boost/program_options.hpp>
#include <algorithm>
#include <iostream>
#include <optional>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "sim/config/config.h"
#include "base/error.h"
#include "sim/report/ascii_timeline.h"
#include "sim/report/json_report.h"
#include "sim/report/output_files.h"
#include "sim/report/svg_timeline.h"
#include "sim/report/text_report.h"
#include "sim/report/timeline_json.h"
#include "sim/report/trace_report.h"
#include "base/system_memory.h"
#include "base/time.h"
#include "sim/bubble_sweep.h"
#include "sim/report/svg_heatmap.h"
#include "sim/simulation.h"
#include "sim/size_estimate.h"
#include "sim/replications.h"
#include "sim/report/replication_report.h"
#include "sim/report/stream_report.h"
#include "sim/stream/stream_engine.h"
#include "sim/stream/stream_metrics.h"
#include "sim/stream/stream_model_times.h"
#include "sim/stream/stream_timeline.h"
#include "schedules/order_csv.h"
#include "schedules/registry.h"

namespace ppsim::cli {
namespace {

struct SimulateOptions {
  std::string config;  // empty: the embedded default example
  std::string json, trace, svg, order_csv;
  bool timeline = false;
  int width = 0;
  bool quiet = false;
  bool with_ops = false;
  std::string max_memory;  // empty: 90 % of the memory available
  std::vector<std::string> sweep_heatmap;  // P_LIST M_LIST ("2,4,8" "8,16,32"); empty: no sweep
  std::string heatmap_svg;
};

// "2,4,8" -> {2, 4, 8}: a list of counts for --sweep-heatmap; throws po::error otherwise.
std::vector<int> parse_count_list(const std::string& text, const char* what) {
  std::vector<int> out = parse_number_list(text, 1, [&](const std::string& item) {
    return "--sweep-heatmap: '" + item + "' in " + what + " is not a count >= 1 (expected e.g. --sweep-heatmap 2,4,8 8,16,32)";
  });
  if (out.size() > 16) throw po::error(std::string("--sweep-heatmap: ") + what + " has " + std::to_string(out.size()) + " values, at most 16");
  return out;
}

// Refuses, before building anything, a simulation that would not fit (base/system_memory.h).
void check_simulation_fits(const SimulationConfig& c, const std::string& max_memory) {
  const std::int64_t requested = max_memory.empty() ? 0 : parse_bytes(max_memory, "--max-memory");
  check_fits(estimate_simulation_size(c.schedule, c.ranks, c.microbatches, c.chunks), memory_budget(requested),
             c.source + ": schedule " + c.schedule + " with P = " + std::to_string(c.ranks) + ", M = " +
                 std::to_string(c.microbatches) + ", V = " + std::to_string(c.chunks),
             "--max-memory");
}

// schedule: stream (issue 15): the streaming engine and its own reports.
int simulate_stream(const SimulateOptions& o, const SimulationConfig& config) {
  if (!o.order_csv.empty()) throw InputError("--order-csv: " + config.source + " is a stream (forward only), which has no training order to export");
  if (o.with_ops) throw InputError("--with-ops: " + config.source + " is a stream; --trace has every item's ops");
  const StreamConfig c = config.model ? stream_with_model_times(config) : *config.stream;
  // An open loop's arrivals run to twice the measured items, plus 1,000 (stream_engine.cpp).
  const std::int64_t records = (c.arrivals ? 2 : 1) * (c.warmup_items + c.items + 1000) * c.stages;
  // Six times per item and stage, doubled for the timeline a report may draw.
  SimulationSize size;
  size.compute_ops = records;
  size.bytes = kSimulationFixedBytes + records * static_cast<std::int64_t>(6 * sizeof(TimeNs)) * 2;
  check_fits(size, memory_budget(o.max_memory.empty() ? 0 : parse_bytes(o.max_memory, "--max-memory")),
             config.source + ": schedule stream with " + std::to_string(c.warmup_items + c.items) + " items over " +
                 std::to_string(c.stages) + " stages",
             "--max-memory");
  const StreamRun run = run_stream(c);
  const StreamMetrics m = compute_stream_metrics(c, run);
  PendingOutputs outputs;
  if (!o.json.empty()) {
    std::string json;
    JsonWriter w(json);
    w.begin_object();
    write_stream_json_fields(w, config.source, c, m);
    w.end_object();
    outputs.add(o.json, json + "\n");
  }
  const bool draws = !o.trace.empty() || !o.svg.empty() || o.timeline;
  const Timeline tl = draws ? stream_timeline(run) : Timeline{};
  if (!o.trace.empty()) outputs.add(o.trace, render_trace({{&tl, "ppsim stream"}}));
  if (!o.svg.empty())
    outputs.add(o.svg, render_stream_svg(tl, run, "stream P=" + std::to_string(c.stages) + " items=" + std::to_string(run.items())));
  std::string text;
  if (!o.quiet) text = render_stream_text_report(config.source, c, m);
  if (o.timeline) {
    text += '\n';
    text += render_ascii_timeline(tl, o.width > 0 ? o.width : terminal_width());
  }
  outputs.commit();
  std::cout << text;
  return 0;
}

int simulate(const SimulateOptions& o) {
  const SimulationConfig config = o.config.empty()
                                      ? parse_config(embedded_default_example(), "<embedded default example>", ".")
                                      : load_config(o.config);
  if (config.stream) return simulate_stream(o, config);
  check_simulation_fits(config, o.max_memory);
  const SimulationResult r = run_simulation(config);
  RunInfo info = describe_run(config, r.schedule, r.times_source);
  if (r.model_costs) info.notes.insert(info.notes.end(), r.model_costs->notes.begin(), r.model_costs->notes.end());
  if (!r.search.note.empty()) {
    info.notes.push_back(r.search.note);
    std::cerr << "ppsim simulate: the zb-auto search took " << r.search.seconds << " s\n";
  }
  info.model = r.model_metrics;

  // jitter / straggler: seeded replays of the same DAG (sim/replications.h).
  std::optional<ReplicationResult> replays;
  std::optional<ReplicationSpec> study = config.replication;
  if (study && study->jitter.distribution == Distribution::Profile)
    study->kind_spread = profile_spreads(load_profile(config.model->profile));
  if (study) replays = run_replications(r.dag, *study);

  // Everything is rendered before anything is written: no partial outputs on failure.
  PendingOutputs outputs;
  if (!o.json.empty()) {
    std::string json;
    JsonWriter w(json);
    w.begin_object();
    write_json_report_fields(w, info, r.timeline, r.metrics);
    if (replays) write_replication_json(w, *r.dag.table, *study, *replays);
    if (o.with_ops) write_timeline_fields(w, r.timeline);
    w.end_object();
    outputs.add(o.json, json + "\n");
  }
  if (!o.trace.empty()) outputs.add(o.trace, render_trace({{&r.timeline, "ppsim " + config.schedule}}));
  if (!o.svg.empty()) outputs.add(o.svg, render_svg_timeline(r.timeline, config.schedule + " P=" + std::to_string(config.ranks) + " M=" + std::to_string(config.microbatches)));
  if (!o.order_csv.empty()) outputs.add(o.order_csv, write_order_csv(r.schedule));
  std::string text;
  if (!o.quiet) text = render_text_report(info, r.timeline, r.metrics);
  if (!o.quiet && replays) text += render_replication_text(*r.dag.table, *study, *replays);
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "\n" + a temporary string.
  if (o.timeline) {
    text += '\n';
    text += render_ascii_timeline(r.timeline, o.width > 0 ? o.width : terminal_width());
  }
  if (!o.sweep_heatmap.empty()) {
    const std::vector<int> ps = parse_count_list(o.sweep_heatmap[0], "P_LIST");
    const std::vector<int> ms = parse_count_list(o.sweep_heatmap[1], "M_LIST");
    SimulationConfig largest = config;
    largest.ranks = *std::max_element(ps.begin(), ps.end());
    largest.microbatches = *std::max_element(ms.begin(), ms.end());
    check_simulation_fits(largest, o.max_memory);
    const Heatmap heatmap = sweep_bubble(config, ps, ms);
    if (!o.heatmap_svg.empty()) outputs.add(o.heatmap_svg, render_svg_heatmap(heatmap));
    if (!text.empty()) text += '\n';
    text += render_text_heatmap(heatmap);  // printed with -q too: it is what the flag asked for
  }
  outputs.commit();
  std::cout << text;
  return 0;
}

}  // namespace

int run_simulate(int argc, char** argv) {
  SimulateOptions o;
  std::string caption =
      "ppsim simulate [schedule.yaml] [options]\n\nSimulates a pipeline schedule; with no file, the embedded default "
      "example (examples/default.yaml). schedule.yaml keys: schedule, stages (P), microbatches (M), chunks (V), then "
      "times: {forward, backward_input, backward_weight, transfer, overlap_f_b} or model: with hardware, profile, "
      "micro_batch_size, sequence_length, dtype, recompute, partition, memory_limit, efficiency, link; zb-auto also "
      "in_flight_limit and w_stash_fraction (README, docs/schedules.md).\n\n"
      "Streams (schedule: stream; docs/streams.md): stages, items, warmup_items, max_outstanding (closed loop), "
      "queue_capacity (one value or one per stage; blocking after service), arrivals: {interval, process: poisson | "
      "fixed} (open loop), times: {forward (per stage), transfer} or model: with the cost-model keys, jitter: "
      "{distribution: deterministic | exponential | normal | lognormal | gamma, cv}, seed, batch: {max, time_model: "
      "linear (fixed_fraction) | table (factors)}. The report gives throughput, latency percentiles, per-stage "
      "utilization, queues and blocking, Little's law, the bottleneck and the in-flight count that saturates it.\n\n"
      "Jitter on a training schedule: jitter: {distribution (also profile: each op from the calibration profile's "
      "spread), cv}, replications (default 100), straggler: {rank, "
      "slowdown}, seed. The report adds the makespan's mean, p50 and p99 against the deterministic makespan, and the "
      "ranks and ops whose variability cost the most on the replays' critical paths.\n\n"
      "3D parallelism (with model:; docs/cost-model.md): tensor_parallel (t GPUs per layer, default 1), "
      "sequence_parallel (true with t > 1), data_parallel (d replicas, default 1), zero (0-3: shard optimizer state, "
      "+ gradients, + parameters over d), global_batch_size (sequences per step: microbatches = global_batch_size / "
      "(d x micro_batch_size)), placement ([tensor, pipeline, data], innermost first), grad_reduce_overlap (default "
      "true). The run is then a whole training step on t x P x d GPUs: pipeline, data-parallel gradient reduction, "
      "optimizer; the report gives iteration_time_ns, MFU and HFU. For example (examples/llama3-70b-64-h100.yaml):\n"
      "  schedule: interleaved-1f1b\n  stages: 4\n  chunks: 5\n  global_batch_size: 64\n  model: llama3-70b\n"
      "  hardware: h100-sxm\n  sequence_length: 8192\n  recompute: selective\n  tensor_parallel: 8\n"
      "  sequence_parallel: true\n  data_parallel: 2\n  zero: 1\n\nschedules:\n";
  for (const ScheduleKind& k : schedule_kinds()) caption += "  " + std::string(k.name) + std::string(18 - std::string(k.name).size(), ' ') + k.summary + "\n";
  caption += "  zb-auto           the zero-bubble automatic schedule: a search over orders for the given op times (in_flight_limit)\n"
             "  custom            per-rank orders from a PyTorch pipeline-order CSV (order_csv)\n"
             "  stream            forward-only streaming/inference: items through stages, queues, latency percentiles\n\noptions";
  po::options_description desc(caption);
  desc.add_options()
      ("help,h", "show this help")
      ("json", po::value(&o.json)->value_name("PATH"), "write the metrics as JSON")
      ("trace", po::value(&o.trace)->value_name("PATH"), "write a Chrome/Perfetto trace (one track per rank and link)")
      ("svg", po::value(&o.svg)->value_name("PATH"), "write a picture of the timeline (SVG)")
      ("order-csv", po::value(&o.order_csv)->value_name("PATH"), "write the schedule in PyTorch's pipeline-order CSV layout")
      ("timeline", po::bool_switch(&o.timeline), "print an ASCII timeline scaled to the terminal width")
      ("width", po::value(&o.width)->value_name("COLUMNS"), "width of the ASCII timeline (default: the terminal's)")
      ("with-ops", po::bool_switch(&o.with_ops), "add every op's times to the JSON (for 'ppsim compare')")
      ("quiet,q", po::bool_switch(&o.quiet), "do not print the text report")
      ("max-memory", po::value(&o.max_memory)->value_name("BYTES"), "refuse a simulation estimated to need more memory "
       "than this, e.g. 64GiB (default: 90 % of the memory available)")
      ("sweep-heatmap", po::value(&o.sweep_heatmap)->multitoken()->value_name("P_LIST M_LIST"), "also simulate the "
       "schedule at every stage count of P_LIST and micro-batch count of M_LIST (e.g. 2,4,8 8,16,32) and print its "
       "bubble fraction as a table (P across, M down; at most 16 values per list)")
      ("heatmap-svg", po::value(&o.heatmap_svg)->value_name("PATH"), "with --sweep-heatmap: draw the table as an SVG heatmap");
  po::options_description hidden;
  hidden.add_options()("config", po::value(&o.config));
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  auto check = [](const po::variables_map& v) {
    if (v.count("sweep-heatmap")) {
      const auto& lists = v["sweep-heatmap"].as<std::vector<std::string>>();
      if (lists.size() != 2) throw po::error("--sweep-heatmap takes two lists, P_LIST M_LIST (e.g. --sweep-heatmap 2,4,8 8,16,32)");
      parse_count_list(lists[0], "P_LIST");
      parse_count_list(lists[1], "M_LIST");
    }
    if (v.count("heatmap-svg") && !v.count("sweep-heatmap")) throw po::error("--heatmap-svg needs --sweep-heatmap");
    if (v.count("width") && v["width"].as<int>() > kMaxTimelineWidth)
      throw po::error("--width: at most " + std::to_string(kMaxTimelineWidth) + " columns (got " +
                      std::to_string(v["width"].as<int>()) + ")");
  };
  if (auto stop = parse_command_line("simulate", argc, argv, desc, hidden, pos, vm, check)) return *stop;
  return run_reporting_errors("simulate", [&] { return simulate(o); });
}

}  // namespace ppsim::cli
