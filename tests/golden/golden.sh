#!/usr/bin/env bash
# The outputs of every example (text and JSON, plus the other report formats on a small one, and
# the CPU measure path on a virtual clock) kept byte for byte: a refactoring must not change them.
#   tests/golden/golden.sh PPSIM check    compare with tests/golden/expected/ (the ctest test)
#   tests/golden/golden.sh PPSIM update   rewrite tests/golden/expected/ (after an intended change)
set -euo pipefail
ppsim=$(realpath "$1")
mode=${2:-check}
root=$(cd "$(dirname "$0")/../.." && pwd)
expected=$root/tests/golden/expected
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$root"  # paths in the reports are relative to the repository root

run() {  # run NAME ARGS...: stdout to NAME.txt; any file the args name under $out is kept too
  local name=$1
  shift
  "$ppsim" "$@" >"$out/$name.txt" 2>/dev/null
}
for f in examples/*.yaml; do
  n=$(basename "$f" .yaml)
  case $n in measure-*) continue ;; esac
  run "simulate-$n" simulate "$f" --json "$out/simulate-$n.json"
done
run simulate-embedded simulate
run simulate-1f1b-formats simulate examples/1f1b.yaml --timeline --width 120 --with-ops --json "$out/simulate-1f1b-formats.json" \
  --trace "$out/simulate-1f1b-formats.trace.json" --svg "$out/simulate-1f1b-formats.svg" --order-csv "$out/simulate-1f1b-formats.csv"
run simulate-training-step-formats simulate examples/llama3-8b-8-h100.yaml --timeline --width 120 --with-ops \
  --json "$out/simulate-training-step-formats.json" --trace "$out/simulate-training-step-formats.trace.json" \
  --svg "$out/simulate-training-step-formats.svg"
run simulate-interleaved-timeline simulate examples/interleaved.yaml --timeline --width 100 -q
run measure-tiny-1f1b-virtual measure examples/measure-tiny-1f1b.yaml --virtual-clock --compare --iterations 2 \
  --json "$out/measure-tiny-1f1b-virtual.json" --trace "$out/measure-tiny-1f1b-virtual.trace.json"

if [ "$mode" = update ]; then
  rm -rf "$expected"
  mkdir -p "$expected"
  cp "$out"/* "$expected/"
  echo "golden: updated $(ls "$expected" | wc -l) files in $expected"
  exit 0
fi
if diff -r "$expected" "$out" >"$out.diff"; then
  echo "golden: $(ls "$expected" | wc -l) outputs identical"
  rm -f "$out.diff"
else
  head -n 60 "$out.diff"
  echo "golden: outputs differ from tests/golden/expected (run tests/golden/golden.sh build/ppsim update if intended)"
  rm -f "$out.diff"
  exit 1
fi
