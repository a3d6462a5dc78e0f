#!/usr/bin/env bash
# The layering, checked (CI runs it from scripts/test.sh). Each top folder is one library and every
# include points down:
#   0 base                        time, errors, allocator, YAML reader, version
#   1 schedules | models          pure generators | model, hardware, cost model, profiles
#   2 sim       | calibrate       config, DAG, engine, metrics, reports | backends that write profiles
#   3 measure   | plan            runs schedules for real; predicted vs measured | the configuration search
#   4 cli                         the ppsim command
#   5 bench, tests                may include any library (tests also private headers)
# Libraries on one layer do not include each other. Headers under a library's detail/ folder are
# private to it. With a build folder as $1, it also checks that ppsim_sim and the simulator
# benchmark link no CUDA, NCCL or MPI library.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-}

layer_of() {
  case $1 in
    base) echo 0 ;;
    schedules | models) echo 1 ;;
    sim | calibrate) echo 2 ;;
    measure | plan) echo 3 ;;
    cli) echo 4 ;;
    bench | tests) echo 5 ;;
    *) echo -1 ;;
  esac
}

bad=0
checked=0
while IFS= read -r file; do
  from=${file%%/*}
  from_layer=$(layer_of "$from")
  [ "$from_layer" -ge 0 ] || continue
  while IFS= read -r inc; do
    to=${inc%%/*}
    to_layer=$(layer_of "$to")
    [ "$to_layer" -ge 0 ] || continue  # a system or generated header
    checked=$((checked + 1))
    if [ "$to" != "$from" ]; then
      if [ "$to_layer" -ge "$from_layer" ] && [ "$from_layer" -lt 5 ]; then
        echo "layering: $file includes $inc: $to (layer $to_layer) is not below $from (layer $from_layer)"
        bad=$((bad + 1))
      fi
      if [[ $inc == */detail/* ]] && [ "$from" != tests ]; then
        echo "layering: $file includes $inc, a private header of $to"
        bad=$((bad + 1))
      fi
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' '*.h.in')

if [ -n "$build" ]; then
  # The link lines of the simulator library's users that must stay free of GPU and MPI libraries.
  for target in ppsim_bench ppsim_sim_tests; do
    line=$(grep -E -A3 "^build ([^:]*/)?$target:" "$build/build.ninja" | grep -m1 "LINK_LIBRARIES" || true)
    [ -n "$line" ] || continue
    if grep -qiE "cuda|cublas|nccl|mpi" <<<"$line"; then
      echo "layering: $target links a CUDA, NCCL or MPI library: $(grep -oiE '[^ ]*(cuda|cublas|nccl|mpi)[^ ]*' <<<"$line" | sort -u | tr '\n' ' ')"
      bad=$((bad + 1))
    fi
    exe=$(find "$build" -name "$target" -type f -perm -u+x | head -1)
    if [ -n "$exe" ] && ldd "$exe" | grep -qiE "cuda|cublas|nccl|mpi"; then
      echo "layering: $exe loads $(ldd "$exe" | grep -iE 'cuda|cublas|nccl|mpi' | awk '{print $1}' | tr '\n' ' ')"
      bad=$((bad + 1))
    fi
  done
fi

if [ "$bad" -gt 0 ]; then
  echo "layering: $bad problem(s) in $checked project includes"
  exit 1
fi
echo "layering: $checked project includes point down${build:+; ppsim_bench and ppsim_sim_tests link no CUDA, NCCL or MPI library}"
