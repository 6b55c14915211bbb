# %% [markdown]
# # 00 · Setup check: versions, devices, a matmul
#
# **Goal.** Before the course starts, make sure the lab works: the Python packages
# are the versions the notebooks were written for, TensorFlow sees the devices of
# this machine, the data sets are where the notebooks look for them, and
# TensorFlow can multiply two matrices on the fastest device it has.
#
# **How to use a notebook.** Run a cell with **Shift+Enter**; *Run → Run All Cells*
# runs everything. Cells marked `# YOUR CODE HERE` are yours to complete: in the
# exercise notebooks they raise `NotImplementedError` until you do. The matching
# solution notebook sits next to it in `course/solutions/`.

# %% tags=["parameters"] smoke={"MATRIX_SIZE": 256, "REPEATS": 3}
MATRIX_SIZE = 2048  # side n of the two random n x n matrices we multiply
REPEATS = 10  # timed multiplications per device

# %% [markdown]
# ## 1. Versions
#
# Deep-learning code breaks quietly across versions (the course this one follows
# was written for TensorFlow 1 and Keras 2.1 and no longer runs). The lab pins
# every package; here is what you got.

# %%
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import h5py
import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sklearn
import tensorflow as tf

versions = {
    "python": platform.python_version(),
    "tensorflow": tf.__version__,
    "keras": keras.__version__,
    "numpy": np.__version__,
    "h5py": h5py.__version__,
    "opencv": cv2.__version__,
    "scikit-learn": sklearn.__version__,
    "pandas": pd.__version__,
    "matplotlib": matplotlib.__version__,
}
for name, version in versions.items():
    print(f"{name:14s}{version}")
print(f"{'lab image':14s}{os.environ.get('DLAB_VERSION', '(not in the lab image)')}"
      f" {os.environ.get('DLAB_FLAVOR', '')}")

# %% [markdown]
# ## 2. Devices
#
# TensorFlow places every operation on a *device*: the CPU, or a GPU when one is
# visible. The lab's CUDA image sees the GPUs that the launcher passed in with
# `--gpus`; the CPU image never does. `TF_FORCE_GPU_ALLOW_GROWTH=true` makes
# TensorFlow take GPU memory as it needs it instead of all at once, so that
# several notebooks can share one card.

# %%
build = tf.sysconfig.get_build_info()
cpus = tf.config.list_physical_devices("CPU")
gpus = tf.config.list_physical_devices("GPU")
print("built with CUDA:", tf.test.is_built_with_cuda(),
      f"(CUDA {build.get('cuda_version', '-')}, cuDNN {build.get('cudnn_version', '-')})")
print("CPU devices:    ", [d.name for d in cpus])
print("GPU devices:    ", [d.name for d in gpus] or "none")
for gpu in gpus:
    details = tf.config.experimental.get_device_details(gpu)
    print(f"  {gpu.name}: {details.get('device_name', '?')}, "
          f"compute capability {details.get('compute_capability', '?')}")
print("GPU memory growth:", os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH", "not set"))

# %% [markdown]
# ## 3. Data sets and weights
#
# Nothing in this course downloads anything: the data sets and pretrained weights
# were fetched when the image was built and sit in two folders, `KERAS_HOME`
# (the Keras cache: `datasets/`, `models/`) and `DLAB_DATA` (everything else).
# The course manifest `course.toml` lists them. A missing one only matters for the
# notebooks that use it; `dlab load` installs a bundle of them on an offline machine.

# %%
import tomllib

import dlab_course

keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
dlab_data = Path(os.environ.get("DLAB_DATA", "/opt/dlab/data"))
print("KERAS_HOME =", keras_home)
print("DLAB_DATA  =", dlab_data)

manifests = [Path("/opt/dlab/course/course.toml"),
             Path(dlab_course.__file__).resolve().parents[1] / "course.toml"]
manifest = next((m for m in manifests if m.exists()), None)
assets = tomllib.loads(manifest.read_text()).get("assets", []) if manifest else []
for asset in assets:
    folder, _, rest = asset["dest"].partition("/")
    path = (keras_home if folder == "keras" else dlab_data) / rest
    state = "present" if path.exists() else "MISSING"
    print(f"{asset['name']:24s}{state:9s}notebooks {', '.join(asset.get('notebooks', []))}")
if not assets:
    print("no course manifest found")

# %% [markdown]
# Keras writes downloads and caches into `KERAS_HOME`. If that folder is not
# writable, Keras silently falls back to `/tmp/.keras` and tries the network, so
# we check it here.

# %%
keras_home_writable = os.access(keras_home if keras_home.exists() else keras_home.parent, os.W_OK)
print("KERAS_HOME writable:", keras_home_writable)

# %% [markdown]
# ## 4. A matrix multiplication
#
# Multiplying two $n \times n$ matrices, $C = AB$ with
# $C_{ij} = \sum_k A_{ik} B_{kj}$, takes $n^3$ multiplications and about as many
# additions: $2n^3$ floating-point operations (FLOP). Neural networks are mostly
# this operation, which is why GPUs, built for it, make them fast.
#
# **Your turn:** compute the product `c` of the two TensorFlow matrices `a` and `b`
# (not element-wise: the matrix product).

# %%
keras.utils.set_random_seed(0)
a = tf.random.normal((MATRIX_SIZE, MATRIX_SIZE))
b = tf.random.normal((MATRIX_SIZE, MATRIX_SIZE))

### BEGIN SOLUTION  multiply the matrices a and b with tf.matmul (or the @ operator)
c = tf.matmul(a, b)
### END SOLUTION

print(c.shape, c.dtype, "computed on", c.device)

# %% [markdown]
# Is it right? NumPy computes the same product independently. Single-precision
# floats carry about 7 significant digits, so we compare with a tolerance that
# grows with the size of the sum.

# %%
expected = a.numpy() @ b.numpy()
error = np.max(np.abs(c.numpy() - expected)) / np.sqrt(MATRIX_SIZE)
print(f"largest difference to NumPy, per sqrt(n): {error:.2e}")

# %% [markdown]
# ## 5. How fast is each device?
#
# We time `REPEATS` multiplications on every device. The first call also pays for
# setting things up, so it is a warm-up and not timed. `.numpy()` waits until the
# result is really there: TensorFlow may run a GPU asynchronously.


# %%
def gflops(device, n, repeats):
    """Billions of floating-point operations per second of an n x n matmul on `device`."""
    with tf.device(device):
        x = tf.random.normal((n, n))
        y = tf.random.normal((n, n))
        tf.matmul(x, y).numpy()  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            z = tf.matmul(x, y)
        z.numpy()
        seconds = time.perf_counter() - start
    return 2 * n**3 * repeats / seconds / 1e9


devices = ["/CPU:0"] + [f"/GPU:{i}" for i in range(len(gpus))]
speed = {device: gflops(device, MATRIX_SIZE, REPEATS) for device in devices}
for device, value in speed.items():
    print(f"{device}: {value:8.1f} GFLOP/s")

fig, ax = plt.subplots(figsize=(5, 1 + 0.5 * len(speed)))
ax.barh(list(speed), list(speed.values()), color="tab:blue")
ax.set_xlabel("GFLOP/s (higher is better)")
ax.set_title(f"{MATRIX_SIZE} x {MATRIX_SIZE} matrix multiplication")
plt.show()

# %% [markdown]
# ## What to try next
#
# - Double `MATRIX_SIZE`: the time should grow about eight-fold ($2n^3$).
# - Use `tf.float16` matrices (`tf.random.normal(..., dtype=tf.float16)`): fast on
#   GPUs with tensor cores, often slower on a CPU.
# - On a GPU machine, start the lab with `dlab up --gpus all` and run this notebook
#   again; compare the bars.
#
# ## Checks
#
# If a check fails, the message says what is wrong; ask your tutor before going on.

# %%
assert sys.version_info >= (3, 10), f"Python {platform.python_version()} is too old for this course"
assert tf.__version__.startswith("2."), f"TensorFlow {tf.__version__}: the course needs TensorFlow 2"
assert keras.__version__.startswith("3."), f"Keras {keras.__version__}: the course needs Keras 3"
assert c.shape == (MATRIX_SIZE, MATRIX_SIZE), f"the product has shape {c.shape}"
assert error < 1e-4, f"the product differs from NumPy's by {error:.2e}"
assert all(value > 0 for value in speed.values()), "a device did not finish the timing"
assert keras_home_writable, f"KERAS_HOME={keras_home} is not writable: Keras would try the network"
print("All checks passed: the lab is ready.")
if os.environ.get("DLAB_FLAVOR") == "cuda" and not gpus:
    print("Note: this is the CUDA lab but it sees no GPU; start it with `dlab up --gpus all`.")
