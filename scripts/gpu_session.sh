#!/usr/bin/env bash
# One GPU session in one call, on the device machine (H200 or H100), from the repository root with
# .carry/ built here by scripts/gpu_carry_build.sh. It always hands back what it has: one overall
# deadline (8 minutes by default), each step's time budget taken from what is left, and each step's
# log and results copied into $OUT as soon as the step ends (at most 8 files: the device tool brings
# back no more). Most valuable first:
#   1. kernel numerics: the CUDA tests (every kernel, the cuDNN attention too, against the float64
#      reference; SM partitions; the GPU pipeline runner against its non-pipelined reference);
#   2. one calibration: Llama-3 8B, bf16, micro-batch 1, sequence 4096, whole GPU (its wall time is
#      the issue's 60 s target); retried with --attention own if the default (cuDNN) one fails;
#   3. GPT-3 125M on the SM partition each of 2 ranks gets (the driver's split: --sms 1/2), alone
#      and two at once (--partitions 2); then P = 2 measured runs of gpipe, 1f1b, zb-h1 and zb-h2
#      with both ranks sharing the GPU (--share-gpu --compare), predicted from both profiles: the
#      GPU rows of docs/validation.md (validation.tsv, one row per run as it ends);
#   4. the same transformer blocks in PyTorch (scripts/pytorch_block_bench.py): pytorch.tsv;
#   5. if time is left: cuDNN's attention on more shapes, Llama-3 8B with --attention own (ppsim's
#      kernel against cuDNN's), and with two GPUs or more a 2-rank NCCL run.
#
# Usage: bash scripts/gpu_session.sh [--dry-run] [--deadline SECONDS]
#   OUT         output folder (default ./gpu-session-out; the device tool sets it)
#   DEADLINE_S  the overall deadline in seconds (default 480; --deadline wins)
#   DRY_RUN=1   (or --dry-run) no GPU: every step is faked (DRY_STEP_S seconds each, default 1;
#               DRY_FAIL=STEP makes that step fail), so the deadline, the files and the summary can
#               be checked anywhere (tests/scripts/gpu_session_dry_run.sh does).
# Files in $OUT: session.log (environment, one line per step, the summary), numerics.log,
# runs.log (calibrations, measured runs, PyTorch), validation.tsv, pytorch.tsv and three profiles
# named after the GPU: llama3-8b-<gpu>.yaml, gpt3-125m-<gpu>-sms<N>-alone.yaml, -x2.yaml.
set -uo pipefail

# ---- Fakes for --dry-run: the same steps, no GPU. Each prints what the real tool would, roughly,
# and writes the files the real one would (a profile, a measure JSON, a PyTorch TSV). ----
fake_tool() {
  local tool=$1
  shift
  sleep "${DRY_STEP_S:-1}"
  if [ -n "${DRY_FAIL:-}" ] && [ "${STEP_NAME:-}" = "$DRY_FAIL" ]; then
    echo "dry run: $STEP_NAME fails (DRY_FAIL)"
    return 1
  fi
  local out="" json="" sms=0 i args=("$@")
  for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
      --out) out=${args[i + 1]} ;;
      --json) json=${args[i + 1]} ;;
      --sms) sms=64 ;;
    esac
  done
  case $tool in
    test) echo "[==========] dry run: $*"; echo "[  PASSED  ] 1 test." ;;
    ppsim)
      case ${1:-} in
        calibrate)
          printf 'schema_version: 1\ndevice:\n  kind: cuda\n  name: "dry run"\n  sms: %s\n  attention: own\n' "$sms" > "$out"
          echo "dry run: ppsim $*"
          echo "wall time: 1.0 s (set-up 0.1 s, numerics 0.1 s, layers 0.8 s)"
          ;;
        measure)
          echo "dry run: ppsim $*"
          printf '{"predicted_makespan_ns": 100000000, "measured_makespan_ns": 102000000, "throughput_error_pct": 2.0, "measured": {"num_stages": 2, "num_microbatches": 8}}\n' > "$json"
          ;;
        *) echo "ppsim (dry run)" ;;
      esac
      ;;
    python)
      echo "dry run: pytorch_block_bench.py $*"
      printf 'what\tmodel\tpass\tpytorch_ms\tppsim_ms\tppsim_over_pytorch\n' > "$out"
      printf 'block\tllama3-8b\tforward\t10.0\t10.5\t1.050\n' >> "$out"
      ;;
  esac
}
# The dry run's steps call this script again as `gpu_session.sh --fake TOOL ARGS...`.
if [ "${1:-}" = --fake ]; then
  shift
  fake_tool "$@"
  exit $?
fi

dry=${DRY_RUN:-0}
deadline_s=${DEADLINE_S:-480}
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1 ;;
    --deadline) deadline_s=${2:?--deadline needs a number of seconds}; shift ;;
    *) echo "gpu_session.sh: unknown argument '$1' (--dry-run, --deadline SECONDS)" >&2; exit 2 ;;
  esac
  shift
done
case $deadline_s in '' | *[!0-9]*) echo "gpu_session.sh: the deadline must be whole seconds, not '$deadline_s'" >&2; exit 2 ;; esac

out=${OUT:-gpu-session-out}
mkdir -p "$out"
work=$(mktemp -d)
session="$out/session.log"
: > "$session"
start=$SECONDS
deadline=$((start + deadline_s))
if [ "$dry" = 1 ]; then
  reserve=0 min_step=1     # fakes take DRY_STEP_S seconds
else
  reserve=10 min_step=15   # seconds kept for the last copies; a step gets at least this or is skipped
fi
deadline_hit=""  # the step at which the deadline was reached
keep_limit=8     # files the device tool brings back from $OUT

log() { echo "$*" | tee -a "$session"; }
elapsed() { echo $((SECONDS - start)); }
left() { echo $((deadline - SECONDS)); }

# keep SRC NAME: copies a result into $OUT under NAME, at most $keep_limit files in all.
keep() {
  local src=$1 name=$2
  [ -s "$src" ] || return 1
  if [ ! -e "$out/$name" ] && [ "$(find "$out" -maxdepth 1 -type f | wc -l)" -ge "$keep_limit" ]; then
    log "  (not kept: $name, $out already holds $keep_limit files)"
    return 1
  fi
  cp "$src" "$out/$name"
}

# step NAME CAP LOGFILE COMMAND...: runs COMMAND within min(CAP, what the deadline leaves) seconds,
# its output appended to $OUT/LOGFILE under a header; one line in session.log. Returns the
# command's exit code, 124 when it was stopped at its budget, 125 when it was skipped.
step() {
  local name=$1 cap=$2 logfile=$3
  shift 3
  if [ -n "$deadline_hit" ]; then
    log "$(printf '%-34s skipped (deadline reached at step %s)' "$name" "$deadline_hit")"
    return 125
  fi
  local budget=$(($(left) - reserve))
  [ "$budget" -gt "$cap" ] && budget=$cap
  if [ "$budget" -lt "$min_step" ]; then
    deadline_hit=$name
    log "deadline reached at step $name: $(elapsed) s of ${deadline_s} s used, $(left) s left; this and the remaining steps are skipped"
    return 125
  fi
  local t0=$SECONDS rc
  {
    echo
    echo "==== $name  (budget ${budget} s, at $(elapsed) s of ${deadline_s} s)"
    echo "\$ $*"
  } >> "$out/$logfile"
  STEP_NAME=$name timeout --kill-after=5 "$budget" "$@" >> "$out/$logfile" 2>&1
  rc=$?
  local took=$((SECONDS - t0)) what
  case $rc in
    0) what="ok" ;;
    124 | 137)
      what="stopped at its ${budget} s budget"
      if [ "$budget" -lt "$cap" ]; then
        deadline_hit=$name
        what="$what: deadline reached at step $name"
      fi
      rc=124
      ;;
    *) what="failed (exit $rc)" ;;
  esac
  log "$(printf '%-34s %-4s %4d s  %s' "$name" "$([ $rc = 0 ] && echo ok || echo '--')" "$took" "$what")"
  echo "==== $name: $what after $took s" >> "$out/$logfile"
  return $rc
}

# PyTorch loads its own CUDA libraries: it keeps the environment's LD_LIBRARY_PATH, while ppsim's
# gets the folders found below first.
torch_ld=${LD_LIBRARY_PATH:-}
if [ "$dry" = 1 ]; then
  PPSIM=(bash "$0" --fake ppsim)
  TEST_CALIBRATE=(bash "$0" --fake test test_calibrate)
  TEST_PIPELINE=(bash "$0" --fake test test_gpu_pipeline)
  PYTHON=(bash "$0" --fake python)
else
  PPSIM=(.carry/ppsim)
  TEST_CALIBRATE=(.carry/test_calibrate)
  TEST_PIPELINE=(.carry/test_gpu_pipeline)
  PYTHON=(env "LD_LIBRARY_PATH=$torch_ld" python3)
fi

# ---- 0. Environment: which GPU, and where the libraries ppsim opens at run time are. ----
# ppsim dlopens libcublasLt, libnccl and libcudnn (and cuDNN its runtime compiler, libnvrtc): find
# their folders in the Python nvidia-* packages (CUDA 12 and 13 wheels lay them out differently:
# nvidia/cudnn/lib, nvidia/nccl/lib, nvidia/cu13/lib, ...) and the CUDA toolkit.
library_dirs() {
  local roots=() lib
  while IFS= read -r d; do roots+=("$d"); done < <(python3 - <<'PY' 2>/dev/null
import os, site, sys
paths = list(site.getsitepackages()) + [site.getusersitepackages()] + sys.path
seen = set()
for p in paths:
    d = os.path.join(p, "nvidia")
    if os.path.isdir(d) and d not in seen:
        seen.add(d)
        print(d)
PY
  )
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/lib/x86_64-linux-gnu; do [ -d "$d" ] && roots+=("$d"); done
  [ ${#roots[@]} -gt 0 ] || return 0
  # The sonames ppsim was built for (CUDA 13: .carry comes from this machine's CUDA 13 toolkit).
  for lib in libcublasLt.so.13 libnccl.so.2 libcudnn.so.9 libnvrtc.so.13; do
    find "${roots[@]}" -maxdepth 4 -name "$lib" 2>/dev/null | head -n 1 | xargs -r dirname
  done | awk '!seen[$0]++' | paste -sd: -
}

if [ "$dry" = 1 ]; then
  gpu_name="dry run GPU"
  gpus=1
else
  gpu_name=$(timeout 20 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
  gpus=$(timeout 20 nvidia-smi -L 2>/dev/null | grep -c '^GPU')
fi
# "NVIDIA H200" -> h200, "NVIDIA H100 80GB HBM3" -> h100-80gb-hbm3: names the profiles.
gpu=$(echo "${gpu_name:-unknown}" | tr 'A-Z' 'a-z' | sed -e 's/^nvidia //' -e 's/[^a-z0-9]\{1,\}/-/g' -e 's/^-//' -e 's/-$//')
libs=$(library_dirs)
export LD_LIBRARY_PATH=$(echo "$libs:${LD_LIBRARY_PATH:-}" | sed -e 's/^:*//' -e 's/:*$//')
log "gpu_session.sh: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), deadline ${deadline_s} s$([ "$dry" = 1 ] && echo ', DRY RUN (no GPU, faked steps)')"
log "GPUs: ${gpus:-0} x ${gpu_name:-none} (profiles named '$gpu')"
log "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
{
  echo "---- environment"
  git log -1 --oneline 2>/dev/null
  "${PPSIM[@]}" --version 2>&1
  if [ "$dry" != 1 ]; then
    timeout 20 nvidia-smi
    timeout 20 nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv
    ldd .carry/ppsim
    LD_LIBRARY_PATH=$torch_ld timeout 30 python3 -c 'import torch; p = torch.cuda.get_device_properties(0); print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "|", p.name, p.multi_processor_count, "SMs", round(p.total_memory / 2**30), "GiB")'
  fi
  for d in ${libs//:/ }; do echo "$d: $(ls "$d" | grep -E '^lib(cublasLt|nccl|cudnn|nvrtc)[^_]*\.so\.[0-9]+$' | tr '\n' ' ')"; done
  echo "----"
} >> "$session" 2>&1

# ---- 1. Kernel numerics (cuDNN's attention at the models' shapes; its wider matrix comes last). ----
step test-calibrate-gpu 150 numerics.log \
  "${TEST_CALIBRATE[@]}" --gtest_filter='CudaBackend.*:CudaAttentionChoice.*:-CudaBackend.CudnnAttentionMatchesReference'
step test-gpu-pipeline 90 numerics.log "${TEST_PIPELINE[@]}"

# ---- 2. One calibration, timed: Llama-3 8B. ----
llama=llama3-8b-$gpu.yaml
step calibrate-llama3-8b 120 runs.log "${PPSIM[@]}" calibrate --device cuda --model llama3-8b \
  --micro-batch-size 1 --sequence-length 4096 --dtype bf16 --out "$work/$llama"
if [ ! -s "$work/$llama" ] && [ -z "$deadline_hit" ]; then
  # cuDNN's attention failed (or something else did): the in-house kernel still gives a profile.
  step calibrate-llama3-8b-own 90 runs.log "${PPSIM[@]}" calibrate --device cuda --model llama3-8b \
    --micro-batch-size 1 --sequence-length 4096 --dtype bf16 --attention own --out "$work/$llama"
fi
keep "$work/$llama" "$llama"

# ---- 3. GPT-3 125M on each of 2 ranks' SM partition, alone and two at once; measured runs. ----
sms_of() { awk '/^  sms:/ {print $2; exit}' "$1" 2>/dev/null; }
attention_of() { awk '/^  attention:/ {print $2; exit}' "$1" 2>/dev/null; }
declare -A gpt_profile
for cal in alone x2; do
  extra=()
  [ "$cal" = x2 ] && extra=(--partitions 2)
  f="$work/gpt3-125m-$cal.yaml"
  step "calibrate-gpt3-125m-$cal" 60 runs.log "${PPSIM[@]}" calibrate --device cuda --model gpt3-125m \
    --micro-batch-size 1 --sequence-length 4096 --sms 1/2 "${extra[@]}" --out "$f"
  if [ -s "$f" ]; then
    name="gpt3-125m-$gpu-sms$(sms_of "$f")-$cal.yaml"
    keep "$f" "$name"
    gpt_profile[$cal]=$f
  fi
done

tsv="$out/validation.tsv"
printf 'gpu\tschedule\tP\tM\tprofile\tsms\tattention\tpredicted_ms\tmeasured_ms\tthroughput_error_pct\tstatus\n' > "$tsv"
for cal in alone x2; do
  for kind in gpipe 1f1b zb-h1 zb-h2; do
    name="measure-$kind-$cal"
    if [ -z "${gpt_profile[$cal]:-}" ]; then
      log "$(printf '%-34s skipped (no profile: calibrate-gpt3-125m-%s gave none)' "$name" "$cal")"
      printf '%s\t%s\t2\t8\t%s\t\t\t\t\t\tno profile\n' "$gpu" "$kind" "$cal" >> "$tsv"
      continue
    fi
    cfg="$work/$name.yaml"
    { sed "s/^schedule: 1f1b/schedule: $kind/" examples/measure-gpt3-125m-share-gpu.yaml
      echo "profile: ${gpt_profile[$cal]}"; } > "$cfg"
    step "$name" 60 runs.log "${PPSIM[@]}" measure "$cfg" --device cuda --share-gpu --compare \
      --iterations 7 --warmup 2 --json "$work/$name.json"
    rc=$?
    prof="$(sms_of "${gpt_profile[$cal]}")"$'\t'"$(attention_of "${gpt_profile[$cal]}")"
    if [ "$rc" = 125 ]; then
      printf '%s\t%s\t2\t8\t%s\t%s\t\t\t\tskipped (deadline)\n' "$gpu" "$kind" "$cal" "$prof" >> "$tsv"
      continue
    fi
    # One row per run, appended at once (the file is already in $OUT).
    python3 - "$work/$name.json" "$gpu" "$kind" "$cal" "$prof" "$rc" >> "$tsv" <<'PY'
import json, sys
path, gpu, kind, cal, prof, rc = sys.argv[1:]
try:
    j = json.load(open(path))
    m = j["measured"]
    print(f"{gpu}\t{kind}\t{m['num_stages']}\t{m['num_microbatches']}\t{cal}\t{prof}\t"
          f"{j['predicted_makespan_ns'] / 1e6:.3f}\t{j['measured_makespan_ns'] / 1e6:.3f}\t"
          f"{j['throughput_error_pct']:+.2f}\tok")
except Exception as e:
    print(f"{gpu}\t{kind}\t2\t8\t{cal}\t{prof}\t\t\t\tno result (exit {rc}: {type(e).__name__})")
PY
  done
done

# ---- 4. The same blocks in PyTorch, with a GPT-3 125M whole-GPU profile beside Llama-3 8B's. ----
gpt_whole="$work/gpt3-125m-whole.yaml"
step calibrate-gpt3-125m-whole 45 runs.log "${PPSIM[@]}" calibrate --device cuda --model gpt3-125m \
  --micro-batch-size 1 --sequence-length 4096 --no-transfers --out "$gpt_whole"
profiles=()
for f in "$work/$llama" "$gpt_whole"; do [ -s "$f" ] && profiles+=(--profile "$f"); done
# Its own budget (it starts no new figure after it) inside the step's, so it ends on its own.
pt_budget=$(($(left) - reserve - 30))
[ "$pt_budget" -gt 120 ] && pt_budget=120
[ "$pt_budget" -lt 10 ] && pt_budget=10
step pytorch-blocks 150 runs.log "${PYTHON[@]}" scripts/pytorch_block_bench.py --out "$work/pytorch.tsv" \
  --budget-s "$pt_budget" "${profiles[@]}"
keep "$work/pytorch.tsv" pytorch.tsv

# ---- 5. If time is left. ----
step test-cudnn-attention-shapes 90 numerics.log \
  "${TEST_CALIBRATE[@]}" --gtest_filter='CudaBackend.CudnnAttentionMatchesReference'
step calibrate-llama3-8b-own-attention 90 runs.log "${PPSIM[@]}" calibrate --device cuda --model llama3-8b \
  --micro-batch-size 1 --sequence-length 4096 --dtype bf16 --attention own --no-transfers --out "$work/llama-own.yaml"
if [ "${gpus:-0}" -ge 2 ]; then
  step calibrate-gpt3-125m-nccl 60 runs.log "${PPSIM[@]}" calibrate --device cuda --gpus 0,1 --model gpt3-125m \
    --micro-batch-size 1 --sequence-length 4096 --out "$work/gpt3-125m-nccl.yaml"
  if [ -s "$work/gpt3-125m-nccl.yaml" ]; then
    { cat examples/measure-gpt3-125m-share-gpu.yaml; echo "profile: $work/gpt3-125m-nccl.yaml"; } > "$work/nccl-1f1b.yaml"
    step measure-nccl-1f1b 60 runs.log "${PPSIM[@]}" measure "$work/nccl-1f1b.yaml" --device cuda --compare \
      --iterations 7 --warmup 2
  fi
fi

# ---- Summary: the headline numbers, read back from the logs. ----
{
  echo
  echo "---- summary ($(elapsed) s of ${deadline_s} s${deadline_hit:+; deadline reached at step $deadline_hit})"
  grep -h -E '^\[  (PASSED|FAILED)  \]|tests? (ran|FAILED)' "$out/numerics.log" 2>/dev/null
  grep -h -E '^==== calibrate|^attention:|^wall time:|^GEMM peak' "$out/runs.log" 2>/dev/null
  echo "validation rows (validation.tsv):"
  column -t -s $'\t' "$tsv" 2>/dev/null || cat "$tsv"
} >> "$session"
log "session finished after $(elapsed) s; files in $out: $(cd "$out" && ls | tr '\n' ' ')"
# The configs and profiles name $work; nothing else is needed from it.
rm -rf "$work"
