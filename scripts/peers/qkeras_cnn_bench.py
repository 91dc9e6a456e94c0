#!/usr/bin/env python3
"""QKeras's training speed on qforge's digits CNN (examples/digits_cnn.toml),
for the side-by-side benchmark of issue 18 (scripts/peers/cnn_train_bench.sh
runs it beside `qforge train` on the same core). A developer tool, not run by
the tests.

Venv (outside the repo; TensorFlow 2.15 as ../shared/reference/peers.md says):
    python3 -m venv /work/venv-qkeras
    /work/venv-qkeras/bin/pip install tensorflow-cpu==2.15.1 qkeras==0.9.0
Run:
    taskset -c 0 /work/venv-qkeras/bin/python scripts/peers/qkeras_cnn_bench.py --samples 20000 --batch 32 --epochs 4

The net: Input(8,8,1) -> QConv2D(8, 3x3, quantized_bits(6,0,alpha=1) kernel
and bias) -> QActivation(quantized_relu(6)) -> MaxPooling2D(2) -> Flatten ->
QDense(10, quantized_bits(6,0,alpha=1)) -> softmax; Adam (lr 0.003),
categorical cross-entropy. Pixels are seeded random integers 0..16 scaled to
unit variance (speed does not depend on the values). Prints one JSON line:
training samples per second of each epoch after the first (the first one
traces the graph), and their median.
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
_ = tf.keras  # touch tf.keras before qkeras (peers.md)
import keras  # QKeras layers derive from `keras`, not `tf_keras`
from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu


def build():
    q = quantized_bits(6, 0, alpha=1)
    x_in = keras.layers.Input((8, 8, 1))
    x = QConv2D(8, (3, 3), kernel_quantizer=q, bias_quantizer=q)(x_in)
    x = QActivation(quantized_relu(6))(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = QDense(10, kernel_quantizer=q, bias_quantizer=q)(x)
    x = keras.layers.Activation("softmax")(x)
    model = keras.Model(x_in, x)
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="categorical_crossentropy")
    return model


class Timer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=4)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 17, size=(args.samples, 8, 8, 1)).astype("float32")
    x = (x - x.mean()) / x.std()
    y = keras.utils.to_categorical(rng.integers(0, 10, size=args.samples), 10)
    timer = Timer()
    build().fit(x, y, batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[timer])
    rates = [args.samples / t for t in timer.times[1:]]
    print(json.dumps({
        "tool": "qkeras", "qkeras": __import__("qkeras").__version__, "tensorflow": tf.__version__,
        "samples": args.samples, "batch": args.batch, "samples_per_second": rates,
        "median_samples_per_second": statistics.median(rates),
    }))


if __name__ == "__main__":
    main()
