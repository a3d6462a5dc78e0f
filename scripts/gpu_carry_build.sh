#!/usr/bin/env bash
# Builds what a GPU session carries to the device machine (CUDA 13 and a Python whose nvidia-*
# packages hold cuBLASLt, NCCL, cuDNN and NVRTC, but no Boost, yaml-cpp, Open MPI or OpenMP):
# ppsim and the GPU test binaries with Boost, yaml-cpp and the C++ runtime linked in and the CUDA
# runtime static. cuBLASLt, NCCL and cuDNN are not linked at all: ppsim opens them at run time
# (calibrate/cuda/runtime_library.h), and scripts/gpu_session.sh finds their folders on the device
# machine and puts them on LD_LIBRARY_PATH.
# Output: .carry/ (ignored by git; name it in the device tool's `carry`); then, there:
#   bash scripts/gpu_session.sh   (docs/calibration.md, "Running the GPU path", has the whole call)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-static -G Ninja -DCMAKE_BUILD_TYPE=Release -DPPSIM_STATIC=ON -DPPSIM_BUILD_BENCH=OFF >/dev/null
cmake --build build-static -j"$(nproc)" --target ppsim test_calibrate test_gpu_pipeline
rm -rf .carry && mkdir -p .carry
cp build-static/ppsim build-static/tests/calibrate/test_calibrate build-static/tests/measure/test_gpu_pipeline .carry/
strip .carry/* 2>/dev/null || true  # symbols are not needed there, and the carry must stay under 64 MiB
# .carry/ is in .gitignore, so the device tool carries it only when named in `carry`.
echo "carry .carry/ ($(du -sh .carry | cut -f1)); libraries the binaries still load at start:"
ldd .carry/ppsim | grep -v -E 'linux-vdso|ld-linux|libc.so|libm.so|libdl.so|libpthread.so|librt.so' || true
# The libraries opened at run time must not be linked (a binary linked to them does not start
# where they are missing, and would not pick up the device machine's own versions).
if ldd .carry/ppsim .carry/test_calibrate .carry/test_gpu_pipeline | grep -E 'libcublas|libnccl|libcudnn|libcudart'; then
  echo "gpu_carry_build.sh: a binary links a CUDA library that ppsim should open at run time" >&2
  exit 1
fi
.carry/ppsim --version
echo "opened at run time there: libcublasLt.so.13, libnccl.so.2, libcudnn.so.9 (cuDNN's engines need libnvrtc)"
