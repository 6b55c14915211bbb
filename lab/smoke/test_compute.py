"""The lab's working parts: a Keras fit, HDF5, OpenCV, the work folder."""

import os
import uuid

import numpy as np


def test_tiny_keras_fit(tf):
    """A small Keras model learns a separable problem in a few epochs."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=64, verbose=0)
    assert history.history["accuracy"][-1] > 0.9, history.history


def test_hdf5_write_and_read(tmp_path):
    """h5py writes a compressed data set with attributes and reads the same back."""
    import h5py

    data = np.arange(6000, dtype="uint8").reshape(10, 20, 30)
    path = tmp_path / "check.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=data, compression="gzip", chunks=True)
        f["images"].attrs["label"] = "smoke"
    with h5py.File(path, "r") as f:
        assert f["images"].attrs["label"] == "smoke"
        np.testing.assert_array_equal(f["images"][...], data)


def test_opencv_operation():
    """OpenCV resizes, blurs and round-trips an image through PNG."""
    import cv2

    image = np.zeros((64, 48, 3), np.uint8)
    image[16:48, 12:36] = (0, 128, 255)
    small = cv2.resize(image, (24, 32), interpolation=cv2.INTER_AREA)
    assert small.shape == (32, 24, 3)
    blurred = cv2.GaussianBlur(image, (5, 5), 0)
    assert blurred[32, 24, 2] == 255 and blurred[0, 0, 2] == 0
    ok, png = cv2.imencode(".png", image)
    assert ok
    np.testing.assert_array_equal(cv2.imdecode(png, cv2.IMREAD_COLOR), image)


def test_work_folder_writable():
    """The mounted work folder takes a new file (so notebooks can be saved)."""
    work = os.path.join(os.environ.get("HOME", "/home/jovyan"), "work")
    probe = os.path.join(work, f".dlab-check-{uuid.uuid4().hex}")
    with open(probe, "w") as f:
        f.write("ok")
    os.remove(probe)
