"""Every package the image promises imports, in both flavors."""

import json
import re

import pytest

from dlab.images import FLAVORS
from tests.support.paths import ROOT

pytestmark = pytest.mark.engine

PROMISED = [
    "tensorflow", "keras", "h5py", "cv2", "ipywidgets", "matplotlib", "pandas", "sklearn",
    "skimage", "pytest", "nbclient", "papermill", "jupytext", "tensorboard", "jupyterlab",
    "jupyter_server_proxy", "jupyterhub", "jupyter_resource_usage", "ipykernel", "dlab_course",
]
IMPORT_ALL = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\nprint('ok')"
# A tiny Keras fit, seeded; its history is `h`.
TINY_FIT = (
    "import numpy as np, keras\n"
    "keras.utils.set_random_seed(0)\n"
    "x = np.random.rand(512, 4).astype('float32'); y = (x.sum(1) > 2).astype('float32')\n"
    "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation='relu'), keras.layers.Dense(1, activation='sigmoid')])\n"
    "m.compile(keras.optimizers.Adam(0.03), 'binary_crossentropy', metrics=['accuracy'])\n"
    "h = m.fit(x, y, epochs=40, batch_size=32, verbose=0)\n"
)


def test_promised_packages_import(container, flavor):
    """tensorflow, keras, h5py, cv2, Jupyter and the rest import in the flavor's image."""
    extra = ["jupyterlab_nvdashboard"] if flavor == "cuda" else []
    logs = container.run(["python", "-c", IMPORT_ALL, *PROMISED, *extra], network_mode="none")
    assert logs.strip().endswith("ok")


def test_jupyterhub_singleuser_starts(container):
    """`jupyterhub-singleuser --version` works: the image serves as a JupyterHub single-user server."""
    logs = container.run(["jupyterhub-singleuser", "--version"])
    assert logs.strip().splitlines()[-1][0].isdigit()


def test_tensorflow_matches_its_label(container, docker_client, image):
    """The org.dlab.tensorflow label is the TensorFlow that imports inside."""
    labels = docker_client.images.get(image).labels
    logs = container.run(["python", "-c", "import tensorflow as tf; print(tf.__version__)"])
    assert logs.strip().splitlines()[-1] == labels["org.dlab.tensorflow"]


def test_cpu_tensorflow_trains(cpu_container):
    """A tiny Keras fit runs on the CPU flavor, offline."""
    logs = cpu_container.run(["python", "-c", TINY_FIT + "print(h.history['accuracy'][-1])"], network_mode="none")
    assert float(logs.strip().splitlines()[-1]) > 0.8


def test_build_manifest_lists_packages(image, flavor, docker_client):
    """Each build writes build/<version>-<flavor>-<arch>.json: the image, its tags, architecture, size and packages."""
    arch = docker_client.images.get(image).attrs["Architecture"]
    manifest = json.loads((ROOT / "build" / f"{image.split(':')[1]}-{arch}.json").read_text())
    assert image in manifest["tags"] and manifest["architecture"] == arch and manifest["size_bytes"] > 0
    tensorflow = re.search(r"^tensorflow(-cpu)?==\S+", FLAVORS[flavor].lock(arch).read_text(), re.M).group()
    assert tensorflow in manifest["packages"]
