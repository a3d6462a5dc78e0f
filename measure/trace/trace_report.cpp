#include "measure/trace/trace_report.h"

#include <cstdio>
#include <map>
#include <sstream>

#include "measure/comparison_report.h"
#include "measure/trace/kernel_class.h"
#include "sim/report/json_report.h"
#include "sim/report/json_writer.h"
#include "sim/report/svg_timeline.h"
#include "sim/report/text_report.h"
#include "sim/report/timeline_json.h"
#include "sim/report/trace_report.h"

namespace ppsim::trace {
namespace {

std::string dur(TimeNs t) { return format_duration(t); }

std::string signed_dur(TimeNs t) { return (t < 0 ? "-" : "+") + format_duration(t < 0 ? -t : t); }

std::string op_counts(const RankOps& r) {
  std::map<std::string, int> n;
  for (const TracedOp& op : r.ops) ++n[kind_name(op.kind)];
  std::string out;
  for (const auto& [k, c] : n) out += (out.empty() ? "" : ", ") + k + ": " + std::to_string(c);
  return out.empty() ? "none" : out;
}

void ranks_section(std::ostringstream& os, const TraceOutcome& o) {
  char line[512];
  os << "ppsim trace: " << o.ranks.size() << (o.ranks.size() == 1 ? " rank, " : " ranks, ")
     << (o.step >= 0 ? "ProfilerStep#" + std::to_string(o.step) : std::string("the whole trace (no ProfilerStep)"))
     << (o.device_name.empty() ? "" : ", " + o.device_name) << "\n";
  std::snprintf(line, sizeof line, "  %4s  %-12s  %12s  %9s  %s\n", "rank", "global rank", "clock offset", "kept", "file (clock aligned by)");
  os << line;
  for (std::size_t r = 0; r < o.ranks.size(); ++r) {
    const TracedRank& t = o.ranks[r];
    const std::string global = std::to_string(t.global_rank) + (t.world_size > 0 ? "/" + std::to_string(t.world_size) : "");
    std::string how = t.clock.method;
    if (t.clock.matched > 0) how += ", " + std::to_string(t.clock.matched) + " matched within " + dur(t.clock.spread_ns);
    std::snprintf(line, sizeof line, "  %4zu  %-12s  %12s  %9zu  %s (rank from %s; %s)\n", r, global.c_str(),
                  signed_dur(t.clock.offset_ns).c_str(), t.gpu_events + t.launches + t.ranges, t.path.c_str(),
                  t.rank_source.c_str(), how.c_str());
    os << line;
  }
}

void gpu_section(std::ostringstream& os, const TraceOutcome& o) {
  char line[512];
  const GpuSummary& g = o.gpu;
  os << "\nGPU timeline of the step: window " << dur(g.window_ns)
     << " (first GPU event of the step on any rank to the last); busy = compute kernels (union over streams)\n";
  std::snprintf(line, sizeof line, "  %4s %11s %11s %7s | %11s %11s %11s %11s %11s | %11s %11s | %11s %11s\n", "rank", "busy",
                "idle", "idle %", "pipeline", "collective", "memory", "host", "other", "leading", "trailing", "GPU span",
                "host step");
  os << line;
  for (const RankGpu& r : g.ranks) {
    std::snprintf(line, sizeof line, "  %4d %11s %11s %6.2f%% | %11s %11s %11s %11s %11s | %11s %11s | %11s %11s\n", r.rank,
                  dur(r.busy).c_str(), dur(r.idle).c_str(),
                  g.window_ns > 0 ? 100.0 * static_cast<double>(r.idle) / static_cast<double>(g.window_ns) : 0.0,
                  dur(r.inner.pipeline).c_str(), dur(r.inner.collective).c_str(), dur(r.inner.memory).c_str(),
                  dur(r.inner.host).c_str(), dur(r.inner.other).c_str(), dur(r.idle_leading).c_str(),
                  dur(r.idle_trailing).c_str(), dur(r.last_end - r.first_start).c_str(), dur(r.host_step_ns).c_str());
    os << line;
  }
  os << "  idle = leading + trailing + the gaps between compute kernels, by what ran meanwhile: a pipeline send/recv "
        "(the bubble), a collective, a copy, nothing with the next kernel launched late by the host, nothing otherwise\n";
  os << "\nkernel time per class (sum of durations; events)\n";
  std::snprintf(line, sizeof line, "  %4s %20s %20s %20s %20s %14s\n", "rank", "compute", "p2p", "collective", "memory",
                "comm||compute");
  os << line;
  for (const RankGpu& r : g.ranks) {
    std::string cells[4];
    for (int c = 0; c < 4; ++c)
      cells[c] = dur(r.class_ns[static_cast<std::size_t>(c)]) + " (" + std::to_string(r.class_events[static_cast<std::size_t>(c)]) + ")";
    std::snprintf(line, sizeof line, "  %4d %20s %20s %20s %20s %14s\n", r.rank, cells[0].c_str(), cells[1].c_str(),
                  cells[2].c_str(), cells[3].c_str(), dur(r.comm_overlap).c_str());
    os << line;
  }
  os << "\nidle per stream, Holistic Trace Analysis' rule (gaps between the stream's events: host wait = launched "
        "after the previous ended, kernel wait = under 30 ns, other)\n";
  std::snprintf(line, sizeof line, "  %4s %7s %7s %12s %12s %12s %12s\n", "rank", "stream", "events", "busy", "host wait",
                "kernel wait", "other");
  os << line;
  for (const RankGpu& r : g.ranks)
    for (const StreamIdle& s : r.streams) {
      std::snprintf(line, sizeof line, "  %4d %7d %7lld %12s %12s %12s %12s\n", r.rank, s.stream,
                    static_cast<long long>(s.events), dur(s.busy).c_str(), dur(s.host_wait).c_str(),
                    dur(s.kernel_wait).c_str(), dur(s.other).c_str());
      os << line;
    }
}

void ops_section(std::ostringstream& os, const TraceOutcome& o) {
  char line[512];
  os << "\npipeline ops named by the annotations\n";
  for (std::size_t r = 0; r < o.ops.size(); ++r) {
    const RankOps& x = o.ops[r];
    std::string origins;
    for (const auto& [origin, n] : x.ranges_by_origin) origins += (origins.empty() ? "" : ", ") + origin + " " + std::to_string(n);
    std::snprintf(line, sizeof line, "  rank %zu: %zu ops (%s); %lld of %lld kernels of the step launched inside them%s%s\n",
                  r, x.ops.size(), op_counts(x).c_str(), static_cast<long long>(x.kernels_in_ops),
                  static_cast<long long>(x.kernels_in_step), origins.empty() ? "" : "; ranges: ", origins.c_str());
    os << line;
  }
}

void stage_times_section(std::ostringstream& os, const StageTimesProfile& st) {
  char line[512];
  os << "\nmeasured stage times (mean, p10 .. p90 over the step's micro-batches; backward split "
     << (st.backward_split == "flops" ? "by the model's B and W FLOPs" : "as traced") << ")\n";
  std::snprintf(line, sizeof line, "  %5s %32s %32s %32s\n", "stage", "F", "B", "W");
  os << line;
  auto cell = [](const Timing& t) { return dur(t.mean_ns) + " (" + dur(t.p10_ns) + " .. " + dur(t.p90_ns) + ")"; };
  for (std::size_t s = 0; s < st.stages.size(); ++s) {
    const StageTiming& x = st.stages[s];
    std::snprintf(line, sizeof line, "  %5zu %32s %32s %32s\n", s, cell(x.forward).c_str(), cell(x.backward_input).c_str(),
                  cell(x.backward_weight).c_str());
    os << line;
  }
  for (const HopTiming& h : st.hops)
    os << "  hop " << h.boundary << " <-> " << h.boundary + 1 << ": " << dur(h.median_ns) << " median over " << h.samples
       << " transfers\n";
}

void write_gpu_json(JsonWriter& w, const GpuSummary& g) {
  w.key("gpu").begin_object();
  w.field("window_start_ns", g.window_start);
  w.field("window_ns", g.window_ns);
  w.key("ranks").begin_array();
  for (const RankGpu& r : g.ranks) {
    w.begin_object();
    w.field("rank", r.rank);
    w.field("host_step_ns", r.host_step_ns);
    w.field("first_start_ns", r.first_start);
    w.field("last_end_ns", r.last_end);
    w.field("busy_ns", r.busy);
    w.field("active_ns", r.active);
    w.field("idle_ns", r.idle);
    w.field("idle_leading_ns", r.idle_leading);
    w.field("idle_trailing_ns", r.idle_trailing);
    w.field("idle_pipeline_ns", r.inner.pipeline);
    w.field("idle_collective_ns", r.inner.collective);
    w.field("idle_memory_ns", r.inner.memory);
    w.field("idle_host_ns", r.inner.host);
    w.field("idle_other_ns", r.inner.other);
    w.field("comm_overlap_ns", r.comm_overlap);
    w.key("kernels").begin_object();
    for (int c = 0; c < 4; ++c) {
      w.key(to_string(static_cast<GpuClass>(c))).begin_object();
      w.field("events", r.class_events[static_cast<std::size_t>(c)]);
      w.field("sum_ns", r.class_ns[static_cast<std::size_t>(c)]);
      w.field("union_ns", r.class_union_ns[static_cast<std::size_t>(c)]);
      w.end_object();
    }
    w.end_object();
    w.key("streams").begin_array();
    for (const StreamIdle& s : r.streams) {
      w.begin_object();
      w.field("stream", static_cast<std::int64_t>(s.stream));
      w.field("events", s.events);
      w.field("busy_ns", s.busy);
      w.field("host_wait_ns", s.host_wait);
      w.field("kernel_wait_ns", s.kernel_wait);
      w.field("other_ns", s.other);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_timing(JsonWriter& w, const char* key, const Timing& t) {
  w.key(key).begin_object();
  w.field("mean_ns", t.mean_ns);
  w.field("median_ns", t.median_ns);
  w.field("p10_ns", t.p10_ns);
  w.field("p90_ns", t.p90_ns);
  w.end_object();
}

}  // namespace

std::string render_trace_text(const TraceOutcome& o) {
  std::ostringstream os;
  ranks_section(os, o);
  gpu_section(os, o);
  ops_section(os, o);
  for (const std::string& n : o.notes) os << "note: " << n << "\n";
  if (!o.run) return os.str();
  os << "\n" << render_text_report(o.info, o.run->timeline, o.metrics);
  if (o.stage_times) stage_times_section(os, *o.stage_times);
  if (o.reproduction) {
    os << "\nreproduced: schedule " << o.run->schedule.kind << " simulated with " << o.reproduced_info.times_source
       << ", against the trace\n";
    os << render_comparison_text(*o.reproduction, o.reproduced->timeline);
  }
  return os.str();
}

std::string render_trace_json(const TraceOutcome& o) {
  std::string json;
  JsonWriter w(json);
  w.begin_object();
  w.field("step", o.step);
  w.field("device", o.device_name);
  w.key("ranks").begin_array();
  for (const TracedRank& t : o.ranks) {
    w.begin_object();
    w.field("path", t.path);
    w.field("global_rank", t.global_rank);
    w.field("world_size", t.world_size);
    w.field("rank_source", t.rank_source);
    w.field("clock_offset_ns", t.clock.offset_ns);
    w.field("clock_method", t.clock.method);
    w.field("clock_matched_pairs", t.clock.matched);
    w.field("clock_spread_ns", t.clock.spread_ns);
    w.field("json_bytes", static_cast<std::int64_t>(t.bytes));
    w.field("events", static_cast<std::int64_t>(t.events));
    w.field("gpu_events", static_cast<std::int64_t>(t.gpu_events));
    w.end_object();
  }
  w.end_array();
  write_gpu_json(w, o.gpu);
  w.key("ops_found").begin_array();  // not "ops": `ppsim compare` reads a top-level "ops" as a timeline
  for (const RankOps& r : o.ops) {
    w.begin_object();
    w.field("ops", static_cast<std::int64_t>(r.ops.size()));
    w.field("kernels_in_ops", r.kernels_in_ops);
    w.field("kernels_in_step", r.kernels_in_step);
    w.end_object();
  }
  w.end_array();
  w.key("notes").begin_array();
  for (const std::string& n : o.notes) w.value(n);
  w.end_array();
  if (o.stage_times) {
    w.key("stage_times").begin_array();
    for (const StageTiming& s : o.stage_times->stages) {
      w.begin_object();
      write_timing(w, "forward", s.forward);
      write_timing(w, "backward_input", s.backward_input);
      write_timing(w, "backward_weight", s.backward_weight);
      w.field("samples", s.samples);
      w.end_object();
    }
    w.end_array();
  }
  // As `ppsim measure --compare` writes them, so `ppsim compare` reads this file: the comparison's
  // keys at the top, the traced run under "measured", its reproduction under "predicted".
  if (o.reproduction) {
    w.field("reproduced_from", o.reproduced_info.times_source);
    write_comparison_fields(w, *o.reproduction);
  }
  if (o.run) {
    w.key("measured").begin_object();
    write_json_report_fields(w, o.info, o.run->timeline, o.metrics);
    write_timeline_fields(w, o.run->timeline);
    w.end_object();
  }
  if (o.reproduced) {
    w.key("predicted").begin_object();
    write_json_report_fields(w, o.reproduced_info, o.reproduced->timeline, o.reproduced->metrics);
    write_timeline_fields(w, o.reproduced->timeline);
    w.end_object();
  }
  w.end_object();
  return json + "\n";
}

std::string render_trace_perfetto(const TraceOutcome& o) {
  std::vector<TraceTimeline> traces{{&o.run->timeline, "traced"}};
  if (o.reproduced) traces.push_back({&o.reproduced->timeline, "reproduced from the traced op times"});
  return render_trace(traces);
}

std::string render_trace_svg(const TraceOutcome& o) {
  const Schedule& s = o.run->schedule;
  return render_svg_timeline(o.run->timeline, "traced " + s.kind + " P=" + std::to_string(s.ranks) + " M=" +
                                                  std::to_string(s.microbatches));
}

}  // namespace ppsim::trace
