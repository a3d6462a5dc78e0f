#include "calibrate/cpu/cpu_calibrator.h"

#include "base/allocator.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "calibrate/cpu/layers.h"
#include "calibrate/reference.h"
#include "base/error.h"
#include "base/system_memory.h"
#include "base/version.h"

namespace ppsim {
namespace {

using Clock = std::chrono::steady_clock;

TimeNs since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

template <class M>
std::int64_t bytes_of(const M& m) {
  return static_cast<std::int64_t>(m.size()) * static_cast<std::int64_t>(sizeof(typename M::Scalar));
}

std::int64_t stash_bytes(const cpu::BlockStash& s) {
  std::int64_t b = 0;
  for (const auto* m : {&s.x, &s.n1, &s.q, &s.k, &s.v, &s.attn, &s.x1, &s.n2, &s.u, &s.up, &s.g, &s.norm1_hat,
                        &s.norm2_hat, &s.lse, &s.d_q, &s.d_k, &s.d_v, &s.d_attn_out, &s.d_u, &s.d_up,
                        &s.d_mlp_out, &s.d_n1, &s.d_n2})
    b += bytes_of(*m);
  return b + bytes_of(s.norm1_rstd) + bytes_of(s.norm2_rstd);
}

std::int64_t stash_bytes(const cpu::HeadStash& s) {
  return bytes_of(s.x) + bytes_of(s.n) + bytes_of(s.norm_hat) + bytes_of(s.norm_rstd) + bytes_of(s.probs) +
         bytes_of(s.d_logits) + bytes_of(s.d_n) + static_cast<std::int64_t>(s.targets.size() * sizeof(std::int32_t));
}

std::int64_t param_bytes(const cpu::BlockWeights<float>& w) {
  return bytes_of(w.wq) + bytes_of(w.wk) + bytes_of(w.wv) + bytes_of(w.wo) + bytes_of(w.w1) + bytes_of(w.w2) +
         bytes_of(w.w3) + bytes_of(w.norm1_gain) + bytes_of(w.norm1_bias) + bytes_of(w.norm2_gain) +
         bytes_of(w.norm2_bias);
}

// Counts the timed steps for the progress bar.
struct Steps {
  const CalibrationOptions& opt;
  double total;
  double done = 0;
  void step(const std::string& what) {
    done += 1;
    if (opt.progress) opt.progress(done / total, what);
  }
};

// Runs `body(timed)` warmup + repeats times; body returns the ns of each of F, B, W.
template <class Body>
void time_passes(const CalibrationOptions& opt, Steps& steps, const std::string& name, LayerProfile& out,
                 const cpu::PassFlops& flops, Body body) {
  std::vector<TimeNs> f, b, w;
  for (int i = 0; i < opt.warmup + opt.repeats; ++i) {
    const auto [tf, tb, tw] = body(i);
    if (i >= opt.warmup) {
      f.push_back(tf);
      b.push_back(tb);
      w.push_back(tw);
    }
    steps.step(name);
  }
  out.forward = summarize(f, flops.forward);
  out.backward_input = summarize(b, flops.backward_input);
  out.backward_weight = summarize(w, flops.backward_weight);
}

constexpr int kRotate = 3;  // distinct inputs cycled through, so no run sees the last one's cache

}  // namespace

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

std::vector<TransferSample> measure_thread_transfers(std::int64_t min_bytes, std::int64_t max_bytes, int repeats,
                                                     int warmup) {
  const auto n = static_cast<std::size_t>(sweep_sizes(min_bytes, max_bytes).back());
  std::vector<char> a(n, 1), b(n, 2);  // each thread's receive buffer
  std::vector<char> a_src(n, 3), b_src(n, 4);

  // flag: 0 idle, 1 ping written into b, 2 pong written into a, -1 stop.
  std::atomic<int> flag{0};
  std::atomic<std::int64_t> current{0};
  auto wait_for = [&](int value) {
    int spins = 0;
    while (flag.load(std::memory_order_acquire) != value)
      if (++spins > 256) std::this_thread::yield();
  };
  std::thread peer([&] {
    for (;;) {
      int spins = 0;
      int v;
      while ((v = flag.load(std::memory_order_acquire)) != 1 && v != -1)
        if (++spins > 256) std::this_thread::yield();
      if (v == -1) return;
      std::memcpy(a.data(), b_src.data(), static_cast<std::size_t>(current.load()));
      flag.store(2, std::memory_order_release);
    }
  });

  // Half the round trip: this thread copies into the peer's buffer and raises the flag, the peer
  // copies back and answers.
  std::vector<TransferSample> out;
  try {
    out = sweep_transfers(min_bytes, max_bytes, warmup, repeats, [&](std::size_t, std::int64_t size) {
      current.store(size);
      const auto t0 = Clock::now();
      std::memcpy(b.data(), a_src.data(), static_cast<std::size_t>(size));
      flag.store(1, std::memory_order_release);
      wait_for(2);
      const TimeNs rt = since(t0);
      flag.store(0, std::memory_order_release);
      return double(rt) / 2.0 * 1e-9;
    });
  } catch (...) {
    flag.store(-1, std::memory_order_release);
    peer.join();
    throw;
  }
  flag.store(-1, std::memory_order_release);
  peer.join();
  return out;
}

std::vector<NumericsResult> check_cpu_numerics(const ModelSpec& model) {
  ModelSpec s = model;
  s.hidden = 8;
  s.heads = 2;
  s.kv_heads = model.kv_heads < model.heads ? 1 : 2;
  s.ffn_hidden = 12;
  s.vocab = 11;
  const int seq = 4, tokens = 8;
  std::vector<NumericsResult> out;
  auto err = [](const cpu::Matrix<float>& a, const ref::RefMatrix& b) {
    return ref::relative_error(a.cast<double>(), b);
  };

  {  // embedding
    cpu::EmbeddingT<double> e64(s, 1);
    cpu::CpuEmbedding e32(s, 1);
    e32.weights.table = e64.weights.table.cast<float>();
    const auto ids = cpu::random_tokens(tokens, s.vocab, 2);
    const auto dy = cpu::random_matrix<double>(tokens, s.hidden, 1.0, 3);
    cpu::EmbeddingStashT<double> st64;
    cpu::EmbeddingStash st32;
    out.push_back({"embedding", "forward", err(e32.forward(ids, st32), ref::embedding_forward(e64.weights, ids))});
    e64.forward(ids, st64);
    e64.backward_input(dy, st64);
    e32.backward_input(dy.cast<float>(), st32);
    out.push_back({"embedding", "backward_input", 0.0});  // nothing flows back to token ids
    auto g64 = cpu::EmbeddingWeights<double>::zeros_like(e64.weights);
    auto g32 = cpu::EmbeddingWeights<float>::zeros_like(e32.weights);
    e64.backward_weight(st64, g64);
    e32.backward_weight(st32, g32);
    out.push_back({"embedding", "backward_weight", err(g32.table, g64.table)});
  }
  {  // block
    cpu::BlockT<double> b64(s, seq, 4);
    cpu::CpuBlock b32(s, seq, 4);
    const auto& w = b64.weights;
    b32.weights = {w.wq.cast<float>(),         w.wk.cast<float>(),         w.wv.cast<float>(),
                   w.wo.cast<float>(),         w.w1.cast<float>(),         w.w2.cast<float>(),
                   w.w3.cast<float>(),         w.norm1_gain.cast<float>(), w.norm1_bias.cast<float>(),
                   w.norm2_gain.cast<float>(), w.norm2_bias.cast<float>()};
    const auto x = cpu::random_matrix<double>(tokens, s.hidden, 1.0, 5);
    const auto dy = cpu::random_matrix<double>(tokens, s.hidden, 1.0, 6);
    cpu::BlockStashT<double> st64;
    cpu::BlockStash st32;
    out.push_back({"block", "forward", err(b32.forward(x.cast<float>(), st32), ref::block_forward(s, w, x, seq))});
    b64.forward(x, st64);
    out.push_back({"block", "backward_input", err(b32.backward_input(dy.cast<float>(), st32),
                                                   b64.backward_input(dy, st64))});
    auto g64 = cpu::BlockWeights<double>::zeros_like(b64.weights);
    auto g32 = cpu::BlockWeights<float>::zeros_like(b32.weights);
    b64.backward_weight(st64, g64);
    b32.backward_weight(st32, g32);
    double e = std::max({err(g32.wq, g64.wq), err(g32.wk, g64.wk), err(g32.wv, g64.wv), err(g32.wo, g64.wo),
                         err(g32.w1, g64.w1), err(g32.w2, g64.w2)});
    if (s.activation == Activation::SwiGlu) e = std::max(e, err(g32.w3, g64.w3));
    out.push_back({"block", "backward_weight", e});
  }
  {  // head
    cpu::HeadT<double> h64(s, 7);
    cpu::CpuHead h32(s, 7);
    h32.weights = {h64.weights.norm_gain.cast<float>(), h64.weights.norm_bias.cast<float>(),
                   h64.weights.w_out.cast<float>()};
    const auto x = cpu::random_matrix<double>(tokens, s.hidden, 1.0, 8);
    const auto targets = cpu::random_tokens(tokens, s.vocab, 9);
    cpu::HeadStashT<double> st64;
    cpu::HeadStash st32;
    const double loss_ref = ref::head_forward(s, h64.weights, x, targets);
    out.push_back({"head", "forward", std::abs(double(h32.forward(x.cast<float>(), targets, st32)) - loss_ref) /
                                          std::abs(loss_ref)});
    h64.forward(x, targets, st64);
    out.push_back({"head", "backward_input", err(h32.backward_input(st32), h64.backward_input(st64))});
    auto g64 = cpu::HeadWeights<double>::zeros_like(h64.weights);
    auto g32 = cpu::HeadWeights<float>::zeros_like(h32.weights);
    h64.backward_weight(st64, g64);
    h32.backward_weight(st32, g32);
    out.push_back({"head", "backward_weight", err(g32.w_out, g64.w_out)});
  }
  return out;
}

Profile calibrate_cpu(const CalibrationOptions& opt) {
  keep_freed_memory_for_reuse();  // the same allocator behaviour as `ppsim measure`
  if (opt.repeats < 1) throw InputError("--repeats must be at least 1");
  if (opt.warmup < 1) throw InputError("calibration needs at least one warm-up run");
  if (opt.micro_batch_size < 1) throw InputError("--micro-batch-size must be at least 1");
  if (opt.sequence_length < 1) throw InputError("--sequence-length must be at least 1");
  const ModelSpec& spec = opt.model;
  if (spec.hidden <= 0 || spec.heads <= 0 || spec.kv_heads <= 0 || spec.hidden % spec.heads != 0 ||
      spec.heads % spec.kv_heads != 0 || spec.vocab <= 0 || spec.ffn_hidden <= 0)
    throw InputError("model '" + spec.name + "': hidden, heads, kv_heads, ffn_hidden and vocab must be positive, "
                     "hidden divisible by heads and heads by kv_heads");
  check_calibration_fits(opt, 4, 2, memory_budget(0), "host memory");

  Profile p;
  p.ppsim_version = kVersion;
  p.device.kind = "cpu";
  p.device.name = cpu_model_name();
  p.device.count = 1;
  p.device.threads = cpu::set_threads(std::max(1, opt.threads));
  p.model = spec;
  p.micro_batch_size = opt.micro_batch_size;
  p.sequence_length = opt.sequence_length;
  p.dtype = DType::FP32;
  if (opt.dtype != DType::FP32) p.requested_dtype = to_string(opt.dtype);
  p.repeats = opt.repeats;
  p.warmup = opt.warmup;

  const int seq = opt.sequence_length;
  const int tokens = opt.micro_batch_size * seq;
  const std::int64_t act_bytes = std::int64_t{tokens} * spec.hidden * 4;
  const int runs = opt.warmup + opt.repeats;
  Steps steps{opt, double(3 * runs + (opt.measure_transfers ? 1 : 0) + (opt.check_numerics ? 1 : 0))};

  if (opt.check_numerics) {
    for (const auto& r : check_cpu_numerics(spec)) {
      KernelProfile k;
      k.layer = r.layer;
      k.pass = r.pass;
      k.name = r.layer + "_" + r.pass;
      k.max_relative_error = r.max_relative_error;
      p.kernels.push_back(k);
    }
    steps.step("numerics");
  }

  std::vector<cpu::Tokens> ids, targets;
  for (int i = 0; i < kRotate; ++i) {
    ids.push_back(cpu::random_tokens(tokens, spec.vocab, 100 + i));
    targets.push_back(cpu::random_tokens(tokens, spec.vocab, 200 + i));
  }
  std::vector<cpu::Tensor> xs, dys;
  for (int i = 0; i < kRotate; ++i) {
    xs.push_back(cpu::random_matrix<float>(tokens, spec.hidden, 1.0, 300 + i));
    dys.push_back(cpu::random_matrix<float>(tokens, spec.hidden, 1e-2, 400 + i));
  }

  {
    const cpu::CpuEmbedding emb(spec, 1);
    auto grads = cpu::EmbeddingWeights<float>::zeros_like(emb.weights);
    time_passes(opt, steps, "embedding", p.embedding, cpu::embedding_flops(spec, tokens), [&](int i) {
      cpu::EmbeddingStash st;
      auto t0 = Clock::now();
      cpu::Tensor y = emb.forward(ids[i % kRotate], st);
      const TimeNs f = since(t0);
      t0 = Clock::now();
      emb.backward_input(dys[i % kRotate], st);
      const TimeNs b = since(t0);
      t0 = Clock::now();
      emb.backward_weight(st, grads);
      return std::tuple{f, b, since(t0)};
    });
    p.embedding.activation_bytes = act_bytes;
    p.embedding.gradient_bytes = 0;
    p.embedding.stash_bytes = act_bytes + std::int64_t{tokens} * 4;  // grad_out + ids
    p.embedding.parameter_bytes = bytes_of(emb.weights.table);
  }
  {
    // Several blocks with their own weights, used in turn, so that (as in a pipeline stage, which
    // runs its blocks one after another) a pass does not find its weights in a warm cache.
    const cpu::CpuBlock first(spec, seq, 2);
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    const std::int64_t cache = 2 * (l2 > 0 ? l2 : 2 << 20);
    const int count = static_cast<int>(std::clamp<std::int64_t>(cache / std::max<std::int64_t>(1, param_bytes(first.weights)) + 1, 1, 16));
    std::vector<cpu::CpuBlock> blocks(1, first);
    for (int b = 1; b < count; ++b) blocks.emplace_back(spec, seq, 2 + b);
    std::vector<cpu::BlockWeights<float>> grads;
    for (const auto& b : blocks) grads.push_back(cpu::BlockWeights<float>::zeros_like(b.weights));
    std::int64_t stash = 0;
    // As in a pipeline, a micro-batch's backward runs after another micro-batch's forward: B and W
    // of item i-1 follow F of item i, so they read a stash that is no longer hot in the cache.
    cpu::BlockStash ring[2];
    // The first run has no earlier item: its B and W times are zero, and it is a warm-up run.
    time_passes(opt, steps, "block", p.block, cpu::block_flops(spec, tokens, seq), [&](int i) {
      ring[i % 2] = cpu::BlockStash();
      auto t0 = Clock::now();
      cpu::Tensor y = blocks[i % count].forward(xs[i % kRotate], ring[i % 2]);
      const TimeNs f = since(t0);
      if (i == 0) return std::tuple{f, TimeNs{0}, TimeNs{0}};
      const int prev = i - 1;
      cpu::BlockStash& st = ring[prev % 2];
      t0 = Clock::now();
      cpu::Tensor dx = blocks[prev % count].backward_input(dys[prev % kRotate], st);
      const TimeNs b = since(t0);
      stash = stash_bytes(st);
      t0 = Clock::now();
      blocks[prev % count].backward_weight(st, grads[prev % count]);
      return std::tuple{f, b, since(t0)};
    });
    p.block.activation_bytes = act_bytes;
    p.block.gradient_bytes = act_bytes;
    p.block.stash_bytes = stash;
    p.block.parameter_bytes = param_bytes(first.weights);
  }
  {
    const cpu::CpuHead head(spec, 3);
    auto grads = cpu::HeadWeights<float>::zeros_like(head.weights);
    std::int64_t stash = 0;
    time_passes(opt, steps, "head", p.head, cpu::head_flops(spec, tokens), [&](int i) {
      cpu::HeadStash st;
      auto t0 = Clock::now();
      head.forward(xs[i % kRotate], targets[i % kRotate], st);
      const TimeNs f = since(t0);
      t0 = Clock::now();
      cpu::Tensor dx = head.backward_input(st);
      const TimeNs b = since(t0);
      stash = stash_bytes(st);
      t0 = Clock::now();
      head.backward_weight(st, grads);
      return std::tuple{f, b, since(t0)};
    });
    p.head.activation_bytes = 0;  // the loss: nothing goes forward
    p.head.gradient_bytes = act_bytes;
    p.head.stash_bytes = stash;
    p.head.parameter_bytes = bytes_of(head.weights.w_out) + bytes_of(head.weights.norm_gain) +
                             bytes_of(head.weights.norm_bias);
  }

  if (opt.measure_transfers) {
    fit_transfer(p.transfer,
                 measure_thread_transfers(opt.min_transfer_bytes, opt.max_transfer_bytes, opt.repeats, opt.warmup),
                 "shared-memory", "thread 0 -> thread 1 (memcpy + flag, half round trip)");
    steps.step("transfers");
  } else {
    p.transfer.reason = "transfers not measured (disabled)";
  }
  return p;
}

}  // namespace ppsim
