#!/usr/bin/env python3
"""Independent figures for the DualPipe trace test (tests/trace/real_traces_test.cpp), from the
raw JSON: every GPU event goes to the annotation range its launch happened in (the innermost range
on the launching thread, else on any thread: the autograd engine launches a backward's kernels from
its own thread), ranges named like "attn(F)" are parts of the F, B or W op of their "1F1B" unit,
and each op's time is the union of its kernels' intervals (communication excluded).

    python3 tests/trace/dualpipe_reference.py ../shared/traces/deepseek-dualpipe/train.json.gz
"""
import gzip
import json
import re
import sys
from decimal import ROUND_HALF_UP, Decimal

PART = re.compile(r"^(attn|mlp|dispatch|combine|moe|shared)\(([FBW])\)$")


def ns(x):
    return int((Decimal(x) * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def union(intervals):
    total, end = 0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def main(path):
    with gzip.open(path, "rt") as f:
        ev = json.load(f, parse_float=Decimal)["traceEvents"]
    parts = [e for e in ev if e.get("ph") == "X" and e.get("cat") == "user_annotation" and PART.match(e["name"])]
    launch = {e["args"]["correlation"]: e for e in ev
              if e.get("ph") == "X" and e.get("cat") in ("cuda_runtime", "cuda_driver") and "correlation" in e.get("args", {})}
    kernels = {"F": [], "B": [], "W": []}
    attributed = 0
    gpu = [e for e in ev if e.get("ph") == "X" and e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
    for k in gpu:
        call = launch.get(k["args"].get("correlation"))
        if call is None:
            continue
        t = ns(call["ts"])
        inside = [p for p in parts if ns(p["ts"]) <= t <= ns(p["ts"]) + ns(p["dur"])]
        same = [p for p in inside if p["tid"] == call["tid"]]
        chosen = max(same or inside, key=lambda p: ns(p["ts"]), default=None)
        if chosen is None:
            continue
        attributed += 1
        if "nccl" not in k["name"]:
            kernels[PART.match(chosen["name"]).group(2)].append((ns(k["ts"]), ns(k["ts"]) + ns(k["dur"])))
    print(f"{len(parts)} parts, {len(gpu)} GPU events, {attributed} launched inside a part")
    for kind, ks in kernels.items():
        print(f"  {kind}: {len(ks)} kernels, union {union(ks)} ns")


if __name__ == "__main__":
    main(sys.argv[1])
