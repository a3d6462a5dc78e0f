#!/usr/bin/env bash
# Predicted vs measured on this machine's CPU: P = 2 runs of gpipe, 1f1b, zb-h1 and zb-h2 on the
# tiny model (examples/measure-tiny-1f1b.yaml with the schedule swapped). Each run calibrates the
# layers first, measures 7 iterations (the median one is compared) and prints one table row, then
# a summary line. SCHEDULES="..." picks others; interleaved-1f1b runs with 2 chunks per rank
# (partition [2, 2, 2, 2]).
# Usage: [SCHEDULES="gpipe 1f1b ..."] scripts/validate_cpu.sh [build/ppsim] [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
ppsim=${1:-build/ppsim}
repeats=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| schedule | P | M | predicted makespan | measured makespan | throughput error |"
echo "|---|---|---|---|---|---|"
for kind in ${SCHEDULES:-gpipe 1f1b zb-h1 zb-h2}; do
  if [ "$kind" = interleaved-1f1b ]; then
    sed "s/^schedule: 1f1b/schedule: $kind\nchunks: 2/; s/^partition: \[4, 4\]/partition: [2, 2, 2, 2]/" \
      examples/measure-tiny-1f1b.yaml > "$tmp/$kind.yaml"
  else
    sed "s/^schedule: 1f1b/schedule: $kind/" examples/measure-tiny-1f1b.yaml > "$tmp/$kind.yaml"
  fi
  for i in $(seq "$repeats"); do
    "$ppsim" measure "$tmp/$kind.yaml" --compare --iterations 7 --warmup 2 --json "$tmp/r.json" >/dev/null 2>&1
    python3 - "$tmp/r.json" "$kind" "$tmp/errors" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
m = j["measured"]
print(f"| {sys.argv[2]} | {m['num_stages']} | {m['num_microbatches']} | {j['predicted_makespan_ns']/1e6:.1f} ms | "
      f"{j['measured_makespan_ns']/1e6:.1f} ms | {j['throughput_error_pct']:+.2f} % |")
with open(sys.argv[3], "a") as f:
    f.write(f"{j['throughput_error_pct']}\n")
PY
  done
done
python3 - "$tmp/errors" <<'PY'
import sys
e = [float(x) for x in open(sys.argv[1])]
a = sorted(abs(x) for x in e)
n = len(a)
median = (a[(n - 1) // 2] + a[n // 2]) / 2
print(f"\n{sum(x <= 5 for x in a)} of {n} runs within 5 %, {sum(x <= 2 for x in a)} within 2 %; "
      f"median |error| {median:.2f} %, worst {a[-1]:.2f} %, mean error {sum(e) / n:+.2f} %")
PY
