"""Imports and versions of the lab's toolchain."""

import os
import sys


def test_imports_and_versions(tf, record_property):
    """TensorFlow, Keras 3, h5py, OpenCV, NumPy, JupyterLab import; versions are the promised ones."""
    import cv2
    import h5py
    import jupyterlab
    import keras
    import numpy
    import sklearn

    versions = {
        "python": sys.version.split()[0], "tensorflow": tf.__version__, "keras": keras.__version__,
        "numpy": numpy.__version__, "h5py": h5py.__version__, "opencv": cv2.__version__,
        "jupyterlab": jupyterlab.__version__, "scikit-learn": sklearn.__version__,
    }
    for name, version in versions.items():
        record_property(name, version)
    print(", ".join(f"{k} {v}" for k, v in versions.items()))
    assert keras.__version__.split(".")[0] == "3", f"Keras 3 expected, found {keras.__version__}"
    assert tf.keras.Model is keras.Model, "tf.keras is not Keras 3: the notebooks would run on the wrong Keras"
    promised = os.environ.get("DLAB_EXPECT_TENSORFLOW", "")
    if promised and promised != "unknown":
        assert tf.__version__ == promised, f"the image promises TensorFlow {promised}, {tf.__version__} is installed"
