#!/usr/bin/env bash
# Train, generate and synthesise quantized variants of the jet tagger
# (16→64→32→32→5) through the open flow: the measurements that calibrate the
# resource (issue 7) and energy (issue 9) estimators.
#
#   scripts/jet-variants.sh OUT [FIRST LAST]
#
# RTL_FLAGS picks the generator's options (default: those of `qforge run`'s
# embedded pipeline, examples/pipeline.toml).
#
# Variant i (0-based) takes its per-layer quantizers from the table below.
# 2-bit kernels in every hidden layer (variants 5 and 18) collapse to chance
# accuracy after 4 epochs: all weights zero, no layer logic, which the energy
# calibration leaves out (resources still count them).
# Each variant gets OUT/vNN/{spec.toml,model/model.json,rtl/}; Yosys runs with
# the mapped netlist kept (rtl/runs/yosys/netlist.json) and every run goes
# into OUT/history.sqlite. Variants already synthesised are skipped.
set -euo pipefail
out=${1:?usage: jet-variants.sh OUT [FIRST LAST]}
first=${2:-0}
last=${3:-23}
qforge=${QFORGE:-qforge}
read -r -a rtl_flags <<<"${RTL_FLAGS:---cmvm --pipeline-ns 5}"
mkdir -p "$out"

# kernel1 act1 kernel2 act2 kernel3 act3 kernel4: `bN` = quantized_bits(N,0,alpha=1),
# `pN` = quantized_po2(N), `rN` = quantized_relu(N) (integer bits 0 or as given: rN.I).
variants=(
  "b6 r6 b6 r6 b6 r6 b6"
  "b4 r4 b4 r4 b4 r4 b4"
  "b3 r3 b3 r3 b3 r3 b3"
  "b8 r8 b8 r8 b8 r8 b8"
  "b5 r5 b5 r5 b5 r5 b5"
  "b2 r4 b2 r4 b2 r4 b4"
  "p4 r4 p4 r4 p4 r4 b6"
  "b8 r6 b4 r4 b4 r4 b6"
  "b4 r6 b6 r6 b4 r3 b4"
  "b6 r3 b3 r3 b6 r6 b8"
  "p3 r6 b4 r4 p4 r6 b6"
  "b7 r7 b5 r5 b3 r3 b5"
  "b3 r8 b3 r8 b3 r8 b3"
  "b8 r3 b8 r3 b8 r3 b8"
  "b4 r5 p4 r5 b4 r5 b4"
  "b5 r4 b6 r3 b2 r5 b6"
  "b6 r8.2 b4 r4.2 b4 r6.2 b6"
  "p4 r3 p4 r3 p4 r3 p4"
  "b2 r3 b2 r3 b2 r3 b3"
  "b7 r4 b7 r4 b7 r4 b7"
  "b3 r5 b5 r3 b6 r4 b4"
  "b6 r4.1 b5 r6.3 b3 r4.1 b5"
  "b3 r4 b3 r4 b4 r4 b4"
  "p3 r4 p3 r4 p3 r4 b4"
)

kernel() {
  case $1 in
    b*) echo "quantized_bits(${1#b},0,alpha=1)" ;;
    p*) echo "quantized_po2(${1#p})" ;;
  esac
}
bias() {
  case $1 in
    b*) echo "quantized_bits(${1#b},0,alpha=1)" ;;
    p*) echo "quantized_bits(${1#p},0,alpha=1)" ;;
  esac
}
relu() {
  local spec=${1#r}
  if [[ $spec == *.* ]]; then echo "quantized_relu(${spec%.*},${spec#*.})"; else echo "quantized_relu($spec)"; fi
}

for i in $(seq "$first" "$last"); do
  read -r k1 a1 k2 a2 k3 a3 k4 <<<"${variants[$i]}"
  dir=$(printf "%s/v%02d" "$out" "$i")
  if [[ -f $dir/synth.json ]]; then continue; fi
  mkdir -p "$dir"
  {
    echo "name = \"jet_v$i\""
    echo 'inputs = 16'
    echo 'input_type = "ap_fixed<16,6>"'
    echo 'classes = ["g", "q", "t", "w", "z"]'
    units=(64 32 32 5)
    kernels=("$k1" "$k2" "$k3" "$k4")
    acts=("$a1" "$a2" "$a3")
    for l in 0 1 2 3; do
      printf '\n[[layers]]\ntype = "dense"\nunits = %s\nkernel_quantizer = "%s"\nbias_quantizer = "%s"\n' \
        "${units[$l]}" "$(kernel "${kernels[$l]}")" "$(bias "${kernels[$l]}")"
      if [[ $l -lt 3 ]]; then
        printf '\n[[layers]]\ntype = "activation"\nactivation = "relu"\nquantizer = "%s"\n' "$(relu "${acts[$l]}")"
      else
        printf '\n[[layers]]\ntype = "activation"\nactivation = "softmax"\n'
      fi
    done
    printf '\n[training]\nlearning_rate = 0.002\nbatch_size = 1024\nepochs = 4\npatience = 2\nl1 = 0.0001\nl2 = 0.0\nseed = %d\n' "$((42 + i))"
  } >"$dir/spec.toml"
  "$qforge" train --spec "$dir/spec.toml" --samples 40000 --out "$dir/model" --json >"$dir/train.json"
  "$qforge" rtl --model "$dir/model/model.json" --out "$dir/rtl" "${rtl_flags[@]}" --json >"$dir/rtl.json"
  /usr/bin/time -f "%e s wall, %U s user, %M KB" -o "$dir/yosys.time" \
    "$qforge" synth "$dir/rtl" --tool yosys --flatten --family xcup --netlist --force --timeout 7200 \
    --db "$out/history.sqlite" --json >"$dir/synth.json.tmp"
  mv "$dir/synth.json.tmp" "$dir/synth.json"
done
