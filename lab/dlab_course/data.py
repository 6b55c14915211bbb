"""Course data, read from the image's offline cache; never from the network.

KERAS_HOME (default ~/.keras) holds what Keras itself caches (datasets/, models/);
DLAB_DATA (default /opt/dlab/data) holds the rest. A missing file raises
AssetMissing, which names the asset and says how to get it.
"""

import os
import pickle
import tarfile
from importlib import resources
from pathlib import Path

import numpy as np

CIFAR_DIR = "cifar-10-batches-py-target"  # Keras 3.6+: get_file(fname=..., extract=True)
CIFAR_ARCHIVE = CIFAR_DIR + "_archive"
FACE_SPLITS = ("train", "val", "test")


class AssetMissing(FileNotFoundError):
    """A data set or weight file the notebook needs is not in the offline cache."""

    def __init__(self, asset, path):
        self.asset, self.path = asset, Path(path)
        super().__init__(
            f"the course asset '{asset}' is missing: {path} does not exist.\n"
            "This image was built without it (see /opt/dlab/assets.json or `dlab check`).\n"
            "To get it: rebuild the image on a machine with internet access (`make image`), "
            "or `dlab load` a bundle of an image that was built where the assets could be fetched."
        )


def keras_home():
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def data_home():
    return Path(os.environ.get("DLAB_DATA") or "/opt/dlab/data")


def _require(asset, path):
    if not path.exists():
        raise AssetMissing(asset, path)
    return path


def load_mnist():
    """(x_train, y_train), (x_test, y_test) as keras.datasets.mnist.load_data() returns them."""
    path = _require("mnist", keras_home() / "datasets" / "mnist.npz")
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches: numpy arrays and plain containers, nothing else."""

    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a CIFAR batch")


def _cifar_batch(path):
    with open(path, "rb") as f:
        batch = _ArrayUnpickler(f, encoding="bytes").load()
    data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    labels = np.asarray(batch[b"labels"], dtype=np.uint8).reshape(-1, 1)
    return data, labels


def _cifar_folder():
    datasets = keras_home() / "datasets"
    folder = datasets / CIFAR_DIR / "cifar-10-batches-py"
    if not (folder / "test_batch").exists():
        archive = _require("cifar10", datasets / CIFAR_ARCHIVE)
        with tarfile.open(archive) as tar:  # as Keras does on first use
            if hasattr(tarfile, "data_filter"):
                tar.extractall(datasets / CIFAR_DIR, filter="data")
            else:
                tar.extractall(datasets / CIFAR_DIR)
    return folder


def load_cifar10():
    """(x_train, y_train), (x_test, y_test) as keras.datasets.cifar10.load_data() returns them."""
    folder = _cifar_folder()
    parts = [_cifar_batch(p) for p in sorted(folder.glob("data_batch_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))]
    if not parts:
        raise AssetMissing("cifar10", folder / "data_batch_1")
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    x_test, y_test = _cifar_batch(folder / "test_batch")
    return (x_train, y_train), (x_test, y_test)


def load_faces():
    """Dict with x_/y_ train, val, test (uint8 RGB [N,64,64,3], int labels 0..7) and names."""
    import h5py

    path = _require("faces", data_home() / "faces.h5")
    out = {}
    with h5py.File(path, "r") as f:
        for split in FACE_SPLITS:
            out[f"x_{split}"] = f[f"x_{split}"][...]
            out[f"y_{split}"] = f[f"y_{split}"][...].astype(np.int64)
        out["names"] = [n.decode() if isinstance(n, bytes) else str(n) for n in f["names"][...]]
    return out


def load_challenger():
    """The 23 shuttle launches before Challenger: temperature_f and failure (O-ring distress, 0/1)."""
    import pandas as pd

    with resources.files(__package__).joinpath("challenger.csv").open("r") as f:
        frame = pd.read_csv(f, comment="#")
    frame["temperature_f"] = frame["temperature_f"].astype(float)
    frame["failure"] = frame["failure"].astype(int)
    return frame


def load_book():
    """The public-domain book for the character RNN, as one string (newlines normalised)."""
    path = _require("book", data_home() / "book.txt")
    return path.read_text(encoding="utf-8", errors="replace")


def ice_cream(n_days, seed=0):
    """(weather, in_stock) for n_days of the ice-cream stall (rule in the syllabus).

    weather: 0 sunny, 1 cloudy, 2 rainy, equally likely. Stock starts at 2. If it was
    cloudy three days earlier and stock is below 2, one unit is restocked; on a sunny
    day one unit is sold if any is left. in_stock is 1 when stock > 0 at the end of the day.
    """
    rng = np.random.default_rng(seed)
    weather = rng.integers(0, 3, size=n_days)
    in_stock = np.zeros(n_days, dtype=np.int64)
    stock = 2
    for day in range(n_days):
        if day >= 3 and weather[day - 3] == 1 and stock < 2:
            stock += 1
        if weather[day] == 0 and stock > 0:
            stock -= 1
        in_stock[day] = int(stock > 0)
    return weather.astype(np.int64), in_stock


def one_hot(a, k):
    """One-hot rows (float32) for the integer array a with k classes."""
    a = np.asarray(a, dtype=np.int64)
    return np.eye(k, dtype=np.float32)[a]


def backbone(input_shape=(96, 96, 3)):
    """EfficientNetB0 without its top (global average pooling), ImageNet weights, inputs 0..255."""
    import keras

    path = _require("efficientnetb0", keras_home() / "models" / "efficientnetb0_notop.h5")
    return keras.applications.EfficientNetB0(
        include_top=False, weights=str(path), input_shape=tuple(input_shape), pooling="avg"
    )
