#!/usr/bin/env bash
# Training speed of the digits CNN, qforge and QKeras side by side on one core
# (issue 18): the same net (examples/digits_cnn.toml), the same number of
# training samples and batch size, both pinned to core 0, one after the other.
# A developer benchmark, not run by the tests; needs the QKeras venv that
# scripts/peers/qkeras_cnn_bench.py names and a release build of qforge.
#
#   scripts/peers/cnn_train_bench.sh [TRAIN_SAMPLES] [BATCH] [EPOCHS] [VENV]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
train="${1:-20000}"
batch="${2:-32}"
epochs="${3:-4}"
venv="${4:-/work/venv-qkeras}"
qforge=target/release/qforge
[ -x "$qforge" ] || { echo "cnn_train_bench.sh: build qforge first (cargo build --release)" >&2; exit 2; }
[ -x "$venv/bin/python" ] || { echo "cnn_train_bench.sh: no QKeras venv at $venv (see scripts/peers/qkeras_cnn_bench.py)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# qforge splits 60/20/20: ask for the total that leaves `train` training samples.
total=$(( (train * 5 + 2) / 3 ))
sed -e "s/^batch_size = .*/batch_size = $batch/" -e "s/^epochs = .*/epochs = $epochs/" -e "s/^patience = .*/patience = $epochs/" \
    examples/digits_cnn.toml > "$work/cnn.toml"
taskset -c 0 "$qforge" train --spec "$work/cnn.toml" --samples "$total" --out "$work/q" --json > "$work/qforge.json"
python3 - "$work/qforge.json" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))
rates = [e["samples_per_second"] for e in r["training"]["epochs"][1:]]
print(json.dumps({"tool": "qforge", "samples": r["evaluation"]["samples"] * 3, "samples_per_second": rates,
                  "median_samples_per_second": statistics.median(rates)}))
PY
taskset -c 0 "$venv/bin/python" scripts/peers/qkeras_cnn_bench.py --samples "$train" --batch "$batch" --epochs "$epochs"
