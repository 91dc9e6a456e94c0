"""QKeras 0.9's own QTools energy for a qforge model spec (TOML), per layer.

A developer's tool for comparing `qforge estimate --json` with the estimator
it reproduces; the tests never run it. It builds the spec's network in QKeras
(QDense / QConv1D / QConv2D with the spec's quantizers, QActivation for each
quantized activation, Keras pooling and Flatten), runs
`qkeras.qtools.run_qtools.QTools` as AutoQKeras does (process "horowitz", is_inference False as AutoQKeras' default trained_model=False,
inference, the spec's input type as the source quantizer) and prints one
JSON object: per layer QTools' energy terms, and the sum `extract_energy_sum`
gives. Weights do not matter to QTools' energy (it reads only types and shapes).

    /work/venv-qkeras/bin/python scripts/peers/qtools_energy.py examples/digits_cnn.toml

`scripts/peers/make-qtools-fixtures.sh` runs it on every spec in
tests/fixtures/qtools/ and writes the `.qtools.json` beside each, which
tests/qtools_energy.rs compares `qforge estimate` with. QTools rounds every
energy term to 2 decimals and the sum to an integer.
"""
import json
import re
import sys
import tomllib

import keras  # QKeras layers derive from `keras`, not tf_keras
from qkeras import QActivation, QConv1D, QConv2D, QDense
from qkeras import quantizers as qz
from qkeras.qtools import run_qtools
from qkeras.qtools import settings as qtools_settings


def quantizer(spelling):
    """A QKeras quantizer from its Python spelling (qforge's spec keeps it verbatim)."""
    names = {n: getattr(qz, n) for n in dir(qz) if not n.startswith("_")}
    return eval(spelling, {"__builtins__": {}}, names)


def source_quantizer(ap_type):
    """ap_fixed<W,I> as QKeras' quantized_bits(W, I-1, 1); ap_ufixed<W,I> as quantized_relu(W, I)
    (given quantized_bits with keep_negative=0, QTools priced the muxes as for a signed input)."""
    m = re.fullmatch(r"ap_(u?)fixed<(\d+),(-?\d+)[^>]*>", ap_type.replace(" ", ""))
    unsigned, w, i = m.group(1) == "u", int(m.group(2)), int(m.group(3))
    return qz.quantized_relu(w, i) if unsigned else qz.quantized_bits(w, i - 1, 1)


def build(spec):
    shape = spec["inputs"] if isinstance(spec["inputs"], list) else [spec["inputs"]]
    x = inp = keras.layers.Input(shape=tuple(shape), name="input")
    for n, layer in enumerate(spec["layers"], start=1):
        kind = layer["type"]
        name = f"{kind}_{n}"
        common = {}
        if "kernel_quantizer" in layer:
            common = dict(
                kernel_quantizer=quantizer(layer["kernel_quantizer"]),
                bias_quantizer=quantizer(layer.get("bias_quantizer", layer["kernel_quantizer"])),
                use_bias=layer.get("use_bias", True),
            )
        if kind == "dense":
            x = QDense(layer["units"], name=name, **common)(x)
        elif kind in ("conv2d", "conv1d"):
            cls = QConv2D if kind == "conv2d" else QConv1D
            x = cls(layer["filters"], layer["kernel_size"], strides=layer.get("strides", 1),
                    padding=layer.get("padding", "valid"), name=name, **common)(x)
        elif kind in ("max_pooling2d", "average_pooling2d", "max_pooling1d", "average_pooling1d"):
            cls = {"max_pooling2d": keras.layers.MaxPooling2D, "average_pooling2d": keras.layers.AveragePooling2D,
                   "max_pooling1d": keras.layers.MaxPooling1D, "average_pooling1d": keras.layers.AveragePooling1D}[kind]
            x = cls(layer["pool_size"], strides=layer.get("strides"), padding=layer.get("padding", "valid"), name=name)(x)
        elif kind in ("global_average_pooling2d", "global_max_pooling2d", "global_average_pooling1d", "global_max_pooling1d"):
            cls = {"global_average_pooling2d": keras.layers.GlobalAveragePooling2D, "global_max_pooling2d": keras.layers.GlobalMaxPooling2D,
                   "global_average_pooling1d": keras.layers.GlobalAveragePooling1D, "global_max_pooling1d": keras.layers.GlobalMaxPooling1D}[kind]
            x = cls(name=name)(x)
        elif kind == "flatten":
            x = keras.layers.Flatten(name=name)(x)
        elif kind == "activation":
            pass
        else:
            raise SystemExit(f"{kind}: not built by this script")
        act = layer.get("activation")
        if act == "softmax":
            x = keras.layers.Activation("softmax", name=f"{name}_softmax")(x)
        elif act is not None or "quantizer" in layer:
            q = layer.get("quantizer")
            x = QActivation(quantizer(q) if q else "linear", name=f"{name}_act")(x) if q else keras.layers.Activation(act, name=f"{name}_act")(x)
    return keras.Model(inp, x, name=spec.get("name", "model"))


def main():
    spec = tomllib.load(open(sys.argv[1], "rb"))
    model = build(spec)
    q = run_qtools.QTools(model, process="horowitz", source_quantizers=[source_quantizer(spec.get("input_type", "ap_fixed<16,6>"))],
                          is_inference=False, weights_path=None, keras_quantizer="fp32", keras_accumulator="fp32", for_reference=False)
    energy = q.pe(weights_on_memory="fixed", activations_on_memory="fixed", min_sram_size=0, rd_wr_on_io=False)
    total = q.extract_energy_sum(qtools_settings.cfg.include_energy, energy)
    layers = []
    for layer in model.layers:
        d = energy.get(layer.name)
        if isinstance(d, dict) and "energy" in d:
            terms = {t: float(v) for t, v in d["energy"].items()}
            layers.append({"name": layer.name, "class": layer.__class__.__name__, **terms})
    print(json.dumps({"model": spec.get("name"), "qtools_total_pj": float(total), "layers": layers}, indent=1))


if __name__ == "__main__":
    main()
