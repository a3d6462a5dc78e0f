#pragma once
// Kineto-style traces written by the tests, so every expected answer is known exactly: hand-made
// ones (a few kernels with known gaps, overlaps and launches) and ones generated from a simulated
// run (every op a kernel inside a PyTorch "PP:" range, every transfer a send/recv kernel pair).
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "sim/dataflow.h"
#include "sim/simulation.h"

namespace ppsim::test {

struct FakeKernel {
  TimeNs start = 0, end = 0;
  int stream = 7;
  std::string name = "void gemm_kernel<float>(float const*, float*)";
  std::string category = "kernel";  // kernel, gpu_memcpy, gpu_memset
  std::optional<TimeNs> launch;     // when the host launched it; default: 5 us before it starts
  long thread = 1;                  // the launching host thread
};

struct FakeRange {
  std::string name;
  TimeNs start = 0, end = 0;
  long thread = 1;
  std::string category = "user_annotation";
};

struct FakeRank {
  int rank = 0, world_size = 0;  // world_size 0: no distributedInfo
  TimeNs skew = 0;               // added to every time written (this rank's clock)
  std::vector<FakeKernel> kernels;
  std::vector<FakeRange> ranges;
};

// Every written time is offset by an epoch-like base (as in real traces: microseconds since 1970),
// large enough that a double could not hold the nanoseconds exactly.
inline constexpr TimeNs kBase = 1'700'000'000'123'456'789;

// Microseconds with three decimals, as Kineto writes them.
inline std::string us(TimeNs ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ns / 1000), static_cast<long long>(ns % 1000));
  return buf;
}

inline std::string kineto_json(const FakeRank& r) {
  std::string out = "{\n  \"schemaVersion\": 1,\n";
  out += "  \"deviceProperties\": [{\"id\": 0, \"name\": \"Fake GPU\", \"totalGlobalMem\": 1}],\n";
  if (r.world_size > 0)
    out += "  \"distributedInfo\": {\"backend\": \"nccl\", \"rank\": " + std::to_string(r.rank) +
           ", \"world_size\": " + std::to_string(r.world_size) + "},\n";
  out += "  \"traceEvents\": [\n";
  out += "  {\"ph\": \"M\", \"name\": \"process_name\", \"pid\": 0, \"tid\": 0, \"args\": {\"name\": \"GPU 0\"}}";
  long correlation = 1000;
  for (const FakeKernel& k : r.kernels) {
    ++correlation;
    const TimeNs launch = k.launch.value_or(k.start - 5000) + r.skew + kBase;
    out += ",\n  {\"ph\": \"X\", \"cat\": \"cuda_runtime\", \"name\": \"cudaLaunchKernel\", \"pid\": 100, \"tid\": " +
           std::to_string(k.thread) + ", \"ts\": " + us(launch) + ", \"dur\": 0.300, \"args\": {\"correlation\": " +
           std::to_string(correlation) + ", \"cbid\": 211}}";
    out += ",\n  {\"ph\": \"X\", \"cat\": \"" + k.category + "\", \"name\": \"" + k.name +
           "\", \"pid\": 0, \"tid\": " + std::to_string(k.stream) + ", \"ts\": " + us(k.start + r.skew + kBase) +
           ", \"dur\": " + us(k.end - k.start) + ", \"args\": {\"queued\": 0, \"device\": 0, \"stream\": " +
           std::to_string(k.stream) + ", \"correlation\": " + std::to_string(correlation) +
           ", \"grid\": [1, 1, 1], \"block\": [128, 1, 1]}}";
    // Flows and CPU ops that the reader must skip.
    out += ",\n  {\"ph\": \"f\", \"id\": " + std::to_string(correlation) + ", \"pid\": 0, \"tid\": " +
           std::to_string(k.stream) + ", \"ts\": " + us(k.start + r.skew + kBase) + ", \"cat\": \"ac2g\", \"name\": \"ac2g\", \"bp\": \"e\"}";
  }
  for (const FakeRange& g : r.ranges)
    out += ",\n  {\"ph\": \"X\", \"cat\": \"" + g.category + "\", \"name\": \"" + g.name + "\", \"pid\": 100, \"tid\": " +
           std::to_string(g.thread) + ", \"ts\": " + us(g.start + r.skew + kBase) + ", \"dur\": " + us(g.end - g.start) +
           ", \"args\": {\"External id\": 7}}";
  out += ",\n  {\"ph\": \"X\", \"cat\": \"cpu_op\", \"name\": \"aten::mm\", \"pid\": 100, \"tid\": 1, \"ts\": 1.5, \"dur\": 2, "
         "\"args\": {\"Input Dims\": [[2, 3], [3, 4]], \"Input type\": [\"float\", \"float\"]}}";
  out += "\n  ],\n  \"traceName\": \"synthetic\"\n}\n";
  return out;
}

// Writes `text` to `path`, gzip-compressed when the name ends in .gz.
inline void write_file(const std::string& path, const std::string& text) {
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    return;
  }
  std::ofstream(path, std::ios::binary) << text;
}

// How a simulated run is written as a trace.
struct FromSimulation {
  std::vector<TimeNs> skew;           // per rank; empty = none
  bool split_kernels = true;          // each op as two kernels back to back (else one)
  bool second_stream = true;          // and a small kernel on another stream inside the op (overlap)
  bool pytorch_names = true;          // "PP:2F0"; false: "Forward 0" / "Backward 0" (stage from the rank)
  bool megatron_names = false;        // Python frames "...schedules.py(12): forward_step" (no stage, no mb)
  bool with_transfers = true;         // SEND/RECV ranges and send/recv kernels for each transfer
  bool world_size_in_file = true;     // distributedInfo (else the rank is in the file name)
  std::int64_t step = 3;              // ProfilerStep#N around everything
};

inline char pytorch_letter(ActionKind k) { return kind_csv_letter(k); }

// One FakeRank per rank of a simulated run: each compute op is a range on the host thread with its
// kernels launched inside, each transfer a send kernel on the producer's rank and a receive
// kernel on the consumer's that end together (the receive posted when the consumer's rank
// finished the op before the consumer).
inline std::vector<FakeRank> trace_of(const SimulationResult& sim, const FromSimulation& o) {
  const OpTable& t = *sim.timeline.table;
  const Timeline& tl = sim.timeline;
  std::vector<FakeRank> ranks(static_cast<std::size_t>(t.ranks));
  // Host ranges per rank in issue order: (host order key, range, kernels inside).
  struct Item {
    TimeNs key;
    std::string name;
    std::string category;
    std::vector<FakeKernel> kernels;
  };
  std::vector<std::vector<Item>> items(ranks.size());
  auto p2p = [](TimeNs a, TimeNs b) {
    FakeKernel k;
    k.start = a, k.end = b, k.stream = 20;
    k.name = "ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)";
    return k;
  };
  for (OpId v = 0; v < t.compute_ops(); ++v) {
    const Op& op = t.ops[v];
    Item it;
    it.key = static_cast<TimeNs>(v) * 4 + 1;
    it.category = "user_annotation";
    if (o.megatron_names) {
      it.category = "python_function";
      it.name = std::string("megatron/core/pipeline_parallel/schedules.py(") + (op.kind == ActionKind::F ? "301" : "402") +
                "): " + (op.kind == ActionKind::F ? "forward_step" : "backward_step");
    } else if (o.pytorch_names) {
      it.name = "PP:" + std::to_string(op.stage) + pytorch_letter(op.kind) + std::to_string(op.microbatch);
    } else {
      it.name = std::string(op.kind == ActionKind::F ? "Forward " : "Backward ") + std::to_string(op.microbatch);
    }
    const TimeNs a = tl.start[v], z = tl.end[v];
    if (o.split_kernels && z - a >= 2) {
      FakeKernel k1, k2;
      k1.start = a, k1.end = a + (z - a) / 2;
      k2.start = k1.end, k2.end = z;
      it.kernels = {k1, k2};
    } else {
      FakeKernel k;
      k.start = a, k.end = z;
      it.kernels = {k};
    }
    if (o.second_stream && z - a >= 4) {  // a small kernel on a side stream, inside the op
      FakeKernel side;
      side.start = a + (z - a) / 4, side.end = a + (z - a) / 2, side.stream = 8;
      side.name = "void elementwise_kernel<128, 4>()";
      it.kernels.push_back(side);
    }
    items[static_cast<std::size_t>(op.resource)].push_back(it);
  }
  if (o.with_transfers) {
    const Dataflow flow(sim.dag);
    for (OpId u = t.compute_ops(); u < t.ops.size(); ++u) {
      const Handoff& h = flow.carried_by(u);
      const Op& prod = t.ops[h.producer];
      const Op& cons = t.ops[h.consumer];
      const char dir = h.payload == Payload::Activation ? 'F' : 'B';
      Item send;
      send.key = static_cast<TimeNs>(h.producer) * 4 + 2;
      send.category = "user_annotation";
      send.name = "PP:" + std::to_string(prod.stage) + "SEND_" + dir + std::to_string(prod.microbatch);
      send.kernels = {p2p(tl.start[u], tl.end[u])};
      items[static_cast<std::size_t>(prod.resource)].push_back(send);
      Item recv;
      recv.key = static_cast<TimeNs>(h.consumer) * 4;
      recv.category = "user_annotation";
      recv.name = "PP:" + std::to_string(cons.stage) + "RECV_" + dir + std::to_string(cons.microbatch);
      const bool first = h.consumer == t.rank_begin[cons.resource];
      const TimeNs posted = first ? tl.start[u] : std::min(tl.start[u], tl.end[h.consumer - 1]);
      recv.kernels = {p2p(posted, tl.end[u])};
      items[static_cast<std::size_t>(cons.resource)].push_back(recv);
    }
  }
  // The host runs ahead of the GPU: every range (and its launches) lies before any kernel.
  std::size_t most = 0;
  for (auto& list : items) most = std::max(most, list.size());
  const TimeNs host0 = -static_cast<TimeNs>(most) * 2000 - 1'000'000;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    FakeRank& fr = ranks[r];
    fr.rank = static_cast<int>(r);
    fr.world_size = o.world_size_in_file ? t.ranks : 0;
    fr.skew = o.skew.empty() ? 0 : o.skew[r];
    auto& list = items[r];
    std::stable_sort(list.begin(), list.end(), [](const Item& a, const Item& b) { return a.key < b.key; });
    TimeNs h = host0;
    for (const Item& it : list) {
      fr.ranges.push_back({it.name, h, h + 1500, 1, it.category});
      TimeNs at = h + 100;
      for (FakeKernel k : it.kernels) {
        k.launch = at;
        at += 100;
        fr.kernels.push_back(k);
      }
      h += 2000;
    }
    fr.ranges.push_back({"ProfilerStep#" + std::to_string(o.step), host0 - 1000, h + 1000, 1, "user_annotation"});
  }
  return ranks;
}

}  // namespace ppsim::test

namespace ppsim::test {

// A large trace written as it is generated (never whole in memory): `cpu_ops` CPU-op events with
// nested args (what the reader must skip) and one kernel with its launch every `kernel_every` of
// them, for the bounded-memory test and the reader's benchmark. Returns the bytes written.
inline std::size_t write_large_trace(const std::string& path, std::size_t cpu_ops, std::size_t kernel_every) {
  std::ofstream out(path, std::ios::binary);
  std::size_t bytes = 0;
  auto put = [&](const std::string& s) {
    out << s;
    bytes += s.size();
  };
  put("{\"schemaVersion\": 1, \"distributedInfo\": {\"backend\": \"nccl\", \"rank\": 0, \"world_size\": 1},\n"
      "\"traceEvents\": [\n{\"ph\": \"X\", \"cat\": \"user_annotation\", \"name\": \"ProfilerStep#1\", \"pid\": 1, \"tid\": 1, "
      "\"ts\": " + us(kBase) + ", \"dur\": " + us(static_cast<TimeNs>(cpu_ops) * 1000 + 1000) + "}");
  std::string line;
  for (std::size_t i = 0; i < cpu_ops; ++i) {
    const TimeNs t = kBase + static_cast<TimeNs>(i) * 1000;
    line = ",\n{\"ph\": \"X\", \"cat\": \"cpu_op\", \"name\": \"aten::addmm\", \"pid\": 1, \"tid\": 1, \"ts\": " + us(t) +
           ", \"dur\": 0.800, \"args\": {\"External id\": " + std::to_string(i) +
           ", \"Input Dims\": [[4096, 1024], [1024, 4096], []], \"Input type\": [\"c10::BFloat16\", \"c10::BFloat16\", \"Scalar\"], "
           "\"Sequence number\": " + std::to_string(i) + ", \"Fwd thread id\": 0}}";
    if (i % kernel_every == 0) {
      line += ",\n{\"ph\": \"X\", \"cat\": \"cuda_runtime\", \"name\": \"cudaLaunchKernel\", \"pid\": 1, \"tid\": 1, \"ts\": " +
              us(t + 100) + ", \"dur\": 0.300, \"args\": {\"correlation\": " + std::to_string(i) + "}}";
      line += ",\n{\"ph\": \"X\", \"cat\": \"kernel\", \"name\": \"sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64\", "
              "\"pid\": 0, \"tid\": 7, \"ts\": " + us(t + 500) + ", \"dur\": 0.400, \"args\": {\"stream\": 7, \"correlation\": " +
              std::to_string(i) + ", \"grid\": [132, 1, 1], \"block\": [384, 1, 1]}}";
    }
    put(line);
  }
  put("\n]}\n");
  return bytes;
}

}  // namespace ppsim::test
