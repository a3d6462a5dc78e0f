#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz: clang, AddressSanitizer + UndefinedBehaviorSanitizer)
# into build-fuzz/ and runs each from its seed corpus. New inputs go to build-fuzz/corpus/, crashers
# to build-fuzz/crashes/; copy a crasher into tests/fuzz/regressions/<harness>/ to keep it as a test.
#   scripts/fuzz.sh                        each harness for about 20 seconds (what CI runs): a fixed
#                                          number of runs from a fixed seed, so that CI mutates from
#                                          the same start every time (not bit for bit: coverage that
#                                          depends on threads and timing still steers it)
#   scripts/fuzz.sh -runs=1000000          each harness for a million executions
#   FUZZ_HARNESSES="profile" scripts/fuzz.sh -max_total_time=60
#   PPSIM_FUZZ_WITH_TESTS=1 scripts/fuzz.sh   first run the end-to-end tests under the sanitizers
#                                             (what scripts/test.sh does; see SANITIZED_TESTS)
#   PPSIM_FUZZ_WITH_TESTS=all scripts/fuzz.sh every test binary under the sanitizers (about twice
#                                             the build time)
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-}
# CI's budget per harness: about 20 s at this VM's rate under the sanitizers, as runs, not seconds.
ci_runs() {
  case $1 in
    schedule_yaml) echo 60000 ;; order_csv) echo 400000 ;; profile) echo 20000 ;;
    model_yaml) echo 100000 ;; command_line) echo 120000 ;; *) echo 20000 ;;
  esac
}
harnesses=${FUZZ_HARNESSES:-schedule_yaml order_csv profile model_yaml command_line}
jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DPPSIM_FUZZ=ON -DPPSIM_SANITIZE=ON -DPPSIM_CUDA=OFF -DPPSIM_MPI=OFF \
    -DPPSIM_BUILD_BENCH=OFF >/dev/null
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The test binaries built in CI's sanitized pass. Compiling is most of CI's time (the clang ASan
# build of every test binary alone takes longer than the Release build), so CI builds those that
# drive the sanitized ppsim executable end to end (every example through the golden outputs, the
# command line, the calibrate -> measure -> compare loop, exit codes) and the threaded measure
# runner; the Release build runs all of them.
SANITIZED_TESTS="ppsim_cli_tests ppsim_reliability_tests ppsim_base_tests ppsim_measure_tests"
if [ "${PPSIM_FUZZ_WITH_TESTS:-0}" = all ]; then
  cmake --build build-fuzz -j"$jobs"
  ctest --test-dir build-fuzz --output-on-failure -j"$jobs"
elif [ "${PPSIM_FUZZ_WITH_TESTS:-0}" = 1 ]; then
  targets=(ppsim $SANITIZED_TESTS)
  for h in $harnesses; do targets+=("fuzz_$h"); done
  cmake --build build-fuzz -j"$jobs" --target "${targets[@]}"
  # Test binaries not built here appear in ctest as <target>_NOT_BUILT.
  ctest --test-dir build-fuzz --output-on-failure -j"$jobs" -E "_NOT_BUILT|calibrate_mpirun"
else
  targets=()
  for h in $harnesses; do targets+=("fuzz_$h"); done
  cmake --build build-fuzz -j"$jobs" --target "${targets[@]}"
fi
status=0
for h in $harnesses; do
  mkdir -p "build-fuzz/corpus/$h" "build-fuzz/crashes/$h"
  flags=$budget
  [ -n "$flags" ] || flags="-runs=$(ci_runs "$h") -seed=1"
  echo "== fuzz_$h ($flags)"
  # Absolute paths: the command-line harness works in a scratch folder of its own.
  # shellcheck disable=SC2086 # $flags holds one or two options
  if ! build-fuzz/tests/fuzz/fuzz_"$h" $flags -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$PWD/build-fuzz/crashes/$h/" "$PWD/build-fuzz/corpus/$h" "$PWD/tests/fuzz/corpus/$h" \
      2> "build-fuzz/fuzz_$h.log"; then
    status=1
    tail -n 40 "build-fuzz/fuzz_$h.log"
  fi
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)|cov:" "build-fuzz/fuzz_$h.log" | tail -n 4
done
exit $status
