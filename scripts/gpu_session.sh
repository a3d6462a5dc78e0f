#!/usr/bin/env bash
# Runs on the GPU device machine, from the repository root, with .carry/ from
# scripts/gpu_carry_build.sh: the GPU tests, calibrations of the tiny model and Llama-3 8B (bf16,
# micro-batch 1, sequence 4096), and a measured run when there are 2 GPUs. Everything it writes
# goes to ${OUT:-out}/ (logs and profiles to commit under examples/profiles/).
set -uo pipefail
out=${OUT:-out}
mkdir -p "$out"
nccl_lib=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(os.path.dirname(nvidia.nccl.__file__), "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH=${nccl_lib:+$nccl_lib:}/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
{
  nvidia-smi
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  ldd .carry/ppsim
} > "$out/environment.log" 2>&1
.carry/test_calibrate --gtest_filter='CudaBackend.*' > "$out/test_calibrate_gpu.log" 2>&1
.carry/test_gpu_pipeline > "$out/test_gpu_pipeline.log" 2>&1
.carry/ppsim calibrate --device cuda --model tiny --sequence-length 4096 --out "$out/tiny-h100.yaml" \
  > "$out/calibrate-tiny.log" 2>&1
.carry/ppsim calibrate --device cuda --model llama3-8b --micro-batch-size 1 --sequence-length 4096 --dtype bf16 \
  --out "$out/llama3-8b-h100.yaml" > "$out/calibrate-llama3-8b.log" 2>&1
if [ "$(nvidia-smi -L | wc -l)" -ge 2 ]; then
  sed "s|^hardware: h100-sxm|hardware: h100-sxm\nprofile: $(cd "$out" && pwd)/tiny-h100.yaml|" examples/measure-tiny-1f1b.yaml \
    | sed 's/^sequence_length: 128/sequence_length: 4096/; s/^micro_batch_size: 4/micro_batch_size: 1/' > "$out/measure.yaml"
  .carry/ppsim measure "$out/measure.yaml" --device cuda --compare --json "$out/measure.json" > "$out/measure.log" 2>&1
fi
tail -n 3 "$out"/*.log
