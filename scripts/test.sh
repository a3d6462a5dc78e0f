#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds and runs the whole test suite on the Release build (with the
# GPU code compiled where nvcc exists; GPU tests skip without a GPU), then a clang
# AddressSanitizer + UndefinedBehaviorSanitizer build, whose end-to-end tests must stay clean and
# whose libFuzzer harnesses then fuzz every reader for 20 seconds each (docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-test-tools
jobs=$(nproc 2>/dev/null || echo 2)

echo "== tests (Release) =="
bash scripts/check_layers.sh build
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== end-to-end tests (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and fuzzing =="
PPSIM_FUZZ_WITH_TESTS=1 bash scripts/fuzz.sh
