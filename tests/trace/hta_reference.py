#!/usr/bin/env python3
"""Independent figures for tests/trace/real_traces_test.cpp, from the raw JSON (no ppsim code).

For each rank: the GPU events of the last ProfilerStep every rank has (an event belongs to the
step when the runtime call that launched it, matched by correlation id, lies inside the step's
host range; an event without one by its own start), then per stream Holistic Trace Analysis'
idle-time rule (hta/analyzers/breakdown_analysis.py, _analyze_idle_time_for_stream): the gap
before each event is host wait when its launch started after the previous event on the stream
ended, kernel wait when it is shorter than 30 ns, other otherwise. Also the per-rank busy time
(union of compute kernels) as ppsim defines it, and the kernel counts per class.

    python3 tests/trace/hta_reference.py tests/data/hta-sampled-ranks/*.json.gz
"""
import gzip
import json
from decimal import ROUND_HALF_UP, Decimal
import re
import sys
from collections import defaultdict


def ns(x):
    # Kineto writes microseconds with up to three decimals; read exactly (a double would not hold
    # today's epoch in nanoseconds).
    return int((Decimal(x) * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f, parse_float=Decimal)


def main(paths):
    traces = [load(p) for p in paths]
    steps = [
        {int(e["name"][13:]): e for e in t["traceEvents"] if e.get("ph") == "X" and str(e.get("name", "")).startswith("ProfilerStep#")}
        for t in traces
    ]
    step = max(set.intersection(*[set(s) for s in steps]))
    for path, t, st in zip(paths, traces, steps):
        ev = t["traceEvents"]
        s0, s1 = ns(st[step]["ts"]), ns(st[step]["ts"]) + ns(st[step]["dur"])
        launch = {e["args"]["correlation"]: ns(e["ts"]) for e in ev
                  if e.get("ph") == "X" and e.get("cat") in ("cuda_runtime", "cuda_driver") and "correlation" in e.get("args", {})}
        gpu = []
        for e in ev:
            if e.get("ph") != "X" or e.get("cat") not in ("kernel", "gpu_memcpy", "gpu_memset"):
                continue
            a = ns(e["ts"])
            at = launch.get(e["args"].get("correlation"), a)
            if s0 <= at <= s1:
                gpu.append((a, a + ns(e["dur"]), e["args"].get("stream", e["tid"]), launch.get(e["args"].get("correlation")), e["name"], e["cat"]))
        by_stream = defaultdict(list)
        for g in gpu:
            by_stream[g[2]].append(g)
        print(f"{path}: step {step}, {len(gpu)} GPU events")
        for stream in sorted(by_stream):
            evs = sorted(by_stream[stream], key=lambda g: g[0])
            host = kern = other = 0
            for prev, cur in zip(evs, evs[1:]):
                gap = cur[0] - prev[1]
                if gap <= 0:
                    continue
                if cur[3] is not None and cur[3] > prev[1]:
                    host += gap
                elif gap < 30:
                    kern += gap
                else:
                    other += gap
            busy = sum(g[1] - g[0] for g in evs)
            print(f"  stream {stream}: events {len(evs)} busy {busy} host_wait {host} kernel_wait {kern} other {other}")
        compute = sorted((g[0], g[1]) for g in gpu if g[5] == "kernel" and not re.search(r"nccl.*Kernel", g[4]))
        merged = []
        for a, b in compute:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        print(f"  compute kernels {len(compute)}, busy {sum(b - a for a, b in merged)}")


if __name__ == "__main__":
    main(sys.argv[1:])
