#!/usr/bin/env bash
# qforge's and da4ml 0.6.0's Verilog for the same weights, synthesised one
# after the other with the same Yosys script under /usr/bin/time -v: the one
# `qforge synth --tool yosys --flatten` writes by default (synth_xilinx
# -family xcup -top TOP -flatten in two parts with the coarse step's global
# alumacc left out, as src/tools/yosys.rs `script`), and/or the stock
# `synth_xilinx` (`--merge-adders`); prints one table per script (LUT2-6, INV,
# FF, CARRY4, MUXF7/8, stages, Yosys CPU = user + sys, peak RSS) with the
# qforge/da4ml ratios and writes it to OUT/side_by_side.{md,json}.
# Developer tool, not run by the tests. docs/da4ml-side-by-side.md has the results.
#
# usage: scripts/peers/synth_side_by_side.sh [--model MODEL.json] [--out DIR]
#          [--sim-samples N] [--no-sim] [--reuse-da4ml] [--script default|stock|both]
#          [--] [qforge rtl flags...]
#   --model   a qforge model.json (a trained dense model; a final softmax is
#             taken out of both designs). Default: `qforge import` of the shared
#             seed-0 QKeras model (../shared/reference/da4ml_jet_seed0_qkeras.json
#             + _weights.h5); da4ml then traces da4ml_jet_seed0_weights.json as
#             ../shared/reference/peers.md says.
#   flags after the options go to `qforge rtl` unchanged (e.g. --cmvm
#             --pipeline-every 3; later --pipeline-ns 5).
#   --sim-samples N: `qforge rtl-sim` (Verilator) of qforge's design on N test
#             samples (default 10000); --no-sim skips it.
#   --reuse-da4ml: take da4ml's synthesis from OUT/synth_da4ml* if it is there.
#   --script: which Yosys script both designs go through (default: qforge's
#             default; stock: synth_xilinx as it is; both: one run of each).
# Environment: QFORGE (default target/release/qforge), DA4ML_VENV (default
# /work/venv-da4ml), YOSYS (default yosys), SHARED (default /work/shared/reference).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
QFORGE=${QFORGE:-$repo/target/release/qforge}
DA4ML_VENV=${DA4ML_VENV:-/work/venv-da4ml}
YOSYS=${YOSYS:-yosys}
SHARED=${SHARED:-/work/shared/reference}
model="" out="" sim_samples=10000 reuse=0 scripts=default
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --sim-samples) sim_samples=$2; shift 2 ;;
    --no-sim) sim_samples=0; shift ;;
    --reuse-da4ml) reuse=1; shift ;;
    --script) scripts=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
rtl_flags=("$@")
label=$(printf '%s' "${rtl_flags[*]:-default}" | tr -c 'A-Za-z0-9.\n' '_' | sed 's/^_*//')
out=${out:-$repo/qforge-out/side-by-side/${model:+model_}$label}
mkdir -p "$out"
out=$(cd "$out" && pwd)
die() { echo "error: $*" >&2; exit 2; }
case "$scripts" in
  default) scripts=(default) ;;
  stock) scripts=(stock) ;;
  both) scripts=(default stock) ;;
  *) die "--script must be default, stock or both, not $scripts" ;;
esac
[[ -x $QFORGE ]] || die "no qforge executable at $QFORGE (cargo build --release)"
[[ -x $DA4ML_VENV/bin/python ]] || die "no da4ml virtualenv at $DA4ML_VENV (python3 -m venv $DA4ML_VENV && $DA4ML_VENV/bin/pip install da4ml==0.6.0)"
command -v "$YOSYS" >/dev/null || die "yosys not found"

# 1. qforge's model and design.
if [[ -z $model ]]; then
  "$QFORGE" import "$SHARED/da4ml_jet_seed0_qkeras.json" --weights "$SHARED/da4ml_jet_seed0_qkeras_weights.h5" --out "$out/import" >/dev/null
  qmodel=$out/import/model.json
  da4ml_src=(--weights "$SHARED/da4ml_jet_seed0_weights.json")
else
  [[ -f $model ]] || die "$model: no such model"
  # The same model without its softmax (da4ml's design ends at the logits).
  qmodel=$out/model_logits.json
  python3 - "$model" "$qmodel" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for b in m['spec']['blocks']:
    if b['activation'] == 'softmax':
        b['activation'] = 'linear'
json.dump(m, open(sys.argv[2], 'w'))
PY
  da4ml_src=(--model "$qmodel")
fi
"$QFORGE" rtl --model "$qmodel" --out "$out/qforge" --json "${rtl_flags[@]}" > "$out/qforge_rtl.json"

# 2. da4ml's design.
"$DA4ML_VENV/bin/python" "$repo/scripts/peers/da4ml_jet.py" "${da4ml_src[@]}" --out "$out/da4ml" > "$out/da4ml_gen.log"
cat "$out/da4ml_gen.log"

# 3. The same Yosys script for both, one after the other.
synth() { # name script top file...
  local name=$1 script=$2 top=$3; shift 3
  local dir=$out/synth_$name
  [[ $script == stock ]] && dir=${dir}_stock
  mkdir -p "$dir"
  local synth="synth_xilinx -family xcup -top $top -flatten"
  { for f in "$@"; do echo "read_verilog \"$f\""; done
    if [[ $script == stock ]]; then
      echo "$synth"
    else
      # qforge's default (src/tools/yosys.rs `script`): the coarse step's own
      # commands but alumacc, so each adder stays its own carry chain.
      echo "$synth -run begin:coarse"
      echo "techmap -map +/cmp2lut.v -map +/cmp2lcu.v -D LUT_WIDTH=6"
      printf 'share\nopt\nmemory -nomap\nopt_clean\n'
      echo "$synth -run map_memory:"
    fi
    echo "tee -q -o $dir/stat.json stat -json"; } > "$dir/synth.ys"
  echo "yosys: $name, $script script ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  cat /proc/loadavg > "$dir/load_before"
  /usr/bin/time -v -o "$dir/time.txt" "$YOSYS" -q -l "$dir/yosys.log" -s "$dir/synth.ys" > /dev/null
  cat /proc/loadavg > "$dir/load_after"
}
qtop=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"]["top"])' "$out/qforge_rtl.json")
mapfile -t qfiles < <(sed "s#^#$out/qforge/#" "$out/qforge/files.f")
mapfile -t dfiles < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["files"]))' "$out/da4ml/da4ml.json")
for script in "${scripts[@]}"; do
  ddir=$out/synth_da4ml; [[ $script == stock ]] && ddir=$out/synth_da4ml_stock
  if [[ $reuse == 1 && -f $ddir/stat.json && -f $ddir/time.txt ]]; then
    echo "yosys: da4ml reused from $ddir" >&2
  else
    synth da4ml "$script" jet "${dfiles[@]}"
  fi
  synth qforge "$script" "$qtop" "${qfiles[@]}"
done

# 4. Bit-exactness of qforge's design (Verilator against the fixed-point model).
sim=""
if [[ $sim_samples -gt 0 ]]; then
  echo "rtl-sim: $sim_samples samples" >&2
  "$QFORGE" rtl-sim --model "$qmodel" --rtl "$out/qforge" --limit "$sim_samples" > "$out/rtl_sim.txt"
  sim=$(cat "$out/rtl_sim.txt")
fi

# 5. The table.
python3 - "$out" "${rtl_flags[*]:-(defaults)}" "$sim" "${scripts[@]}" <<'PY'
import json, re, sys
from pathlib import Path
out, flags, sim, scripts = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]

def cells(name):
    d = json.loads((out / f'synth_{name}' / 'stat.json').read_text())
    mods = d.get('modules', {})
    c = d['design']['num_cells_by_type'] if 'design' in d and 'num_cells_by_type' in d['design'] else next(iter(mods.values()))['num_cells_by_type']
    return c

def time_v(name):
    t = (out / f'synth_{name}' / 'time.txt').read_text()
    g = lambda k: float(re.search(rf'{re.escape(k)}: (\S+)', t).group(1))
    return g('User time (seconds)') + g('System time (seconds)'), g('Maximum resident set size (kbytes)') / 1024, re.search(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)', t).group(1)

def row(name, stages):
    c = cells(name)
    cpu, rss, wall = time_v(name)
    load = [(out / f'synth_{name}' / f).read_text().split()[:3] for f in ('load_before', 'load_after')]
    return {
        'LUT2-6': sum(c.get(f'LUT{k}', 0) for k in range(2, 7)),
        'LUT1': c.get('LUT1', 0),
        'INV': c.get('INV', 0),
        'FF': sum(v for k, v in c.items() if k.startswith('FD')),
        'CARRY4': c.get('CARRY4', 0),
        'CARRY8': c.get('CARRY8', 0),
        'MUXF7/8': f"{c.get('MUXF7', 0)}/{c.get('MUXF8', 0)}",
        'stages': stages,
        'yosys_cpu_s': round(cpu, 1),
        'peak_rss_mb': round(rss),
        'wall': wall,
        'load_before_after': load,
    }

q = json.loads((out / 'qforge_rtl.json').read_text())['manifest']
d = json.loads((out / 'da4ml' / 'da4ml.json').read_text())
cols = ['LUT2-6', 'INV', 'FF', 'CARRY4', 'MUXF7/8', 'stages', 'yosys_cpu_s', 'peak_rss_mb']
num = [k for k in cols if k != 'MUXF7/8']
rows, ratio = {}, {}
lines = [f'qforge rtl {flags}  vs  da4ml {d["da4ml_version"]} (latency_cutoff {d["latency_cutoff"]}, estimate {d["estimated_luts"]} LUT / {d["estimated_ffs"]} FF)', '',
         '| design | Yosys script | ' + ' | '.join(cols) + ' | Yosys wall |', '|' + '---|' * (len(cols) + 3)]
for s in scripts:
    sfx = '_stock' if s == 'stock' else ''
    for n in ('qforge', 'da4ml'):
        rows[n + sfx] = row(n + sfx, q['latency_cycles'] if n == 'qforge' else d['stages'])
        lines.append(f'| {n} | {s} | ' + ' | '.join(str(rows[n + sfx][k]) for k in cols) + f' | {rows[n + sfx]["wall"]} |')
    qr, dr = rows['qforge' + sfx], rows['da4ml' + sfx]
    ratio[s] = {k: round(qr[k] / dr[k], 3) if dr[k] else None for k in num}
    lines.append(f'| qforge/da4ml | {s} | ' + ' | '.join(f'{ratio[s][k]:.2f}' if ratio[s].get(k) is not None else '-' for k in cols) + ' | |')
lines += ['', 'load (1/5/15 min) before, after: ' + '; '.join(f'{n}: {rows[n]["load_before_after"]}' for n in rows)]
lines += [f'da4ml notes: {"; ".join(d["notes"])}']
if sim:
    lines += [f'qforge rtl-sim: {sim.strip()}']
text = '\n'.join(lines)
(out / 'side_by_side.md').write_text(text + '\n')
(out / 'side_by_side.json').write_text(json.dumps({'flags': flags, 'rows': rows, 'ratio': ratio, 'da4ml': d, 'rtl_sim': sim.strip()}, indent=1))
print(text)
PY
