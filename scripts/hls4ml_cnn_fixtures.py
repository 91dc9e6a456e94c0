#!/usr/bin/env python3
"""Ground truth from QKeras 0.9 and hls4ml 1.3.0 for qforge's CNN import tests.

A developer tool, not run by the tests. For each small CNN below it writes into
tests/fixtures/hls4ml_cnn/<name>/:
  keras.json, weights.h5     the model as users have it (to_json, save_weights)
  model.h5, model.keras      (cnn2d only) model.save in both formats
  hls4ml_config.yml          the config hls4ml was converted with (io_parallel)
  qkeras.json                the inputs and Keras/QKeras' float outputs of every layer
  csim.json                  hls4ml's C-simulated outputs and per-layer traces as
                             raw integers with their types (as scripts/hls4ml_fixtures.py)

Run with the QKeras virtualenv (TensorFlow 2.15, QKeras 0.9, hls4ml 1.3.0):
  /work/venv-qkeras/bin/python scripts/hls4ml_cnn_fixtures.py [OUT_DIR [NAME...]]
"""
import json
import os
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras  # noqa: E402
import hls4ml  # noqa: E402
import yaml  # noqa: E402
from keras import layers  # noqa: E402
from qkeras import QActivation, QConv1D, QConv2D, QDense  # noqa: E402
from qkeras.quantizers import quantized_bits, quantized_relu  # noqa: E402
from hls4ml_fixtures import cpp_type, to_raw  # noqa: E402

N_SAMPLES = 200
SEED = 1818


def init(seed, lo=-1.0, hi=1.0):
    return keras.initializers.RandomUniform(lo, hi, seed=seed)


def model_cnn2d():
    """Float Keras: conv -> BN (fused by hls4ml) -> relu -> maxpool -> conv -> avgpool -> flatten -> dense -> softmax."""
    x = keras.Input((8, 8, 1), name="input_1")
    h = layers.Conv2D(4, 3, name="conv1", kernel_initializer=init(1), bias_initializer=init(2, -0.5, 0.5))(x)
    h = layers.BatchNormalization(name="bn1")(h)
    h = layers.Activation("relu", name="relu1")(h)
    h = layers.MaxPooling2D(2, name="pool1")(h)
    h = layers.Conv2D(6, 2, padding="same", name="conv2", kernel_initializer=init(3), bias_initializer=init(4, -0.5, 0.5))(h)
    h = layers.AveragePooling2D(2, name="pool2")(h)
    h = layers.Flatten(name="flat")(h)
    h = layers.Dense(5, name="fc1", kernel_initializer=init(5), bias_initializer=init(6, -0.5, 0.5))(h)
    y = layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y, name="cnn2d")


def model_qcnn1d():
    """QKeras 1D: QConv1D (activation inside, split by hls4ml), QActivation, MaxPooling1D, strided QConv1D without bias."""
    x = keras.Input((16, 2), name="input_1")
    h = QActivation(quantized_bits(8, 3, alpha=1), name="q_in")(x)
    h = QConv1D(4, 3, name="conv1", kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
                kernel_initializer=init(11), bias_initializer=init(12, -0.5, 0.5))(h)
    h = QActivation(quantized_relu(6, 2), name="relu1")(h)
    h = layers.MaxPooling1D(2, name="pool1")(h)
    h = QConv1D(5, 3, strides=2, padding="same", use_bias=False, name="conv2", activation="relu",
                kernel_quantizer=quantized_bits(5, 1, alpha=1), kernel_initializer=init(13))(h)
    h = layers.AveragePooling1D(2, padding="same", name="pool2")(h)
    h = layers.Flatten(name="flat")(h)
    h = QDense(4, name="fc1", kernel_quantizer=quantized_bits(8, 2, alpha=1), bias_quantizer=quantized_bits(8, 2, alpha=1),
               kernel_initializer=init(14), bias_initializer=init(15, -0.5, 0.5))(h)
    y = layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y, name="qcnn1d")


def model_qcnn_global():
    """QKeras 2D with global pooling: strided same-padded QConv2D, QActivation, GlobalAveragePooling2D, QDense."""
    x = keras.Input((6, 6, 2), name="input_1")
    h = QConv2D(4, 3, strides=2, padding="same", name="conv1", kernel_quantizer=quantized_bits(6, 1, alpha=1),
                bias_quantizer=quantized_bits(6, 1, alpha=1), kernel_initializer=init(21), bias_initializer=init(22, -0.5, 0.5))(x)
    h = QActivation(quantized_relu(8, 3), name="relu1")(h)
    h = QConv2D(6, 2, name="conv2", kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1),
                kernel_initializer=init(23), bias_initializer=init(24, -0.5, 0.5))(h)
    h = QActivation(quantized_relu(6, 2), name="relu2")(h)
    h = layers.GlobalAveragePooling2D(name="gavg")(h)
    h = QDense(3, name="fc1", kernel_quantizer=quantized_bits(8, 2, alpha=1), bias_quantizer=quantized_bits(8, 2, alpha=1),
               kernel_initializer=init(25), bias_initializer=init(26, -0.5, 0.5))(h)
    y = layers.Activation("softmax", name="softmax")(h)
    return keras.Model(x, y, name="qcnn_global")


MODELS = {"cnn2d": model_cnn2d, "qcnn1d": model_qcnn1d, "qcnn_global": model_qcnn_global}


def set_batchnorm_stats(model, rng):
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.uniform(-0.3, 0.3, n), rng.uniform(-0.5, 0.5, n),
                               rng.uniform(0.5, 2.0, n)])


def keras_outputs(model, x):
    names = [l.name for l in model.layers if l.__class__.__name__ in ("Dense", "QDense")]  # the logits; outputs below
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    outs = probe.predict(x.astype(np.float32), verbose=0)
    return {"generator": "scripts/hls4ml_cnn_fixtures.py", "keras": keras.__version__, "inputs": x.reshape(len(x), -1).tolist(),
            "layers": [{"name": n, "values": np.asarray(o, dtype=np.float64).reshape(len(x), -1).tolist()} for n, o in zip(names, outs)],
            "outputs": np.asarray(outs[-1], dtype=np.float64).reshape(len(x), -1).tolist()}


def build(name, out_root):
    model = MODELS[name]()
    rng = np.random.default_rng(SEED + len(name))
    set_batchnorm_stats(model, rng)
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "keras.json"), "w") as f:
        f.write(model.to_json())
    model.save_weights(os.path.join(out, "weights.h5"))
    if name == "cnn2d":
        model.save(os.path.join(out, "model.h5"))
        model.save(os.path.join(out, "model.keras"))
    shape = model.inputs[0].shape[1:]
    # Inputs on the ap_fixed<16,6> grid (and on q_in's ap_fixed<8,4> for qcnn1d, so QKeras sees what hls4ml sees).
    step = 1 / 16 if name == "qcnn1d" else 1 / 1024
    x = np.round(rng.normal(0.0, 1.5, size=(N_SAMPLES, *shape)) / step) * step
    x = np.clip(x, -8, 8 - step)
    with open(os.path.join(out, "qkeras.json"), "w") as f:
        json.dump(keras_outputs(model, x), f, separators=(",", ":"))
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", default_precision="ap_fixed<16,6>")
    for layer_cfg in config["LayerName"].values():
        layer_cfg["Trace"] = True
    with open(os.path.join(out, "hls4ml_config.yml"), "w") as f:
        yaml.safe_dump({"Backend": "Vivado", "IOType": "io_parallel", "HLSConfig": config}, f, sort_keys=False)
    with tempfile.TemporaryDirectory() as prj:
        hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=prj, backend="Vivado",
                                                               io_type="io_parallel")
        hls_model.compile()
        xd = np.ascontiguousarray(x.astype(np.float64))
        y = np.asarray(hls_model.predict(xd)).reshape(N_SAMPLES, -1)
        _, trace = hls_model.trace(xd)
        recs = []
        for lname, layer in hls_model.graph.items():
            if lname not in trace or layer.class_name == "Input":
                continue
            t = str(layer.get_output_variable().type.precision)
            rec = {"name": lname, "class": layer.class_name, "type": cpp_type(t),
                   "raw": to_raw(np.asarray(trace[lname]).reshape(N_SAMPLES, -1), t)}
            rec["types"] = {k: cpp_type(str(v.precision)) for k, v in layer.types.items()
                            if v.precision.__class__.__name__ == "FixedPrecisionType"}
            recs.append(rec)
        out_type = str(list(hls_model.graph.values())[-1].get_output_variable().type.precision)
        csim = {"generator": "scripts/hls4ml_cnn_fixtures.py", "hls4ml": hls4ml.__version__, "keras": keras.__version__,
                "input_type": "ap_fixed<16,6>", "inputs": x.reshape(N_SAMPLES, -1).tolist(), "output_type": cpp_type(out_type),
                "outputs_raw": to_raw(y, out_type), "layers": recs}
        with open(os.path.join(out, "csim.json"), "w") as f:
            json.dump(csim, f, separators=(",", ":"))
    print(f"{name}: {N_SAMPLES} samples, layers {[r['name'] + ':' + r['class'] + ':' + r['type'] for r in recs]}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "hls4ml_cnn")
    for name in sys.argv[2:] or list(MODELS):
        build(name, out_root)


if __name__ == "__main__":
    main()
