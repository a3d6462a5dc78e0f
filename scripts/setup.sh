#!/usr/bin/env bash
# Installs ppsim's build dependencies on Debian 12 (as root) and builds it into build/.
#   scripts/setup.sh                     install + Release build
#   scripts/setup.sh --with-test-tools   also clang and libFuzzer (the sanitized build and the
#                                        fuzzing that scripts/test.sh runs)
# Every Debian package the project needs is listed here and nowhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  cmake ninja-build g++ pkg-config     # toolchain
  libboost-graph-dev                   # the dependency DAG (compressed sparse row graph)
  libboost-program-options-dev         # the command line
  libyaml-cpp-dev                      # schedule.yaml, models, profiles
  libeigen3-dev                        # CPU calibration kernels, least-squares fits
  libgtest-dev                         # tests
  libbenchmark-dev                     # bench/
  rapidjson-dev                        # ppsim trace: streaming (SAX) JSON reader for profiler traces
  zlib1g-dev                           # ppsim trace: .json.gz traces
  libopenmpi-dev openmpi-bin           # optional at build time: ppsim calibrate under mpirun (several nodes)
  python3                              # tests: the dry run of scripts/gpu_session.sh (its validation rows)
)

TEST_PACKAGES=(
  clang libclang-rt-14-dev             # scripts/test.sh: the ASan + UBSan build and the libFuzzer harnesses
)
if [ "${1:-}" = --with-test-tools ]; then PACKAGES+=("${TEST_PACKAGES[@]}"); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${PPSIM_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$jobs"
echo "setup: built build/ppsim" >&2
