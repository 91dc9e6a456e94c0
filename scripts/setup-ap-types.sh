#!/usr/bin/env bash
# Install the Xilinx ap_types headers (ap_fixed.h, ap_int.h, ...) that the C
# simulation of qforge's HLS projects compiles against. They ship, under the
# Apache 2.0 licence, inside the hls4ml wheel on PyPI; only that folder is
# unpacked (no TensorFlow or hls4ml installation is needed).
#
#   scripts/setup-ap-types.sh [TARGET_DIR]     (default: .deps/ap_types in the checkout)
#
# Idempotent: does nothing when TARGET_DIR already holds ap_fixed.h. The wheel
# is cached in QFORGE_DEPS_CACHE (default .deps/cache). Then either run qforge
# from this checkout, or export QFORGE_AP_TYPES=TARGET_DIR.
set -euo pipefail

HLS4ML_VERSION="${HLS4ML_VERSION:-1.3.0}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:-$repo/.deps/ap_types}"
cache="${QFORGE_DEPS_CACHE:-$repo/.deps/cache}"
wheel="$cache/hls4ml-$HLS4ML_VERSION-py3-none-any.whl"
inside="hls4ml/templates/vivado/ap_types"

if [ -f "$target/ap_fixed.h" ]; then
    echo "ap_types already in $target"
    exit 0
fi

mkdir -p "$cache"
if [ ! -f "$wheel" ]; then
    pip="$(command -v pip3 || command -v pip || true)"
    if [ -z "$pip" ]; then
        echo "error: pip is needed to download hls4ml==$HLS4ML_VERSION (or put the wheel at $wheel)" >&2
        exit 1
    fi
    "$pip" download --no-deps --only-binary=:all: --dest "$cache" "hls4ml==$HLS4ML_VERSION"
fi
[ -f "$wheel" ] || { echo "error: $wheel was not downloaded" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if command -v unzip >/dev/null 2>&1; then
    unzip -q "$wheel" "$inside/*" -d "$tmp"
else
    python3 - "$wheel" "$inside" "$tmp" <<'PY'
import sys, zipfile
wheel, inside, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extractall(dest, [n for n in z.namelist() if n.startswith(inside + "/")])
PY
fi
[ -f "$tmp/$inside/ap_fixed.h" ] || { echo "error: $wheel holds no $inside/ap_fixed.h" >&2; exit 1; }
mkdir -p "$(dirname "$target")"
rm -rf "$target.partial"
cp -R "$tmp/$inside" "$target.partial"
mv "$target.partial" "$target"
echo "ap_types installed in $target"
