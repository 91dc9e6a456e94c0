#!/usr/bin/env bash
# After scripts/jet-variants.sh: measure switching energy of every synthesised
# variant's mapped netlist (gate-level simulation, 1 000 test samples, logits
# checked bit for bit), then refit the resource estimator (issue 7) and the
# QTools energy coefficients (issue 9) with k-fold cross-validation.
#
#   scripts/jet-calibrate.sh OUT
#
# Writes OUT/energy_samples.jsonl, OUT/vNN/switching.json,
# OUT/calibration_resources{,_all}.{toml,json} (HLS-flow prices, without and with the collapsed models),
# OUT/calibration_rtl.{toml,json} (the RTL flow's structural prices, from OUT/history.sqlite), OUT/calibration_energy.{toml,json}
# and OUT/energy_calibration.svg. Variants whose network collapsed to chance
# accuracy (all weights zero: no layer logic to measure) are left out of the
# energy fit and said so.
set -euo pipefail
out=${1:?usage: jet-calibrate.sh OUT}
qforge=${QFORGE:-qforge}
samples="$out/energy_samples.jsonl"
: >"$samples"
collapsed=()
for dir in "$out"/*/; do
  v=$(basename "$dir")
  [[ -f $dir/synth.json ]] || { echo "$v: not synthesised yet, skipped" >&2; continue; }
  if [[ -f $dir/train.json ]]; then
    accuracy=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['evaluation']['fixed_accuracy'])" "$dir/train.json")
    if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 0.25 else 1)" "$accuracy"; then
      echo "$v: fixed-point accuracy $accuracy (chance): no layer logic, left out of the energy fit" >&2
      collapsed+=("jet_v$((10#${v#v}))")
      continue
    fi
  fi
  "$qforge" switching --model "$dir/model/model.json" --rtl "$dir/rtl" --samples 40000 --limit 1000 \
    --name "$v" --energy-samples "$samples" --json >"$dir/switching.json"
done
# Resources: one run folder per synthesised jet variant (model.json and Yosys'
# stat.json), all of them and without the collapsed ones (all-zero weights,
# which no trigger team would synthesise).
rm -rf "$out/runs_all" "$out/runs_trained"
for dir in "$out"/*/; do
  v=$(basename "$dir")
  [[ -f $dir/synth.json ]] || continue
  for set in runs_all runs_trained; do
    if [[ $set == runs_trained && $v == v* && " ${collapsed[*]:-} " == *" jet_v$((10#${v#v})) "* ]]; then continue; fi
    mkdir -p "$out/$set/$v"
    cp "$dir/model/model.json" "$dir/rtl/runs/yosys/stat.json" "$out/$set/$v/"
    echo "{\"part\": \"xcvu13p-flga2577-2-e\", \"tool\": \"yosys\", \"flow\": \"qforge rtl ${RTL_FLAGS:---cmvm --pipeline-ns 5}\"}" >"$out/$set/$v/run.json"
  done
done
"$qforge" calibrate --runs "$out/runs_all" --tool yosys --part xcvu13p-flga2577-2-e \
  --out "$out/calibration_resources_all.toml" --json >"$out/calibration_resources_all.json"
"$qforge" calibrate --runs "$out/runs_trained" --tool yosys --part xcvu13p-flga2577-2-e \
  --out "$out/calibration_resources.toml" --json >"$out/calibration_resources.json"
# The RTL/Yosys flow's structural prices ([rtl.*], what `qforge run` estimates
# with) from the history: every trained variant's design priced again by this
# qforge's generator (--reprice), against what Yosys measured.
exclude=()
if [[ ${#collapsed[@]} -gt 0 ]]; then exclude=(--exclude-model "$(IFS=,; echo "${collapsed[*]}")"); fi
"$qforge" calibrate --db "$out/history.sqlite" --flow rtl --reprice --tool yosys --part xcvu13p-flga2577-2-e \
  "${exclude[@]}" --out "$out/calibration_rtl.toml" --json >"$out/calibration_rtl.json"
"$qforge" calibrate --target energy --flow rtl --samples-file "$samples" --tool yosys-switching --part xcvu13p-flga2577-2-e \
  --out "$out/calibration_energy.toml" --json >"$out/calibration_energy.json"
