#!/usr/bin/env python3
"""Write the Keras 3 `.keras` archives that `qforge import` is tested on.

A developer tool, not run by the tests. Written and run with Keras 3.15.1,
NumPy 2.4.6, h5py 3.16.0 (Python 3.11.7) on the NumPy backend, which imports
SciPy (1.17.1) and JAX (jax[cpu] 0.10.2) at start-up; no TensorFlow:

    python3 -m venv /work/venvs/keras3
    /work/venvs/keras3/bin/pip install keras numpy h5py scipy "jax[cpu]"
    KERAS_BACKEND=numpy /work/venvs/keras3/bin/python scripts/make-keras3-fixtures.py [OUT_DIR]

For every model NAME it writes into OUT_DIR (default tests/fixtures/import/keras3/):
  NAME.keras         model.save("NAME.keras"): a zip of config.json,
                     metadata.json and model.weights.h5 (Keras 3 layout
                     layers/<object>/vars/<i>)
  NAME.x.npy         200 x 16 float32 inputs (seeded normal)
  NAME.y.npy         model.predict(x) (float32)
and MANIFEST.md with the versions. Weights are set from a seeded NumPy RNG
(no training); batch normalization gets non-trivial gamma, beta, moving mean
and moving variance, so a wrong fold shows in the outputs.

Models:
  seq_bn      Sequential: Input(16) -> Dense(8, relu) -> BatchNormalization
              -> Dense(5) -> Activation(softmax)
  func_chain  Functional chain: Input(16) -> Dense(12, relu) -> Dropout(0.25)
              -> Reshape((12, 1)) -> Flatten -> Dense(6) -> Dense(3, softmax)
"""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "numpy")

import h5py  # noqa: E402
import jax  # noqa: E402  (imported by Keras's NumPy backend; for the MANIFEST)
import scipy  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

SEED = 14
N_SAMPLES = 200
N_IN = 16


def seq_bn():
    return keras.Sequential(
        [
            keras.Input(shape=(N_IN,), name="x"),
            layers.Dense(8, activation="relu", name="fc1"),
            layers.BatchNormalization(name="bn1"),
            layers.Dense(5, name="fc2"),
            layers.Activation("softmax", name="out"),
        ],
        name="seq_bn",
    )


def func_chain():
    inp = keras.Input(shape=(N_IN,), name="x")
    h = layers.Dense(12, activation="relu", name="fc1")(inp)
    h = layers.Dropout(0.25, name="drop")(h)
    h = layers.Reshape((12, 1), name="col")(h)
    h = layers.Flatten(name="flat")(h)
    h = layers.Dense(6, name="fc2")(h)
    out = layers.Dense(3, activation="softmax", name="fc3")(h)
    return keras.Model(inp, out, name="func_chain")


def set_weights(model, rng):
    """Every weight from the RNG, in layer order; batch norm with usable statistics."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, n).astype("float32"),  # gamma
                    rng.normal(0.0, 0.3, n).astype("float32"),  # beta
                    rng.uniform(0.2, 1.5, n).astype("float32"),  # moving mean (relu outputs are >= 0)
                    rng.uniform(0.3, 2.0, n).astype("float32"),  # moving variance
                ]
            )
        elif isinstance(layer, layers.Dense):
            n_in, n_out = layer.kernel.shape
            kernel = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out)).astype("float32")
            bias = rng.normal(0.0, 0.2, n_out).astype("float32")
            layer.set_weights([kernel, bias])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/import/keras3"
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(SEED)
    rows = []
    for i, build in enumerate([seq_bn, func_chain]):
        model = build()
        rng = np.random.default_rng(SEED + i)
        set_weights(model, rng)
        x = rng.normal(0.0, 1.0, (N_SAMPLES, N_IN)).astype("float32")
        y = np.asarray(model.predict(x, verbose=0), dtype="float32")
        name = model.name
        path = os.path.join(out, f"{name}.keras")
        model.save(path)
        np.save(os.path.join(out, f"{name}.x.npy"), x)
        np.save(os.path.join(out, f"{name}.y.npy"), y)
        # The archive reloads to the same predictions (what Keras itself reads back).
        again = keras.saving.load_model(path)
        assert np.array_equal(np.asarray(again.predict(x, verbose=0), dtype="float32"), y), name
        rows.append(f"| {name} | {len(model.layers)} | {x.shape} | {y.shape} |")
    versions = (
        f"Keras {keras.__version__} (backend {keras.backend.backend()}), NumPy {np.__version__}, "
        f"h5py {h5py.__version__}, SciPy {scipy.__version__}, JAX {jax.__version__}, Python {sys.version.split()[0]}"
    )
    with open(os.path.join(out, "MANIFEST.md"), "w") as f:
        f.write(
            "# Keras 3 `.keras` fixtures\n\n"
            f"Written by `scripts/make-keras3-fixtures.py` with {versions}; seed {SEED}.\n"
            "Weights come from a seeded NumPy RNG (nothing is trained). Per model NAME:\n"
            "`NAME.keras` (`model.save`), `NAME.x.npy` (inputs, float32), `NAME.y.npy`\n"
            "(`model.predict` on them, float32). See the script's docstring for the layers.\n\n"
            "| model | Keras layers | inputs | outputs |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
        )


if __name__ == "__main__":
    main()
