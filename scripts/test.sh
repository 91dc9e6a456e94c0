#!/usr/bin/env bash
# The test command (the README's, and what .ci/run calls): start what the tests
# need, run them, stop it again.
#
#   scripts/test.sh [cargo test arguments...]     e.g. scripts/test.sh --test reports_cli
#
# The slurm_* tests run on a real one-node Slurm cluster on localhost
# (scripts/slurm-cluster.sh, state in $QFORGE_SLURM_STATE or /tmp/qforge-slurm,
# the folder the tests use too). A cluster that was already up is reused and
# left running; one this script started is stopped when the tests end.
# Needs what scripts/setup.sh installs (Yosys, Verilator, g++, Slurm, the
# ap_types headers in .deps/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
state="${QFORGE_SLURM_STATE:-/tmp/qforge-slurm}"
export QFORGE_SLURM_STATE="$state"

if scripts/slurm-cluster.sh status "$state" >/dev/null 2>&1; then
    echo "test.sh: reusing the Slurm cluster in $state" >&2
else
    scripts/slurm-cluster.sh start "$state" >&2
    trap 'scripts/slurm-cluster.sh stop "$state" >&2 || true' EXIT
fi
cargo test --release "$@"
