#!/usr/bin/env bash
# Runs on the GPU device machine, from the repository root, with .carry/ from
# scripts/gpu_carry_build.sh. In one call (how long it takes on an H100 is not known yet; the
# device tool allows 10 minutes a command: a step that fails or stalls should not stop the rest):
#   1. the GPU tests (kernels against the float64 reference, SM partitions, the GPU pipeline runner
#      against its non-pipelined reference: one rank per GPU needs 2 GPUs, shared mode needs 1);
#   2. calibrations of the tiny model and Llama-3 8B (bf16, micro-batch 1, sequence 4096), timed
#      (the issue's target: a full model in under 60 s);
#   3. two GPT-3 125M calibrations on 64-SM partitions (one partition alone, and two at once as the
#      ranks run), then P = 2 measured runs of gpipe, 1f1b, zb-h1 and zb-h2 with both ranks sharing
#      the GPU (--share-gpu --compare), each predicted from both profiles: the GPU rows of
#      docs/validation.md, and which calibration predicts better;
#   4. with 2 GPUs or more, the same 1f1b run with one GPU per rank (NCCL) after a whole-GPU
#      calibration with transfers.
# The device tool brings back at most 8 files from $OUT, so everything goes into one archive,
# $OUT/gpu-session.tar.gz (unpack under examples/profiles/), plus $OUT/summary.log.
set -uo pipefail
out=${OUT:-out}
mkdir -p "$out"
work=$(mktemp -d)
nccl_lib=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(os.path.dirname(nvidia.nccl.__file__), "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH=${nccl_lib:+$nccl_lib:}/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
summary="$out/summary.log"
: > "$summary"

# step NAME COMMAND...: runs COMMAND with its output in $work/NAME.log, stopped after
# $STEP_TIMEOUT seconds (default 150) so that one stalled step cannot use up the call; one line in
# the summary (exit 124: timed out).
step() {
  local name=$1
  shift
  local t0=$SECONDS
  timeout --kill-after=10 "${STEP_TIMEOUT:-150}" "$@" > "$work/$name.log" 2>&1
  local rc=$?
  printf '%-28s exit %d  %4d s  %s\n' "$name" "$rc" $((SECONDS - t0)) "$(tail -n 1 "$work/$name.log" | cut -c1-90)" \
    | tee -a "$summary"
}

{
  date -u
  nvidia-smi
  nvidia-smi -q -d CLOCK | head -40
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  ldd .carry/ppsim
  git log -1 --oneline 2>/dev/null
} > "$work/environment.log" 2>&1
gpus=$(nvidia-smi -L | wc -l)
echo "GPUs: $gpus ($(nvidia-smi --query-gpu=name --format=csv,noheader | head -1))" | tee -a "$summary"

step test_calibrate_gpu .carry/test_calibrate --gtest_filter='CudaBackend.*'
step test_gpu_pipeline .carry/test_gpu_pipeline

step calibrate-tiny .carry/ppsim calibrate --device cuda --model tiny --sequence-length 4096 \
  --out "$work/tiny-h100.yaml"
step calibrate-llama3-8b .carry/ppsim calibrate --device cuda --model llama3-8b --micro-batch-size 1 \
  --sequence-length 4096 --dtype bf16 --out "$work/llama3-8b-h100.yaml"

# Shared GPU: each of the 2 ranks gets 64 of the H100's 132 SMs; the profile is measured on such a
# partition, with device-local copies as the transfers.
step calibrate-gpt3-125m-sms64-alone .carry/ppsim calibrate --device cuda --model gpt3-125m --micro-batch-size 1 \
  --sequence-length 4096 --sms 64 --out "$work/gpt3-125m-h100-sms64-alone.yaml"
step calibrate-gpt3-125m-sms64-x2 .carry/ppsim calibrate --device cuda --model gpt3-125m --micro-batch-size 1 \
  --sequence-length 4096 --sms 64 --partitions 2 --out "$work/gpt3-125m-h100-sms64-x2.yaml"
for cal in alone x2; do
  for kind in gpipe 1f1b zb-h1 zb-h2; do
    { sed "s/^schedule: 1f1b/schedule: $kind/" examples/measure-gpt3-125m-share-gpu.yaml
      echo "profile: $work/gpt3-125m-h100-sms64-$cal.yaml"; } > "$work/share-$kind-$cal.yaml"
    trace=()
    [ "$kind" = 1f1b ] && trace=(--trace "$work/share-1f1b-$cal.trace.json")
    step "measure-share-$kind-$cal" .carry/ppsim measure "$work/share-$kind-$cal.yaml" --device cuda --share-gpu \
      --compare --iterations 7 --warmup 2 --json "$work/share-$kind-$cal.json" "${trace[@]}"
  done
done
python3 - "$work" <<'PY' | tee -a "$summary" > "$work/validation-rows.md"
import json, os, sys
print("| schedule | P | M | profile | predicted makespan | measured makespan | throughput error |")
print("|---|---|---|---|---|---|---|")
for cal, what in [("alone", "64 SMs, alone"), ("x2", "64 SMs, 2 at once")]:
    for kind in ["gpipe", "1f1b", "zb-h1", "zb-h2"]:
        path = os.path.join(sys.argv[1], f"share-{kind}-{cal}.json")
        if not os.path.exists(path):
            print(f"| {kind} | - | - | {what} | (no result) | | |")
            continue
        j = json.load(open(path))
        m = j["measured"]
        print(f"| {kind} | {m['num_stages']} | {m['num_microbatches']} | {what} | "
              f"{j['predicted_makespan_ns']/1e6:.2f} ms | {j['measured_makespan_ns']/1e6:.2f} ms | "
              f"{j['throughput_error_pct']:+.2f} % |")
PY

if [ "$gpus" -ge 2 ]; then
  step calibrate-gpt3-125m-whole .carry/ppsim calibrate --device cuda --gpus 0,1 --model gpt3-125m \
    --micro-batch-size 1 --sequence-length 4096 --out "$work/gpt3-125m-h100.yaml"
  { cat examples/measure-gpt3-125m-share-gpu.yaml; echo "profile: $work/gpt3-125m-h100.yaml"; } > "$work/nccl-1f1b.yaml"
  step measure-nccl-1f1b .carry/ppsim measure "$work/nccl-1f1b.yaml" --device cuda --compare --iterations 7 \
    --warmup 2 --json "$work/nccl-1f1b.json"
fi

# Paths inside the profiles and configs point at $work: make them relative before packing.
sed -i "s|$work/||g" "$work"/*.yaml "$work"/*.log 2>/dev/null
tar -czf "$out/gpu-session.tar.gz" -C "$work" .
echo "packed $(ls "$work" | wc -l) files into gpu-session.tar.gz ($(du -h "$out/gpu-session.tar.gz" | cut -f1))" \
  | tee -a "$summary"
