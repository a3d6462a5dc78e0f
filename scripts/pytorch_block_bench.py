#!/usr/bin/env python3
"""What a framework runs for one transformer block, timed with PyTorch, beside ppsim's calibration.

Run on the GPU machine (PyTorch is there, not here); scripts/gpu_session.sh runs it after the
calibrations and copies the TSV it writes. For each profile given (or each --model), it builds one
block of that model with torch.nn modules at the profile's shapes and dtype (bf16): norm, q/k/v/o
projections, F.scaled_dot_product_attention (causal, grouped-query attention without copying K
and V), the MLP (SwiGLU or GeLU) and both residuals -- the layers of ppsim's block, no Hugging
Face needed -- and times on the GPU with CUDA events, after warm-ups, the median of repeats:

  block forward; block backward (input and weight gradients together, as autograd computes them;
  ppsim times them apart as B and W, so its figure is B + W); forward + backward;
  attention forward and backward (PyTorch's default SDPA choice, and each SDPA backend alone);
  the block's linear layers, forward; rotary embeddings (Llama), which ppsim's block leaves out;
  and an 8192^3 bf16 GEMM (torch.matmul) against the profile's cuBLASLt peak.

Each timed region starts behind a GPU sleep (torch.cuda._sleep) long enough for the host to
enqueue the whole region, as ppsim's calibration does, so launch overhead is not in the figures.

Output: a TSV, one row per figure, written row by row (a run cut short keeps what it measured):
  what  model  shape  pass  pytorch_ms  ppsim_ms  ppsim_over_pytorch  within_10pct  note
ppsim_ms comes from the profile (medians; block backward = backward_input + backward_weight).
The issue's rule: ppsim's calibrated block time within 10 % of PyTorch's; where it is not, the
component rows say which kernel is slower and by how much.

  python3 scripts/pytorch_block_bench.py --profile llama3-8b-h200.yaml --out pytorch.tsv
  python3 scripts/pytorch_block_bench.py --model llama3-8b --sequence-length 4096   # PyTorch only
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "models")


def load_yaml(path):
    import yaml  # PyYAML, present on the GPU machine

    with open(path) as f:
        return yaml.safe_load(f)


def model_from_yaml(name_or_path):
    path = name_or_path if os.path.exists(name_or_path) else os.path.join(MODELS, name_or_path + ".yaml")
    return load_yaml(path)


class Case:
    """One model at one shape, with ppsim's figures when a profile gave it."""

    def __init__(self, model, micro_batch, seq, profile=None, profile_path=""):
        self.model, self.mb, self.seq, self.profile, self.profile_path = model, micro_batch, seq, profile, profile_path
        # What the shipped model file says about what ppsim does not model (biases, rotary).
        shipped = os.path.join(MODELS, model["name"] + ".yaml")
        extra = load_yaml(shipped) if os.path.exists(shipped) else {}
        self.bias = bool(extra.get("bias", False))
        self.rotary = extra.get("position_embedding") == "rotary"

    @property
    def name(self):
        return self.model["name"]

    @property
    def shape(self):
        return f"mb{self.mb}xs{self.seq}"


def cases_from_args(args):
    cases = []
    for path in args.profile:
        p = load_yaml(path)
        cfg = p["configuration"]
        cases.append(Case(cfg["model"], int(cfg["micro_batch_size"]), int(cfg["sequence_length"]), p, path))
    for m in args.model:
        cases.append(Case(model_from_yaml(m), args.micro_batch_size, args.sequence_length))
    if not cases:
        for m in ("llama3-8b", "gpt3-125m"):
            cases.append(Case(model_from_yaml(m), args.micro_batch_size, args.sequence_length))
    return cases


# ---- ppsim's figures, from a profile (medians, in ms) ----
def ppsim_layer_ms(profile, layer, *passes):
    if not profile:
        return None
    try:
        return sum(profile["layers"][layer][p]["median_ns"] for p in passes) / 1e6
    except (KeyError, TypeError):
        return None


def ppsim_kernels_ms(profile, pass_, keep):
    """The sum of the block's kernel medians in `pass_` whose name `keep` accepts; None if none."""
    if not profile:
        return None
    ks = [k for k in profile.get("kernels") or [] if k.get("layer") == "block" and k.get("pass") == pass_]
    chosen = [k["median_ns"] for k in ks if keep(k)]
    return sum(chosen) / 1e6 if chosen else None


def is_attention(k):
    return "attention" in k["name"]


def is_gemm(k):
    return float(k.get("flops", 0)) > 0 and not is_attention(k)


# ---- timing ----
class Timer:
    def __init__(self, torch, device, warmup, repeats, deadline):
        self.torch, self.device, self.warmup, self.repeats, self.deadline = torch, device, warmup, repeats, deadline

    def out_of_time(self):
        return time.monotonic() > self.deadline

    def ms(self, run, setup=None):
        """Median ms of `run()`; `setup()` (untimed) runs before each, e.g. a forward before a backward."""
        torch = self.torch
        samples = []
        for i in range(self.warmup + self.repeats):
            if setup:
                setup()
            if self.device == "cuda":
                # The GPU sleeps while the host enqueues the region: no launch gaps in the span.
                if hasattr(torch.cuda, "_sleep"):
                    torch.cuda._sleep(4_000_000)  # cycles: about 2 ms at 2 GHz
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                run()
                end.record()
                end.synchronize()
                t = start.elapsed_time(end)
            else:
                t0 = time.perf_counter()
                run()
                t = (time.perf_counter() - t0) * 1e3
            if i >= self.warmup:
                samples.append(t)
        return statistics.median(samples)


# ---- the block, in torch.nn ----
def build_block(torch, case, dtype, device):
    nn, F = torch.nn, torch.nn.functional
    m = case.model
    h, f, heads, kv = int(m["hidden"]), int(m["ffn_hidden"]), int(m["heads"]), int(m["kv_heads"])
    d = h // heads
    swiglu = m["activation"] == "swiglu"
    rms = m["norm"] == "rmsnorm"
    bias = case.bias

    def norm():
        return nn.RMSNorm(h) if rms else nn.LayerNorm(h)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = norm(), norm()
            self.q, self.k = nn.Linear(h, h, bias=bias), nn.Linear(h, kv * d, bias=bias)
            self.v, self.o = nn.Linear(h, kv * d, bias=bias), nn.Linear(h, h, bias=bias)
            self.up, self.down = nn.Linear(h, f, bias=bias), nn.Linear(f, h, bias=bias)
            self.gate = nn.Linear(h, f, bias=bias) if swiglu else None

        def attention(self, q, k, v):
            if kv != heads:
                try:
                    return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
                except TypeError:  # PyTorch before 2.5: no enable_gqa, so K and V are expanded
                    k = k.repeat_interleave(heads // kv, dim=1)
                    v = v.repeat_interleave(heads // kv, dim=1)
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

        def forward(self, x):
            b, t, _ = x.shape
            n = self.norm1(x)
            q = self.q(n).view(b, t, heads, d).transpose(1, 2)
            k = self.k(n).view(b, t, kv, d).transpose(1, 2)
            v = self.v(n).view(b, t, kv, d).transpose(1, 2)
            a = self.attention(q, k, v).transpose(1, 2).reshape(b, t, h)
            x = x + self.o(a)
            n = self.norm2(x)
            if swiglu:
                g = F.silu(self.gate(n)) * self.up(n)
            else:
                g = F.gelu(self.up(n), approximate="tanh")
            return x + self.down(g)

    return Block().to(device=device, dtype=dtype), (h, f, heads, kv, d)


def rope(torch, x):
    """Rotary embedding of [b, heads, t, d] (Llama's, theta 500000), with its tables made each call
    as an unfused framework layer does."""
    t, d = x.shape[-2], x.shape[-1]
    inv = 1.0 / (500000.0 ** (torch.arange(0, d, 2, device=x.device, dtype=torch.float32) / d))
    ang = torch.outer(torch.arange(t, device=x.device, dtype=torch.float32), inv)
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Writer:
    HEADER = ["what", "model", "shape", "pass", "pytorch_ms", "ppsim_ms", "ppsim_over_pytorch", "within_10pct", "note"]

    def __init__(self, path):
        self.f = open(path, "w")
        self.f.write("\t".join(self.HEADER) + "\n")
        self.f.flush()

    def comment(self, text):
        self.f.write("# " + text + "\n")
        self.f.flush()

    def row(self, what, model, shape, pass_, pytorch_ms, ppsim_ms=None, note=""):
        ratio = within = ""
        if pytorch_ms and ppsim_ms:
            r = ppsim_ms / pytorch_ms
            ratio, within = f"{r:.3f}", ("yes" if abs(r - 1) <= 0.10 else "no")
        cells = [what, model, shape, pass_, f"{pytorch_ms:.4f}" if pytorch_ms else "",
                 f"{ppsim_ms:.4f}" if ppsim_ms else "", ratio, within, note]
        self.f.write("\t".join(cells) + "\n")
        self.f.flush()
        print("  ".join(c for c in cells if c), flush=True)


def bench_case(torch, case, args, timer, out):
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
    dev = args.device
    torch.manual_seed(0)
    block, (h, f, heads, kv, d) = build_block(torch, case, dtype, dev)
    T = case.mb * case.seq
    p = case.profile
    note_bias = "biases (ppsim: none)" if case.bias else ""

    x = torch.randn(case.mb, case.seq, h, device=dev, dtype=dtype, requires_grad=True)
    dy = torch.randn_like(x) * 1e-2
    state = {}

    def forward():
        state["y"] = block(x)

    def backward():
        state["y"].backward(dy)

    fwd = timer.ms(forward)
    out.row("block", case.name, case.shape, "forward", fwd, ppsim_layer_ms(p, "block", "forward"), note_bias)
    if timer.out_of_time():
        return
    bwd = timer.ms(backward, setup=forward)
    out.row("block", case.name, case.shape, "backward (B+W)", bwd,
            ppsim_layer_ms(p, "block", "backward_input", "backward_weight"), note_bias)
    out.row("block", case.name, case.shape, "forward+backward", fwd + bwd,
            ppsim_layer_ms(p, "block", "forward", "backward_input", "backward_weight"), note_bias)
    if timer.out_of_time():
        return

    # Attention alone, at the block's shapes: PyTorch's default SDPA dispatch, then each backend.
    q = torch.randn(case.mb, heads, case.seq, d, device=dev, dtype=dtype, requires_grad=True)
    k = torch.randn(case.mb, kv, case.seq, d, device=dev, dtype=dtype, requires_grad=True)
    v = torch.randn(case.mb, kv, case.seq, d, device=dev, dtype=dtype, requires_grad=True)
    do = torch.randn(case.mb, heads, case.seq, d, device=dev, dtype=dtype)

    def attn_fwd():
        state["a"] = block.attention(q, k, v)

    def attn_bwd():
        state["a"].backward(do)

    att_kind = (p or {}).get("device", {}).get("attention", "")
    ppsim_att_note = f"ppsim: {att_kind} attention" if att_kind else ""
    out.row("attention (SDPA default)", case.name, case.shape, "forward", timer.ms(attn_fwd),
            ppsim_kernels_ms(p, "forward", is_attention), ppsim_att_note)
    out.row("attention (SDPA default)", case.name, case.shape, "backward", timer.ms(attn_bwd, setup=attn_fwd),
            ppsim_kernels_ms(p, "backward_input", is_attention), ppsim_att_note)
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        SDPBackend = None
    if SDPBackend is not None and dev == "cuda":
        for name in ("FLASH_ATTENTION", "CUDNN_ATTENTION", "EFFICIENT_ATTENTION"):
            backend = getattr(SDPBackend, name, None)
            if backend is None or timer.out_of_time():
                continue
            try:
                with sdpa_kernel([backend]):
                    fa, ba = timer.ms(attn_fwd), timer.ms(attn_bwd, setup=attn_fwd)
                out.row(f"attention ({name.lower()})", case.name, case.shape, "forward", fa)
                out.row(f"attention ({name.lower()})", case.name, case.shape, "backward", ba)
            except Exception as e:  # a backend that does not take this shape (GQA, head dim, ...)
                out.row(f"attention ({name.lower()})", case.name, case.shape, "forward", None,
                        note=f"not available: {type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''}")
    if timer.out_of_time():
        return

    # The block's linear layers, forward, each at its own shape (ppsim: its GEMM kernels).
    n = torch.randn(T, h, device=dev, dtype=dtype)
    g = torch.randn(T, f, device=dev, dtype=dtype)
    layers = [(block.q, n), (block.k, n), (block.v, n), (block.o, n), (block.up, n), (block.down, g)]
    if block.gate is not None:
        layers.append((block.gate, n))
    with torch.no_grad():
        lin = sum(timer.ms(lambda lyr=lyr, a=a: lyr(a)) for lyr, a in layers)
    out.row(f"linear layers ({len(layers)} GEMMs)", case.name, case.shape, "forward", lin,
            ppsim_kernels_ms(p, "forward", is_gemm), note_bias)

    if case.rotary and not timer.out_of_time():
        qr = torch.randn(case.mb, heads, case.seq, d, device=dev, dtype=dtype, requires_grad=True)
        kr = torch.randn(case.mb, kv, case.seq, d, device=dev, dtype=dtype, requires_grad=True)

        def rope_fwd():
            state["r"] = torch.cat([rope(torch, qr), rope(torch, kr)], dim=1)

        def rope_bwd():
            state["r"].backward(torch.ones_like(state["r"]))

        out.row("rotary embedding (q, k)", case.name, case.shape, "forward", timer.ms(rope_fwd),
                note="not in ppsim's block")
        out.row("rotary embedding (q, k)", case.name, case.shape, "backward", timer.ms(rope_bwd, setup=rope_fwd),
                note="not in ppsim's block")


def bench_gemm(torch, args, timer, out, profiles):
    n = 8192 if args.device == "cuda" else 512
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
    a = torch.randn(n, n, device=args.device, dtype=dtype)
    b = torch.randn(n, n, device=args.device, dtype=dtype)
    ms = timer.ms(lambda: torch.matmul(a, b))
    flops = 2.0 * n ** 3
    for path, p in profiles or [("", None)]:
        peak = (p or {}).get("device", {}).get("gemm_peak_tflops")
        ppsim_ms = flops / (peak * 1e12) * 1e3 if peak else None
        note = f"PyTorch {flops / (ms * 1e-3) / 1e12:.1f} TFLOP/s"
        if peak:
            note += f", ppsim (cuBLASLt) {peak:.1f} TFLOP/s ({os.path.basename(path)})"
        out.row(f"gemm {n}^3", "-", f"{n}x{n}x{n}", "forward", ms, ppsim_ms, note)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", action="append", default=[], help="a ppsim profile: its model, shapes and times")
    ap.add_argument("--model", action="append", default=[], help="a model (shipped name or YAML) without a profile")
    ap.add_argument("--micro-batch-size", type=int, default=1, help="with --model (default 1)")
    ap.add_argument("--sequence-length", type=int, default=4096, help="with --model (default 4096)")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp16", "fp32"])
    ap.add_argument("--device", default="cuda", help="cuda (cpu: a smoke test of this script only)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--budget-s", type=float, default=120, help="start no new figure after this many seconds")
    ap.add_argument("--out", default="pytorch.tsv")
    args = ap.parse_args()

    out = Writer(args.out)
    t0 = time.monotonic()
    try:
        import torch
    except ImportError as e:
        out.comment(f"no PyTorch here: {e}")
        return 1
    if args.device == "cuda" and not torch.cuda.is_available():
        out.comment("PyTorch sees no GPU")
        return 1
    cases = cases_from_args(args)
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    out.comment(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
                f"{gpu}; {args.dtype}; median of {args.repeats} after {args.warmup} warm-ups; CUDA events")
    timer = Timer(torch, args.device, args.warmup, args.repeats, t0 + args.budget_s)
    profiles = [(c.profile_path, c.profile) for c in cases if c.profile]
    bench_gemm(torch, args, timer, out, profiles)
    for case in cases:
        if timer.out_of_time():
            out.comment(f"budget of {args.budget_s:.0f} s reached before {case.name}")
            break
        try:
            bench_case(torch, case, args, timer, out)
        except Exception as e:  # one model failing (memory, a missing module) must not lose the others
            out.row("block", case.name, case.shape, "error", None, note=f"{type(e).__name__}: {e}"[:200])
        if args.device == "cuda":
            torch.cuda.empty_cache()
    out.comment(f"done in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
