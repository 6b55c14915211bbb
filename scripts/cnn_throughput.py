"""Training throughput of notebook 08's CNN (its full-mode sizes) in images per second.

Runs anywhere the CPU lock is installed: natively (`.venv/bin/python scripts/cnn_throughput.py`)
and in the image (`docker run ... python /cnn_throughput.py`). Prints one number.
"""

import sys
import time

import keras
import numpy as np

FILTERS, DENSE_UNITS, BATCH_SIZE = (32, 64), 128, 128  # notebook 08's full-mode parameters


def conv_block(x, filters):
    for _ in range(2):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
    return keras.layers.Dropout(0.25)(keras.layers.MaxPooling2D(2)(x))


def model():
    inputs = keras.Input(shape=(28, 28, 1))
    x = inputs
    for filters in FILTERS:
        x = conv_block(x, filters)
    x = keras.layers.Dense(DENSE_UNITS, activation="relu")(keras.layers.Flatten()(x))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Dropout(0.5)(x))
    net = keras.Model(inputs, outputs)
    net.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return net


def images_per_second(steps=60):
    keras.utils.set_random_seed(0)
    x = np.random.rand(BATCH_SIZE * steps, 28, 28, 1).astype("float32")
    y = np.random.randint(0, 10, len(x))
    net = model()
    net.fit(x[: BATCH_SIZE * 5], y[: BATCH_SIZE * 5], batch_size=BATCH_SIZE, epochs=1, verbose=0)  # trace, warm up
    started = time.perf_counter()
    net.fit(x, y, batch_size=BATCH_SIZE, epochs=1, verbose=0)
    return len(x) / (time.perf_counter() - started)


if __name__ == "__main__":
    print(f"{images_per_second(int(sys.argv[1]) if len(sys.argv) > 1 else 60):.1f}")
