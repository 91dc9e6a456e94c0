#!/usr/bin/env bash
# Install the UCI 8x8 handwritten digits (1797 images, 64 pixels 0..16 and a
# label per row) that qforge's CNN examples and tests use. The file ships,
# under scikit-learn's BSD licence, as sklearn/datasets/data/digits.csv.gz
# inside the scikit-learn wheel on PyPI; only that file is unpacked, and its
# sha256 is checked (every platform's wheel of a version holds the same file).
#
#   scripts/setup-digits.sh [TARGET_FILE]     (default: .deps/digits/digits.csv.gz)
#
# Idempotent: does nothing when TARGET_FILE already exists with the right
# sha256. The wheel is cached in QFORGE_DEPS_CACHE (default .deps/cache).
set -euo pipefail

SKLEARN_VERSION="${SKLEARN_VERSION:-1.9.1}"
DIGITS_SHA256="09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:-$repo/.deps/digits/digits.csv.gz}"
cache="${QFORGE_DEPS_CACHE:-$repo/.deps/cache}"
inside="sklearn/datasets/data/digits.csv.gz"

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$target" ] && [ "$(sha "$target")" = "$DIGITS_SHA256" ]; then
    echo "digits already in $target"
    exit 0
fi

mkdir -p "$cache"
wheel="$(ls "$cache"/scikit_learn-"$SKLEARN_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$wheel" ]; then
    pip="$(command -v pip3 || command -v pip || true)"
    if [ -z "$pip" ]; then
        echo "error: pip is needed to download scikit-learn==$SKLEARN_VERSION (or put its wheel in $cache)" >&2
        exit 1
    fi
    "$pip" download --no-deps --only-binary=:all: --dest "$cache" "scikit-learn==$SKLEARN_VERSION"
    wheel="$(ls "$cache"/scikit_learn-"$SKLEARN_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
fi
[ -n "$wheel" ] || { echo "error: no scikit-learn $SKLEARN_VERSION wheel in $cache" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if command -v unzip >/dev/null 2>&1; then
    unzip -q "$wheel" "$inside" -d "$tmp"
else
    python3 - "$wheel" "$inside" "$tmp" <<'PY'
import sys, zipfile
wheel, inside, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extract(inside, dest)
PY
fi
[ -f "$tmp/$inside" ] || { echo "error: $wheel holds no $inside" >&2; exit 1; }
got="$(sha "$tmp/$inside")"
if [ "$got" != "$DIGITS_SHA256" ]; then
    echo "error: $inside in $wheel has sha256 $got, expected $DIGITS_SHA256" >&2
    exit 1
fi
mkdir -p "$(dirname "$target")"
cp "$tmp/$inside" "$target.partial"
mv "$target.partial" "$target"
echo "digits installed in $target"
