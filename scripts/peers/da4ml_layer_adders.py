#!/usr/bin/env python3
"""da4ml 0.6.0's CMVM solution per layer of a weights JSON, for comparing
adder counts with qforge's `--cmvm` graph (docs/da4ml-side-by-side.md).

Developer tool (not run by the tests), in da4ml's virtualenv:

    /work/venv-da4ml/bin/python scripts/peers/da4ml_layer_adders.py ../shared/reference/da4ml_jet_seed0_weights.json

Each layer is solved alone by `da4ml.cmvm.solve` with the interval of its
inputs (layer 1: ap_fixed<16,6>; later layers: relu(i=0, f=6), [0, 63/64])
and da4ml's bit cost (adder_size 1, carry_size -1, as the trace's
HWConfig(1, -1, -1)); per method it prints the adders of both stages
(the column decomposition's difference layer and its recombination) and
da4ml's cost (bits summed over the adders). `wmc` is da4ml's default.
"""
import json
import sys

import numpy as np
from da4ml.cmvm import solve

layers = json.load(open(sys.argv[1]))['layers']
qin = [(-32.0, 32.0 - 2**-10, 2**-10)] * len(layers[0]['w'])
for n, layer in enumerate(layers):
    w = np.array(layer['w'], dtype=np.float32)
    for method in ('wmc', 'mc', 'wmc-dc'):
        p = solve(w, qintervals=qin, adder_size=1, carry_size=-1, method0=method)
        adders = [sum(op.opcode in (0, 1) for op in s.ops) for s in p.solutions]
        print(f'layer {n + 1} {w.shape[0]}x{w.shape[1]} {method}: adders {adders} = {sum(adders)}, cost {p.cost:.0f}')
    qin = [(0.0, 1 - 2**-6, 2**-6)] * w.shape[1]
