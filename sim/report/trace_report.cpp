#include "sim/report/trace_report.h"

#include <cstdio>

#include "sim/report/json_writer.h"

namespace ppsim {
namespace {

// Trace timestamps are microseconds; print ns exactly as a decimal fraction.
void append_us(std::string& out, TimeNs ns) {
  char buf[32];
  const long long whole = ns / 1000, frac = ns % 1000;
  std::snprintf(buf, sizeof buf, "%lld.%03lld", whole, frac < 0 ? -frac : frac);
  out += buf;
}

}  // namespace

std::string render_trace(const std::vector<TraceTimeline>& timelines) {
  std::string out;
  out.reserve(256);
  out += "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&] {
    if (!first) out += ",\n";
    first = false;
  };
  int pid = 0;
  for (const auto& tt : timelines) {
    ++pid;
    const Timeline& tl = *tt.timeline;
    const OpTable& t = *tl.table;
    std::vector<int> chunk_of_stage(t.stages, 0), held(t.ranks, 0);
    for (int st = 0; st < t.stages; ++st) chunk_of_stage[st] = held[t.rank_of_stage[st]]++;
    sep();
    out += "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" + std::to_string(pid) + ",\"args\":{\"name\":\"" +
           json_escape(tt.process_name) + "\"}}";
    for (std::size_t r = 0; r < t.resources.size(); ++r) {
      sep();
      out += "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(r) +
             ",\"args\":{\"name\":\"" + json_escape(t.resources[r].name) + "\"}}";
      sep();
      out += "{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":" + std::to_string(pid) + ",\"tid\":" +
             std::to_string(r) + ",\"args\":{\"sort_index\":" + std::to_string(r) + "}}";
    }
    for (std::size_t v = 0; v < t.ops.size(); ++v) {
      const Op& op = t.ops[v];
      sep();
      out += "{\"ph\":\"X\",\"name\":\"";
      const bool step = op.step != StepKind::None;
      if (step) out += op_label(t, static_cast<OpId>(v), true);
      else if (op.is_transfer) out += std::string(op.kind == ActionKind::F ? "send F" : "send B") + std::to_string(op.microbatch);
      else if (op.overlapped) out += op_label(t, static_cast<OpId>(v), false);
      else out += kind_name(op.kind) + std::to_string(op.microbatch);
      out += "\",\"cat\":\"";
      out += step ? "training-step" : op.is_transfer ? "transfer" : "compute";
      out += "\",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(op.resource) + ",\"ts\":";
      append_us(out, tl.start[v]);
      out += ",\"dur\":";
      append_us(out, tl.end[v] - tl.start[v]);
      out += ",\"args\":{\"microbatch\":" + std::to_string(op.microbatch) + ",\"stage\":" + std::to_string(op.stage) +
             ",\"chunk\":" + std::to_string(chunk_of_stage[op.stage]) + ",\"kind\":\"" +
             (step ? step_kind_name(op.step) : kind_name(op.kind)) + "\"";
      if (step) {
        const Resource& res = t.resources[op.resource];
        out += ",\"rank\":" + std::to_string(op.step == StepKind::Optimizer ? res.rank : res.data_parallel_of);
      } else if (op.is_transfer) {
        const Resource& l = t.resources[op.resource];
        out += ",\"src_rank\":" + std::to_string(l.src) + ",\"dst_rank\":" + std::to_string(l.dst);
      } else {
        out += ",\"rank\":" + std::to_string(op.resource);
      }
      out += "}}";
    }
  }
  out += "\n]}\n";
  return out;
}

}  // namespace ppsim
