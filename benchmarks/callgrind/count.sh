#!/usr/bin/env bash
# Instructions per call of each case in cases.py, counted by callgrind
# (repeatable on a noisy machine, unlike timings).  The hash seed is fixed:
# with a random one the same code counted +-10% between runs (dict and set
# layouts differ), with PYTHONHASHSEED=0 it counts the same every time.
#   benchmarks/callgrind/count.sh [PYTHON] [CASE ...]
# PYTHONPATH=DIR picks another copy of smartasync (e.g. a git worktree of an
# older commit) for a before/after comparison; SMARTASYNC_NO_EXTENSIONS=1
# counts pure Python where the C accelerator is installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:-python3}"
shift || true
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  cases=(sync_main sync_worker sync_suspending floor floor_suspending await await_raw function_await function_sync gather_genexpr gather_genexpr_raw decorate plain_class)
fi
export PYTHONHASHSEED="${PYTHONHASHSEED:-0}"
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$python" "$here/cases.py" "$1" "$2" 2>&1 \
    | grep -o "Collected : [0-9]*" | grep -o "[0-9]*"
}
for case in "${cases[@]}"; do
  a=$(count 1000 "$case")
  b=$(count 2000 "$case")
  echo "$case: $(( (b - a) / 1000 )) instructions per call"
done
