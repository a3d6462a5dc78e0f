#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds and runs the whole test suite twice: the Release build
# (with the GPU code compiled where nvcc exists; GPU tests skip without a GPU), then an
# AddressSanitizer + UndefinedBehaviorSanitizer build, which must stay clean.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)

echo "== tests (Release) =="
bash scripts/check_layers.sh build
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer) =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPPSIM_SANITIZE=ON -DPPSIM_CUDA=OFF \
  -DPPSIM_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
