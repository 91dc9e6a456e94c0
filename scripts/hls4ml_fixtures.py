#!/usr/bin/env python3
"""Ground truth from hls4ml 1.3.0 for qforge's hls4ml-compatibility tests.

A developer tool, not run by the tests. For each small (Q)Keras model below it
writes into tests/fixtures/hls4ml/<name>/:
  keras.json, weights.h5     the model as users have it (to_json, save_weights)
  hls4ml_config.yml          the config hls4ml was converted with
  qforge_model.json          the equivalent qforge model.json (hls4ml types mode),
                             until `qforge import` builds it from the files above
  csim.json                  fixed inputs, hls4ml's C-simulated outputs and its
                             per-layer traces as raw integers with their types

Run with the QKeras virtualenv (TensorFlow 2.15, QKeras 0.9, hls4ml 1.3.0):
  /work/venvs/qkeras/bin/python scripts/hls4ml_fixtures.py [OUT_DIR]
QKeras layers derive from `keras`, so the models are built with `import keras`.
"""
import json
import os
import re
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import hls4ml  # noqa: E402
import yaml  # noqa: E402
from qkeras import QActivation, QDense  # noqa: E402
from qkeras.quantizers import quantized_bits, quantized_po2, quantized_relu, quantized_relu_po2  # noqa: E402

N_IN = 8
N_SAMPLES = 300
SEED = 1234


def qd(units, name, kq, bq):
    return QDense(units, name=name, kernel_quantizer=kq, bias_quantizer=bq,
                  kernel_initializer=keras.initializers.RandomUniform(-1.0, 1.0, seed=len(name) + units),
                  bias_initializer=keras.initializers.RandomUniform(-0.5, 0.5, seed=units))


def model_q_bits():
    x = keras.Input((N_IN,), name="input_1")
    h = qd(16, "fc1", quantized_bits(6, 0, alpha=1), quantized_bits(6, 0, alpha=1))(x)
    h = QActivation(quantized_relu(6), name="relu1")(h)
    h = qd(8, "fc2", quantized_bits(4, 1, alpha=1), quantized_bits(8, 3, alpha=1))(h)
    h = QActivation(quantized_relu(4, 2), name="relu2")(h)
    h = qd(5, "fc3", quantized_bits(8, 2, alpha=1), quantized_bits(8, 2, alpha=1))(h)
    y = keras.layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y), "stable"


def model_q_relu_widths():
    x = keras.Input((N_IN,), name="input_1")
    h = qd(16, "fc1", quantized_bits(5, 1, alpha=1), quantized_bits(5, 1, alpha=1))(x)
    h = QActivation(quantized_relu(3, 1), name="relu1")(h)
    h = qd(12, "fc2", quantized_bits(7, 2, alpha=1), quantized_bits(7, 2, alpha=1))(h)
    h = QActivation(quantized_relu(8, 4), name="relu2")(h)
    h = qd(5, "fc3", quantized_bits(6, 1, alpha=1), quantized_bits(6, 1, alpha=1))(h)
    y = keras.layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y), "latency"


def model_q_po2():
    x = keras.Input((N_IN,), name="input_1")
    h = qd(16, "fc1", quantized_po2(4, 1), quantized_bits(6, 2, alpha=1))(x)
    h = QActivation(quantized_relu(6, 2), name="relu1")(h)
    h = qd(5, "fc2", quantized_bits(6, 0, alpha=1), quantized_bits(6, 0, alpha=1))(h)
    y = keras.layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y), "argmax"


def model_float():
    init = keras.initializers.RandomUniform(-1.0, 1.0, seed=7)
    x = keras.Input((N_IN,), name="input_1")
    h = keras.layers.Dense(16, activation="relu", name="fc1", kernel_initializer=init, bias_initializer=init)(x)
    h = keras.layers.Dense(5, name="fc2", kernel_initializer=init, bias_initializer=init)(h)
    y = keras.layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y), "stable"


def model_legacy():
    x = keras.Input((N_IN,), name="input_1")
    h = qd(16, "fc1", quantized_bits(6, 0, alpha=1), quantized_bits(6, 0, alpha=1))(x)
    h = QActivation(quantized_relu(6, 1), name="relu1")(h)
    h = qd(5, "fc2", quantized_bits(6, 1, alpha=1), quantized_bits(6, 1, alpha=1))(h)
    y = keras.layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y), "legacy"


def model_q_leaky():
    """Leaky quantized_relu (QKeras asserts a power-of-two negative_slope)."""
    x = keras.Input((N_IN,), name="input_1")
    h = qd(16, "fc1", quantized_bits(6, 0, alpha=1), quantized_bits(6, 0, alpha=1))(x)
    h = QActivation(quantized_relu(6, 2, negative_slope=0.25), name="relu1")(h)
    h = qd(12, "fc2", quantized_bits(6, 1, alpha=1), quantized_bits(6, 1, alpha=1))(h)
    h = QActivation(quantized_relu(8, 3, negative_slope=0.125), name="relu2")(h)
    h = qd(5, "fc3", quantized_bits(8, 2, alpha=1), quantized_bits(8, 2, alpha=1))(h)
    y = keras.layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y), "stable"


def model_q_alpha():
    """quantized_bits with alpha="auto" (per-channel scale fitted to the weights) and a numeric alpha."""
    x = keras.Input((N_IN,), name="input_1")
    h = qd(16, "fc1", quantized_bits(6, 0, alpha="auto"), quantized_bits(6, 0, alpha=1))(x)
    h = QActivation(quantized_relu(6, 2), name="relu1")(h)
    h = qd(5, "fc2", quantized_bits(6, 0, alpha=0.75), quantized_bits(6, 0, alpha=1))(h)
    y = keras.layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y), "stable"


def model_q_relu_po2():
    """quantized_relu_po2, plain, with max_value and leaky; hls4ml 1.3.0 refuses it as an activation."""
    x = keras.Input((N_IN,), name="input_1")
    h = qd(16, "fc1", quantized_bits(6, 0, alpha=1), quantized_bits(6, 0, alpha=1))(x)
    h = QActivation(quantized_relu_po2(4), name="relu1")(h)
    h = qd(12, "fc2", quantized_bits(6, 1, alpha=1), quantized_bits(6, 1, alpha=1))(h)
    h = QActivation(quantized_relu_po2(5, max_value=6), name="relu2")(h)
    h = qd(8, "fc3", quantized_bits(6, 1, alpha=1), quantized_bits(6, 1, alpha=1))(h)
    h = QActivation(quantized_relu_po2(4, max_value=2, negative_slope=0.25), name="relu3")(h)
    h = qd(5, "fc4", quantized_bits(8, 2, alpha=1), quantized_bits(8, 2, alpha=1))(h)
    y = keras.layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y), "stable"


MODELS = {
    "q_bits": model_q_bits,
    "q_relu_widths": model_q_relu_widths,
    "q_po2": model_q_po2,
    "float": model_float,
    "q_legacy": model_legacy,
    "q_leaky": model_q_leaky,
    "q_alpha": model_q_alpha,
    "q_relu_po2": model_q_relu_po2,
}


def qkeras_outputs(model, x):
    """QKeras' own float outputs: every Dense/QDense and QActivation layer's, and the model's."""
    names = [l.name for l in model.layers if l.__class__.__name__ in ("QDense", "Dense", "QActivation")]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names] + [model.output])
    outs = probe.predict(x.astype(np.float32), verbose=0)
    return {"generator": "scripts/hls4ml_fixtures.py", "keras": keras.__version__, "inputs": x.tolist(),
            "layers": [{"name": n, "values": np.asarray(o, dtype=np.float64).tolist()} for n, o in zip(names, outs[:-1])],
            "outputs": np.asarray(outs[-1], dtype=np.float64).tolist()}

TYPE_RE = re.compile(r"^(u?fixed|ap_u?fixed)<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+))?\s*(?:,\s*(\w+))?")


def parse_type(s):
    """(signed, width, integer, rounding, overflow) of an hls4ml type string."""
    m = TYPE_RE.match(str(s).replace(" ", ""))
    if not m:
        raise ValueError(f"not a fixed-point type: {s}")
    signed = "u" not in m.group(1)
    # hls4ml prints modes without the AP_ prefix (TRN, RND_CONV, SAT, ...).
    mode = lambda v, d: d if v is None else (v if v.startswith("AP_") else "AP_" + v)  # noqa: E731
    return signed, int(m.group(2)), int(m.group(3)), mode(m.group(4), "AP_TRN"), mode(m.group(5), "AP_WRAP")


def cpp_type(s):
    signed, w, i, rnd, ovf = parse_type(s)
    base = f"ap_{'' if signed else 'u'}fixed<{w},{i}"
    if (rnd, ovf) != ("AP_TRN", "AP_WRAP"):
        base += f",{rnd}" + (f",{ovf}" if ovf != "AP_WRAP" else "")
    return base + ">"


def to_raw(values, type_str):
    _, w, i, _, _ = parse_type(type_str)
    raw = np.asarray(values, dtype=np.float64) * 2.0 ** (w - i)
    r = np.rint(raw)
    assert np.all(r == raw), f"values are not on the grid of {type_str}"
    return r.astype(np.int64).tolist()


def qforge_type(s):
    signed, w, i, rnd, ovf = parse_type(s)
    return {"width": w, "integer": i, "signed": signed, "rounding": rnd, "overflow": ovf}


def quantizer_json(q):
    """qforge's serialization of a QKeras quantizer (None = float)."""
    if q is None:
        return {"class": "float"}
    name = q.__class__.__name__
    if name == "quantized_bits":
        if not (q.alpha is None or q.alpha == "auto_po2" or (not isinstance(q.alpha, str) and float(q.alpha) == 1.0)):
            raise ValueError(f"quantized_bits alpha={q.alpha}")
        alpha = "auto_po2" if q.alpha == "auto_po2" else "one"
        return {"class": "quantized_bits", "bits": int(q.bits), "integer": int(q.integer), "symmetric": bool(q.symmetric),
                "keep_negative": bool(q.keep_negative), "alpha": alpha}
    if name == "quantized_relu":
        if q.negative_slope != 0:
            raise ValueError(f"quantized_relu negative_slope={q.negative_slope}")
        return {"class": "quantized_relu", "bits": int(q.bits), "integer": int(q.integer)}
    if name == "quantized_po2":
        mv = None if q.max_value is None or q.max_value <= 0 else float(q.max_value)
        return {"class": "quantized_po2", "bits": int(q.bits), "max_value": mv}
    raise ValueError(f"no qforge quantizer for {name}")


def stated_types(config, layer_name, keys):
    """The types the hls4ml config states for a layer: `auto` is left open (None in
    qforge, inferred), an absent one is the Model default, as hls4ml reads its config."""
    default = config["Model"]["Precision"]["default"]
    precision = config["LayerName"].get(layer_name, {}).get("Precision", {})
    if isinstance(precision, str):
        precision = {k: precision for k in keys}
    out = {}
    for key, qkey in keys.items():
        value = precision.get(key, default)
        if value == "auto":
            continue
        if key == "weight" and not TYPE_RE.match(str(value).replace(" ", "")):
            continue  # po2 weights: an exponent type, what the quantizer gives anyway
        out[qkey] = qforge_type(value)
    return out


def qforge_model(model, config, softmax_impl):
    """The model.json `qforge import` writes for this model (hls4ml types mode)."""
    layers, blocks, params = model.layers, [], []
    for layer in layers:
        cls = layer.__class__.__name__
        if cls in ("QDense", "Dense"):
            kernel, bias = [np.asarray(v, dtype=np.float64) for v in layer.get_weights()]
            kq, bq = getattr(layer, "kernel_quantizer_internal", None), getattr(layer, "bias_quantizer_internal", None)
            # The values the firmware holds: the quantizer's output, or a float weight cast to its type.
            types = stated_types(config, layer.name, {"weight": "weight", "bias": "bias", "accum": "accum", "result": "result"})
            if kq is None:
                default = config["Model"]["Precision"]["default"]
                kernel_q = quantize_fixed(kernel, default)
                bias_q = quantize_fixed(bias, default)
            else:
                kernel_q = np.asarray(kq(kernel.astype(np.float32)), dtype=np.float64)
                bias_q = np.asarray(bq(bias.astype(np.float32)), dtype=np.float64) if bq is not None else bias
            act = getattr(layer, "activation", None)
            act_name = act.__name__ if act is not None and hasattr(act, "__name__") else "linear"
            blocks.append({"name": layer.name, "units": int(kernel.shape[1]), "kernel_quantizer": quantizer_json(kq),
                           "bias_quantizer": quantizer_json(bq), "batchnorm": False,
                           "activation": "relu" if act_name == "relu" else "linear",
                           "activation_quantizer": {"class": "float"}, "types": types})
            if act_name == "relu":
                # hls4ml splits the activation into its own layer `<name>_relu`.
                blocks[-1]["types"].update(stated_types(config, layer.name + "_relu", {"result": "activation_result"}))
            params.append({"name": layer.name, "n_in": int(kernel.shape[0]), "n_out": int(kernel.shape[1]),
                           "kernel": kernel.ravel().tolist(), "bias": bias.tolist(),
                           "kernel_q": kernel_q.ravel().tolist(), "bias_q": bias_q.tolist()})
        elif cls == "QActivation":
            q = layer.quantizer
            blocks[-1]["activation"] = "relu" if q.__class__.__name__ == "quantized_relu" else "linear"
            blocks[-1]["activation_quantizer"] = quantizer_json(q)
            blocks[-1]["types"].update(stated_types(config, layer.name, {"result": "activation_result"}))
        elif cls == "Activation":
            name = layer.get_config()["activation"]
            blocks[-1]["activation"] = name
    n_out = blocks[-1]["units"]
    spec = {"name": model.name, "inputs": N_IN, "input_type": qforge_type("ap_fixed<16,6>"),
            "classes": [str(c) for c in range(n_out)], "blocks": blocks, "training": {}, "types": "hls4ml",
            "softmax": softmax_json(config, softmax_impl)}
    return {"format": "qforge-model", "version": 1, "spec": spec, "feature_names": [f"x{i}" for i in range(N_IN)],
            "scaler": {"mean": [0.0] * N_IN, "std": [1.0] * N_IN}, "layers": params, "metrics": None}


def softmax_json(config, softmax_impl):
    out = {"implementation": softmax_impl}
    out.update(stated_types(config, "softmax", {"result": "result"}))
    cfg = config["LayerName"]["softmax"]
    for key in ("exp_table_t", "inv_table_t"):
        if key in cfg:
            out[key] = qforge_type(cfg[key])
    if "table_size" in cfg:
        out["table_size"] = int(cfg["table_size"])
    return out


def quantize_fixed(values, type_str):
    """float → ap_fixed as the C++ constructor does for the default AP_TRN/AP_WRAP."""
    signed, w, i, rnd, ovf = parse_type(type_str)
    assert (rnd, ovf) == ("AP_TRN", "AP_WRAP"), type_str
    raw = np.floor(np.asarray(values, dtype=np.float64) * 2.0 ** (w - i)).astype(np.int64)
    span = 1 << w
    raw = raw & (span - 1)
    if signed:
        raw = np.where(raw >= span // 2, raw - span, raw)
    return raw.astype(np.float64) * 2.0 ** -(w - i)


def build(name, out_root):
    model, softmax_impl = MODELS[name]()
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "keras.json"), "w") as f:
        f.write(model.to_json())
    model.save_weights(os.path.join(out, "weights.h5"))

    rng = np.random.default_rng(SEED)
    # Inputs on the ap_fixed<16,6> grid, wide enough that some layers saturate.
    x = np.round(rng.normal(0.0, 2.0, size=(N_SAMPLES, N_IN)) * 1024) / 1024
    x = np.clip(x, -32, 32 - 2 ** -10)
    with open(os.path.join(out, "qkeras.json"), "w") as f:
        json.dump(qkeras_outputs(model, x), f, separators=(",", ":"))
    try:
        config = hls4ml.utils.config_from_keras_model(model, granularity="name", default_precision="ap_fixed<16,6>")
    except Exception as e:  # noqa: BLE001  (hls4ml's own refusal is the fixture)
        with open(os.path.join(out, "hls4ml_refusal.txt"), "w") as f:
            f.write(f"hls4ml {hls4ml.__version__} config_from_keras_model: {e}\n")
        print(f"{name}: hls4ml refuses it: {e}")
        return
    for layer_cfg in config["LayerName"].values():
        layer_cfg["Trace"] = True
    config["LayerName"]["softmax"]["Implementation"] = softmax_impl
    with open(os.path.join(out, "hls4ml_config.yml"), "w") as f:
        yaml.safe_dump({"Backend": "Vivado", "IOType": "io_parallel", "HLSConfig": config}, f, sort_keys=False)

    with tempfile.TemporaryDirectory() as prj:
        try:
            hls_model = hls4ml.converters.convert_from_keras_model(
                model, hls_config=config, output_dir=prj, backend="Vivado", io_type="io_parallel")
        except Exception as e:  # noqa: BLE001  (hls4ml's own refusal is the fixture)
            with open(os.path.join(out, "hls4ml_refusal.txt"), "w") as f:
                f.write(f"hls4ml {hls4ml.__version__} convert_from_keras_model: {e}\n")
            print(f"{name}: hls4ml refuses it: {e}")
            return
        hls_model.compile()
        y = np.asarray(hls_model.predict(x.astype(np.float64))).reshape(N_SAMPLES, -1)
        _, trace = hls_model.trace(x.astype(np.float64))
        layers = []
        for lname, layer in hls_model.graph.items():
            if lname not in trace or layer.class_name == "Input":
                continue
            t = str(layer.get_output_variable().type.precision)
            rec = {"name": lname, "class": layer.class_name, "type": cpp_type(t),
                   "raw": to_raw(np.asarray(trace[lname]).reshape(N_SAMPLES, -1), t)}
            if layer.class_name == "Dense":
                rec["types"] = {k: cpp_type(str(layer.types[k].precision)) for k in ("accum_t", "weight_t", "bias_t")
                                if "Exponent" not in layer.types[k].precision.__class__.__name__}
            if layer.class_name in ("LeakyReLU", "ApplyAlpha"):
                rec["types"] = {k: cpp_type(str(v.precision)) for k, v in layer.types.items()}
                rec["attributes"] = {k: (float(v) if isinstance(v, (int, float)) else str(v))
                                     for k, v in layer.attributes.items() if k in ("activ_param", "n_in", "n_filt")}
                for wname, w in layer.weights.items():
                    rec.setdefault("weights", {})[wname] = np.asarray(w.data, dtype=np.float64).ravel().tolist()
            if layer.class_name == "Softmax":
                rec["types"] = {k: cpp_type(str(layer.get_attr(k).precision)) for k in ("exp_table_t", "inv_table_t")}
                rec["table_size"] = layer.get_attr("table_size")
            layers.append(rec)
        out_type = str(list(hls_model.graph.values())[-1].get_output_variable().type.precision)
        csim = {"generator": "scripts/hls4ml_fixtures.py", "hls4ml": hls4ml.__version__, "keras": keras.__version__,
                "input_type": "ap_fixed<16,6>", "inputs": x.tolist(), "output_type": cpp_type(out_type),
                "outputs_raw": to_raw(y, out_type), "layers": layers}
        with open(os.path.join(out, "csim.json"), "w") as f:
            json.dump(csim, f, separators=(",", ":"))
        try:
            qm = qforge_model(model, config, softmax_impl)
        except ValueError as e:
            qm = None  # `qforge import` builds the newer fixtures' model.json (tests/import_qkeras_rest.rs)
            print(f"{name}: no qforge_model.json ({e})")
        if qm is not None:
            with open(os.path.join(out, "qforge_model.json"), "w") as f:
                json.dump(qm, f, indent=1)
    print(f"{name}: {N_SAMPLES} samples, layers {[l['name'] + ':' + l['type'] for l in layers]}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "hls4ml")
    names = sys.argv[2:] or list(MODELS)
    for name in names:
        build(name, out_root)


if __name__ == "__main__":
    main()
