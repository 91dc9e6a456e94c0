#!/usr/bin/env bash
# QKeras 0.9's own QTools energy for every spec in tests/fixtures/qtools/,
# written beside it as NAME.qtools.json (a developer's tool; tests read the
# committed results). Needs a virtualenv with QKeras 0.9 and TensorFlow 2.15:
#   python3 -m venv /work/venv-qkeras && /work/venv-qkeras/bin/pip install tensorflow-cpu==2.15.1 qkeras==0.9.0 pyparsing
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
python="${QKERAS_PYTHON:-/work/venv-qkeras/bin/python}"
for spec in "$here"/tests/fixtures/qtools/*.toml; do
  out="${spec%.toml}.qtools.json"
  "$python" "$here/scripts/peers/qtools_energy.py" "$spec" > "$out.tmp" 2> "$out.log" || { cat "$out.log" >&2; exit 1; }
  mv "$out.tmp" "$out"
  rm -f "$out.log"
  echo "$out"
done
