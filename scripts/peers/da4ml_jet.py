#!/usr/bin/env python3
"""da4ml 0.6.0's Verilog for a dense network, for the side-by-side with qforge.

Developer tool (not run by the tests). Needs da4ml 0.6.0 in its own
virtualenv (it needs numpy >= 2):

    python3 -m venv /work/venv-da4ml && /work/venv-da4ml/bin/pip install da4ml==0.6.0
    /work/venv-da4ml/bin/python scripts/peers/da4ml_jet.py --weights W.json --out DIR
    /work/venv-da4ml/bin/python scripts/peers/da4ml_jet.py --model model.json --out DIR

--weights: {"layers": [{"w": [[n_in][n_out]], "b": [n_out]}, ...]} (the shared
da4ml_jet_seed0_weights.json), traced exactly as ../shared/reference/peers.md
says: input quantize(k=1, i=5, f=10) (ap_fixed<16,6>, TRN, WRAP), per layer
x @ w + b, relu(x, i=0, f=6) after every layer but the last (da4ml's relu:
truncating and wrapping).

--model: a qforge model.json (dense layers only): its quantized kernels and
biases (kernel_q, bias_q), its input type and each activation's quantizer, so
both designs compute the same function except where da4ml cannot: da4ml
rounds only TRN or RND (half up); a quantizer with AP_RND_CONV (QKeras'
quantized_relu, half to even) becomes RND, which differs on exact ties only.
A final softmax is left out (da4ml's design ends at the logits).

Prints da4ml's own estimate (LUTs, FFs, stages) and writes DIR/da4ml.json with
it and the Verilog file list Yosys reads (static/{binop,multiplier,mux,
negative,shift_adder}.v, PRJ_stage*.v, PRJ.v; lookup_table.v is unused).
"""
import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from da4ml.codegen import RTLModel
from da4ml.trace import FixedVariableArrayInput, HWConfig, comb_trace
from da4ml.trace.ops import quantize, relu

PART = 'xcvu9p-flga2104-2L-e'
STATIC = ['binop', 'multiplier', 'mux', 'negative', 'shift_adder']


def parse_type(text):
    """ap_fixed<W,I[,Q[,O]]> / ap_ufixed<...> -> (k, i, f, round, overflow) in da4ml's terms."""
    m = re.fullmatch(r'\s*ap_(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?>\s*', text)
    if not m:
        sys.exit(f'error: type `{text}` is not ap_fixed<W,I[,Q[,O]]> or ap_ufixed<...>')
    unsigned, w, i, q, o = m.group(1) == 'u', int(m.group(2)), int(m.group(3)), m.group(4) or 'AP_TRN', m.group(5) or 'AP_WRAP'
    k = 0 if unsigned else 1
    rounding = {'AP_TRN': 'TRN', 'AP_RND': 'RND', 'AP_RND_CONV': 'RND'}.get(q)
    overflow = {'AP_WRAP': 'WRAP', 'AP_SAT': 'SAT', 'AP_SAT_SYM': 'SAT_SYM'}.get(o)
    if rounding is None or overflow is None:
        sys.exit(f'error: type `{text}`: da4ml takes AP_TRN/AP_RND(/AP_RND_CONV as AP_RND) and AP_WRAP/AP_SAT/AP_SAT_SYM')
    return k, i - k, w - i, rounding, overflow, q


def relu_type(quantizer):
    """quantized_relu(b[, i]) -> ap_ufixed<b, i, AP_RND_CONV, AP_SAT> (QKeras at inference)."""
    m = re.fullmatch(r'\s*quantized_relu\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*', quantizer)
    if not m:
        sys.exit(f'error: activation quantizer `{quantizer}`: this script takes quantized_relu(b[, i]) only')
    b, i = int(m.group(1)), int(m.group(2) or 0)
    return f'ap_ufixed<{b},{i},AP_RND_CONV,AP_SAT>'


def from_weights(path):
    d = json.loads(Path(path).read_text())
    layers = [(np.array(l['w'], dtype=np.float64), np.array(l['b'], dtype=np.float64)) for l in d['layers']]
    return layers, (1, 5, 10, 'TRN', 'WRAP'), None


def type_of(t):
    """A model.json type {width, integer, signed, rounding, overflow} as ap_[u]fixed<...> text."""
    if isinstance(t, str):
        return t
    return f"ap_{'' if t.get('signed', True) else 'u'}fixed<{t['width']},{t['integer']},{t.get('rounding', 'AP_TRN')},{t.get('overflow', 'AP_WRAP')}>"


def from_model(path):
    m = json.loads(Path(path).read_text())
    spec = m['spec']
    if m.get('conv_layers') or spec.get('features'):
        sys.exit(f'error: {path}: convolutional models are not taken')
    k, i, f, rnd, ovf, _ = parse_type(type_of(spec.get('input_type') or 'ap_fixed<16,6>'))
    layers, acts, notes = [], [], []
    for blk, p in zip(spec['blocks'], m['layers']):
        w = np.array(p['kernel_q'], dtype=np.float64).reshape(p['n_in'], p['n_out'])
        layers.append((w, np.array(p['bias_q'], dtype=np.float64)))
        q = blk.get('activation_quantizer') or {'class': 'float'}
        if blk['activation'] == 'relu':
            if q.get('class') != 'quantized_relu' or q.get('negative_slope'):
                sys.exit(f"error: {path}: block `{blk['name']}`: activation quantizer {q} is not taken (quantized_relu(b, i) only)")
            acts.append(relu_type(f"quantized_relu({q['bits']},{q.get('integer', 0)})"))
        elif blk['activation'] in ('linear', 'softmax') and q.get('class') == 'float':
            if blk['activation'] == 'softmax':
                notes.append('final softmax left out')
            acts.append(None)
        else:
            sys.exit(f"error: {path}: block `{blk['name']}`: activation `{blk['activation']}` with {q} is not taken")
    if len(layers) != len(spec['blocks']):
        sys.exit(f'error: {path}: {len(spec["blocks"])} blocks but {len(m["layers"])} layers')
    return layers, (k, i, f, rnd, ovf), (acts, notes)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--weights', help='weights JSON as da4ml_jet_seed0_weights.json')
    src.add_argument('--model', help='qforge model.json (dense layers)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--name', default='jet')
    ap.add_argument('--latency-cutoff', type=float, default=5)
    ap.add_argument('--clock-period', type=float, default=5)
    a = ap.parse_args()

    t0 = time.time()
    if a.weights:
        layers, (k, i, f, rnd, ovf), extra = from_weights(a.weights)
        acts = [(0, 0, 6, 'TRN', 'WRAP', 'peers.md')] * (len(layers) - 1) + [None]
        notes = ['relu(x, i=0, f=6): TRN, WRAP (as peers.md)']
    else:
        layers, (k, i, f, rnd, ovf), (types, notes) = from_model(a.model)
        acts = [parse_type(t) if t else None for t in types]
        for n, t in enumerate(types):
            if t and 'AP_RND_CONV' in t:
                notes.append(f'layer {n + 1}: {t} rounds half up in da4ml (RND), half to even in the model: ties differ')

    inp = FixedVariableArrayInput((layers[0][0].shape[0],), hwconf=HWConfig(1, -1, -1))
    x = quantize(inp, k, i, f, overflow_mode=ovf, round_mode=rnd)
    for (w, b), act in zip(layers, acts):
        x = x @ w + b
        if act is None:
            continue
        ak, ai, af, arnd, aovf, _ = act
        if a.weights:
            x = relu(x, i=ai, f=af)
        else:
            # ReLU, then the model's cast (rounding, saturation) to its type.
            x = quantize(relu(x), ak, ai, af, overflow_mode=aovf, round_mode=arnd)
    comb = comb_trace(inp, x)
    out = Path(a.out)
    model = RTLModel(comb, a.name, out, flavor='verilog', latency_cutoff=a.latency_cutoff, clock_period=a.clock_period, part_name=PART)
    model.write()
    gen_secs = time.time() - t0

    pipe = model._pipe
    stages = len(pipe[0]) if pipe is not None else 0
    files = [str(out / 'src/static' / f'{s}.v') for s in STATIC]
    files += sorted(str(p) for p in (out / 'src').glob(f'{a.name}_stage*.v'))
    files.append(str(out / 'src' / f'{a.name}.v'))
    for p in files:
        if not Path(p).is_file():
            sys.exit(f'error: da4ml did not write {p}')
    report = {
        'da4ml_version': __import__('da4ml').__version__,
        'top': a.name,
        'stages': stages,
        'latency_cutoff': model._latency_cutoff,
        'estimated_luts': round(comb.cost),
        'estimated_ffs': int(pipe.reg_bits) if pipe is not None else 0,
        'generation_secs': round(gen_secs, 2),
        'files': files,
        'notes': notes,
    }
    (out / 'da4ml.json').write_text(json.dumps(report, indent=1))
    print(repr(model))
    print(json.dumps({k: v for k, v in report.items() if k != 'files'}))


if __name__ == '__main__':
    main()
