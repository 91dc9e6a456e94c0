#!/usr/bin/env python3
"""Write the small (Q)Keras fixture models that `qforge import` is tested on.

A developer tool, not run by the tests. Run it with the QKeras virtualenv
(TensorFlow-CPU 2.15.1, QKeras 0.9.0, hls4ml 1.3.0, h5py, pyyaml):

    /work/venvs/qkeras/bin/python scripts/make-import-fixtures.py [OUT_DIR]

For every model NAME it writes into OUT_DIR (default tests/fixtures/import/):
  NAME.json          model.to_json()
  NAME-weights.h5    model.save_weights("NAME-weights.h5") (the legacy layout:
                     layer_names / weight_names attributes)
  NAME.weights.h5    model.save_weights("NAME.weights.h5") (the Keras 3 layout
                     layers/<object>/vars/<i>, which Keras 2.15 writes for
                     this suffix)
  NAME.full.h5       model.save("m.h5") (model_config attribute, /model_weights)
  NAME.io.json       fixed inputs and the model's float Keras outputs on them
and, for the models hls4ml converts, NAME.hls4ml.yml (the dict that
config_from_keras_model returns, granularity="name") and NAME.convert.yml (the
file `hls4ml convert -c` reads). Models that use a layer or quantizer qforge
does not take are written too (NAME.json + NAME.weights.h5): the tests check
that import refuses them with a clear message.

Inputs lie on the grid of the input quantizer where a model has one, so the
float outputs are those of the quantized-input network.

QKeras layers must be built with `import keras` (with TF 2.15 in one
virtualenv, `tensorflow.keras` may resolve to tf_keras).
"""
import json
import os
import sys

import numpy as np

import tensorflow as tf  # noqa: F401  (touch tf.keras before qkeras, see peers.md)
_ = tf.keras
import keras  # noqa: E402
from keras import layers  # noqa: E402
from qkeras import QActivation, QBatchNormalization, QDense  # noqa: E402

SEED = 14
N_SAMPLES = 32


def rng_for(name):
    return np.random.default_rng(SEED + sum(map(ord, name)))


def set_batchnorm_stats(model, rng):
    """Give every batch normalization non-trivial statistics (fresh ones are identity)."""
    for layer in model.layers:
        if isinstance(layer, (layers.BatchNormalization, QBatchNormalization)):
            weights = layer.get_weights()
            n = weights[0].shape[0]
            new = []
            for w, name in zip(weights, [v.name for v in layer.weights]):
                if "gamma" in name:
                    new.append(rng.uniform(0.5, 1.5, n).astype("float32"))
                elif "beta" in name:
                    new.append(rng.uniform(-0.3, 0.3, n).astype("float32"))
                elif "moving_mean" in name:
                    new.append(rng.uniform(-0.5, 0.5, n).astype("float32"))
                else:
                    new.append(rng.uniform(0.5, 2.0, n).astype("float32"))
            layer.set_weights(new)


def perturb_biases(model, rng):
    """Fresh biases are zero: give them values so that a missed bias shows."""
    for layer in model.layers:
        if hasattr(layer, "bias") and layer.bias is not None and not isinstance(layer, (layers.BatchNormalization, QBatchNormalization)):
            k, b = layer.get_weights()[:2]
            layer.set_weights([k, rng.uniform(-0.5, 0.5, b.shape).astype("float32")])


def float_mlp():
    """Plain Keras: Dense with activation inside, Dropout, Dense + BatchNormalization + Activation, softmax."""
    return keras.Sequential(
        [
            layers.InputLayer(input_shape=(10,), name="x"),
            layers.Dense(16, activation="relu", name="fc1"),
            layers.Dropout(0.2, name="drop"),
            layers.Dense(12, name="fc2"),
            layers.BatchNormalization(name="bn2"),
            layers.Activation("relu", name="relu2"),
            layers.Dense(5, activation="softmax", name="out"),
        ],
        name="float_mlp",
    )


def qkeras_mlp():
    """QKeras: input quantizer, quantized_bits (alpha 1, symmetric, auto_po2), quantized_relu, a separate softmax."""
    return keras.Sequential(
        [
            layers.InputLayer(input_shape=(10,), name="x"),
            QActivation("quantized_bits(8,3,alpha=1)", name="q_in"),
            QDense(16, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)", name="fc1"),
            QActivation("quantized_relu(6,2)", name="relu1"),
            QDense(12, kernel_quantizer="quantized_bits(4,0,1,alpha=1)", bias_quantizer="quantized_bits(8,3,alpha=1)", name="fc2"),
            QActivation("quantized_relu(4,1)", name="relu2"),
            QDense(5, kernel_quantizer="quantized_bits(8,1,alpha='auto_po2')", bias_quantizer="quantized_bits(8,3,alpha=1)", name="out"),
            layers.Activation("softmax", name="softmax"),
        ],
        name="qkeras_mlp",
    )


def functional_po2():
    """Functional chain: a BatchNormalization first (an input scale-and-shift), Flatten/Reshape of 1-D data,
    quantized_po2 kernels, a float Dense with a QBatchNormalization (no quantizers: folded exactly)."""
    x_in = keras.Input(shape=(8,), name="x")
    x = layers.BatchNormalization(name="bn_in")(x_in)
    x = layers.Flatten(name="flat")(x)
    x = QDense(12, kernel_quantizer="quantized_po2(4,1)", bias_quantizer="quantized_bits(8,3,alpha=1)", name="fc1")(x)
    x = QActivation("quantized_relu(6,2)", name="relu1")(x)
    x = layers.Dense(6, name="fc2")(x)
    x = QBatchNormalization(name="bn2", beta_quantizer=None, gamma_quantizer=None, mean_quantizer=None, variance_quantizer=None)(x)
    x = layers.Activation("relu", name="relu2")(x)
    x = layers.Reshape((6,), name="reshape")(x)
    x = QDense(3, kernel_quantizer="quantized_bits(6,0,symmetric=1,alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)", name="out")(x)
    return keras.Model(x_in, x, name="functional_po2")


def unsupported(quantizer_or_layer):
    """One small model (4 inputs) per layer or quantizer: `ternary`, whose
    weights tests/import_binary_ternary.rs also reads under other kernel
    quantizers, and the `bad_*` ones qforge refuses."""
    return keras.Sequential(
        [layers.InputLayer(input_shape=(4,), name="x"), *quantizer_or_layer],
        name="unsupported",
    )


UNSUPPORTED = {
    "ternary": lambda: [QDense(3, kernel_quantizer="ternary(alpha=1)", name="fc_ternary")],
    "bad_conv": lambda: [layers.Reshape((4, 1), name="r"), layers.Conv1D(2, 2, name="conv")],
    "bad_tanh": lambda: [layers.Dense(3, activation="tanh", name="fc_tanh")],
}


def grid_inputs(rng, n_in, step=1.0 / 16, limit=7.9):
    """Inputs on the grid of ap_fixed<8,4> (quantized_bits(8,3)): the input quantizer keeps them."""
    x = rng.normal(0.0, 1.5, (N_SAMPLES, n_in))
    return (np.clip(np.round(x / step) * step, -limit, limit)).astype("float32")


def hls4ml_configs(model, name, out):
    import hls4ml
    import yaml

    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado", default_precision="ap_fixed<16,6>")
    with open(os.path.join(out, f"{name}.hls4ml.yml"), "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    convert = {
        "KerasJson": f"{name}.json",
        "KerasH5": f"{name}-weights.h5",
        "OutputDir": f"{name}_prj",
        "ProjectName": "myproject",
        "Part": "xcvu9p-flga2104-2L-e",
        "ClockPeriod": 5,
        "Backend": "Vivado",
        "IOType": "io_parallel",
        "HLSConfig": config,
    }
    with open(os.path.join(out, f"{name}.convert.yml"), "w") as f:
        yaml.safe_dump(convert, f, sort_keys=False)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "import")
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(SEED)
    for build in (float_mlp, qkeras_mlp, functional_po2):
        name = build.__name__
        rng = rng_for(name)
        model = build()
        perturb_biases(model, rng)
        set_batchnorm_stats(model, rng)
        x = grid_inputs(rng, model.input_shape[-1])
        y = model.predict(x, verbose=0)
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            f.write(model.to_json())
        model.save_weights(os.path.join(out, f"{name}.weights.h5"))
        model.save_weights(os.path.join(out, f"{name}-weights.h5"))
        model.save(os.path.join(out, f"{name}.full.h5"))
        with open(os.path.join(out, f"{name}.io.json"), "w") as f:
            json.dump({"inputs": x.tolist(), "outputs": y.astype("float64").tolist()}, f)
        hls4ml_configs(model, name, out)
        print(f"{name}: {model.count_params()} parameters")
    for name, build in UNSUPPORTED.items():
        model = unsupported(build())
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            f.write(model.to_json())
        model.save_weights(os.path.join(out, f"{name}-weights.h5"))
        print(f"{name}: written")


if __name__ == "__main__":
    main()
