#!/usr/bin/env bash
# Instructions per awaited call of each case (callgrind; the difference
# between 1,000 and 3,000 calls).
#   benchmarks/experiments/c_binding/count.sh PYTHON BUILD_DIR [CASE ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$1"; build="$2"; shift 2
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  cases=(tight_raw tight_python tight_c fresh_raw fresh_python fresh_c)
fi
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$python" "$here/measure.py" "$build" "$1" "$2" 2>&1 \
    | grep -o "Collected : [0-9]*" | grep -o "[0-9]*"
}
for case in "${cases[@]}"; do
  a=$(count 1000 "$case"); b=$(count 3000 "$case")
  echo "$case: $(( (b - a) / 2000 )) instructions per call"
done
