#!/usr/bin/env bash
# Builds what a GPU session carries to the device machine (which has CUDA 13 and a Python with the
# nvidia-nccl-cu13 wheel, but no Boost, yaml-cpp, Open MPI or OpenMP): ppsim and the GPU test
# binaries with Boost, yaml-cpp and the C++ runtime linked in and the CUDA runtime static.
# Output: .carry/ (ignored by git; name it in the device tool's `carry`), then run
# scripts/gpu_session.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-static -G Ninja -DCMAKE_BUILD_TYPE=Release -DPPSIM_STATIC=ON -DPPSIM_BUILD_BENCH=OFF >/dev/null
cmake --build build-static -j"$(nproc)" --target ppsim test_calibrate test_gpu_pipeline
rm -rf .carry && mkdir -p .carry
cp build-static/ppsim build-static/tests/calibrate/test_calibrate build-static/tests/calibrate/test_gpu_pipeline .carry/
# .carry/ is in .gitignore, so the device tool carries it only when named in `carry`.
echo "carry .carry/ ($(du -sh .carry | cut -f1)); libraries still needed there:"
ldd .carry/ppsim | grep -v -E 'linux-vdso|ld-linux|libc.so|libm.so|libdl.so|libpthread.so|librt.so' || true
