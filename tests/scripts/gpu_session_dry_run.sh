#!/usr/bin/env bash
# scripts/gpu_session.sh without a GPU (--dry-run fakes every step, the deadline and the copies are
# real): a whole session hands back at most 8 files, every validation row and the summary, and a
# failed default calibration is retried with --attention own; a deadline that expires mid-way
# still leaves the files written so far and says at which step it was reached.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/*/session.log; do echo "== $f"; cat "$f"; done
  exit 1
}

# 1. A whole session, steps of 0 s; the default Llama-3 8B calibration fails once.
OUT=$tmp/full DRY_RUN=1 DRY_STEP_S=0 DRY_FAIL=calibrate-llama3-8b bash scripts/gpu_session.sh > "$tmp/full.out"
files=$(find "$tmp/full" -type f | wc -l)
[ "$files" -le 8 ] || fail "$files files in \$OUT (the device tool brings back 8)"
for f in session.log numerics.log runs.log validation.tsv pytorch.tsv llama3-8b-dry-run-gpu.yaml \
  gpt3-125m-dry-run-gpu-sms64-alone.yaml gpt3-125m-dry-run-gpu-sms64-x2.yaml; do
  [ -s "$tmp/full/$f" ] || fail "no $f"
done
[ "$(grep -c $'\tok$' "$tmp/full/validation.tsv")" = 8 ] || fail "validation.tsv lacks its 8 rows"
grep -q '^calibrate-llama3-8b  .*failed (exit 1)' "$tmp/full/session.log" || fail "the failed calibration is not logged"
grep -q '^calibrate-llama3-8b-own .* ok' "$tmp/full/session.log" || fail "no retry with --attention own"
grep -q '^---- summary' "$tmp/full/session.log" || fail "no summary"
grep -q 'session finished after' "$tmp/full/session.log" || fail "the session did not finish"
if grep -q 'deadline reached' "$tmp/full/session.log"; then fail "a deadline was reached without one"; fi

# 2. A deadline that expires mid-way (steps of 3 s, 20 s in all).
t0=$SECONDS
OUT=$tmp/short DRY_RUN=1 DRY_STEP_S=3 bash scripts/gpu_session.sh --deadline 20 > "$tmp/short.out"
took=$((SECONDS - t0))
grep -q 'deadline reached at step ' "$tmp/short/session.log" || fail "no 'deadline reached at step' line"
grep -q ' ok  ' "$tmp/short/session.log" || fail "no step finished before the deadline"
grep -q 'skipped (deadline reached at step' "$tmp/short/session.log" || fail "no step was skipped"
[ -s "$tmp/short/numerics.log" ] || fail "the numerics log written before the deadline is gone"
grep -q 'session finished after' "$tmp/short/session.log" || fail "the session did not finish"
[ "$took" -le 40 ] || fail "a 20 s deadline took $took s"
[ "$(find "$tmp/short" -type f | wc -l)" -le 8 ] || fail "more than 8 files"
echo "gpu_session.sh dry runs: ok (deadline run took $took s)"
