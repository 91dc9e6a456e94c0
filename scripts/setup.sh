#!/usr/bin/env bash
# Set up a fresh Debian machine for qforge: the open tools (pinned Debian
# packages), the Xilinx ap_types headers for C simulation, the UCI 8x8 digits
# (scripts/setup-digits.sh), and a release build.
#
#   scripts/setup.sh            install everything (needs root or sudo for apt)
#
# Versions used and tested (Debian bookworm): yosys 0.23, iverilog 11.0,
# verilator 5.006, g++ 12, slurm-wlm 22.05 with munge, hls4ml 1.3.0's ap_types.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

packages="yosys iverilog verilator g++ tcl slurm-wlm munge python3-pip"
missing=""
for p in $packages; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >&2
fi
"$repo/scripts/setup-ap-types.sh" >&2
"$repo/scripts/setup-digits.sh" >&2
cargo build --release --manifest-path "$repo/Cargo.toml" >&2
echo "qforge is built: $repo/target/release/qforge" >&2
