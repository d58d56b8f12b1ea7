#!/usr/bin/env bash
# Compile _cbind.c for PYTHON into DIR (default: a temporary directory, printed).
#   benchmarks/experiments/c_binding/build.sh PYTHON [DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$1"
out="${2:-$(mktemp -d)}"
include="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
suffix="$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
gcc -O2 -shared -fPIC -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
  -I"$include" "$here/_cbind.c" -o "$out/_cbind$suffix"
echo "$out"
