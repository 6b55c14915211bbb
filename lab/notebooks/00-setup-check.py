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

# %% tags=["parameters"] smoke={"MATRIX_SIZE": 256, "REPEATS": 3} untrained={"CHECK_BITS": 4}
MATRIX_SIZE = 2048  # side n of the two random n x n matrices we multiply
REPEATS = 10  # timed multiplications per device
CHECK_BITS = 10  # the check must accept inputs rounded to this many mantissa bits (10: a TF32 GPU)

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
#
# <details><summary>Hint</summary>
#
# TensorFlow's function for it is `tf.matmul`; Python's `@` operator between two
# tensors does the same.
#
# </details>

# %%
keras.utils.set_random_seed(0)
a = tf.random.normal((MATRIX_SIZE, MATRIX_SIZE))
b = tf.random.normal((MATRIX_SIZE, MATRIX_SIZE))

### BEGIN SOLUTION  the matrix product of a and b (not the element-wise one)
c = tf.matmul(a, b)
### END SOLUTION

print(c.shape, c.dtype, "computed on", c.device)

# %% [markdown]
# Is it right? NumPy computes the same product independently, on the CPU. We
# measure the largest difference, divided by $\sqrt n$: each entry is a sum of
# $n$ products, and the rounding errors of a sum grow like the square root of
# its length, so this measure stays comparable across sizes.

# %%
expected = a.numpy() @ b.numpy()


def product_error(product):
    """Largest difference to NumPy's product, per sqrt(n)."""
    return float(np.max(np.abs(np.asarray(product) - expected)) / np.sqrt(MATRIX_SIZE))


error = product_error(c)
print(f"largest difference to NumPy, per sqrt(n): {error:.2e}")

# %% [markdown]
# ### How close is close enough? TensorFloat-32
#
# A `float32` number keeps 24 significant bits (23 stored after the leading 1),
# about 7 decimal digits, so on a CPU the difference above is around $10^{-6}$.
#
# GPUs since NVIDIA's Ampere generation (A100, H100, RTX 30 and 40 series)
# multiply `float32` matrices on their *tensor cores* in **TensorFloat-32**
# (TF32) by default: each input is rounded to 10 mantissa bits (about 3 decimal
# digits) before it is multiplied, while the sums stay in `float32`. That makes
# the product several times faster and does not hurt training, whose gradients
# are noisy anyway; but the result now differs from NumPy's in the third or
# fourth digit. A check built for `float32` would call every modern GPU broken.
# (`tf.config.experimental.enable_tensor_float_32_execution(False)` turns TF32
# off, when a computation needs every digit.)
#
# We can watch what TF32 does on any machine, by rounding the inputs ourselves
# and multiplying on the CPU:

# %%
def keep_mantissa_bits(x, bits):
    """float32 values rounded to `bits` mantissa bits (23 keeps them as they are; TF32 keeps 10)."""
    raw = np.asarray(x, dtype=np.float32).view(np.uint32)
    dropped = 23 - bits
    half = np.uint32((1 << dropped) >> 1)  # half of the last kept bit: round to nearest
    mask = np.uint32((0xFFFFFFFF << dropped) & 0xFFFFFFFF)
    return ((raw + half) & mask).view(np.float32)


with tf.device("/CPU:0"):
    rounded_errors = {bits: product_error(tf.matmul(keep_mantissa_bits(a, bits), keep_mantissa_bits(b, bits)))
                      for bits in sorted({23, 10, 7, CHECK_BITS}, reverse=True)}
for bits, value in rounded_errors.items():
    name = {23: "float32", 10: "TF32", 7: "bfloat16"}.get(bits, "")
    print(f"inputs with {bits:2d} mantissa bits {name:9s} error {value:.2e}")
rounded_error = rounded_errors[CHECK_BITS]

# %% [markdown]
# So our tolerance is $10^{-2}$: a hundred times above float32's error, a few
# times above TF32's, and far below what a product that is really wrong gives
# (a broken driver or card produces errors of 1 and more). The checks at the end
# also make sure that a TF32 product passes.
#
# **What do you see, and why?** Compare the errors for 23, 10 and 7 bits.
#
# <details><summary>Answer</summary>
#
# The error grows by about 2 for every bit dropped: from 10 to 7 bits it is about
# $2^3 = 8$ times larger. Each bit halves the rounding step of every input, and
# the error of the product is the sum of these rounding errors. From 23 to 10
# bits it grows by much less than $2^{13}$, because with all 23 bits the error
# we see is not the rounding of the inputs but the rounding of the sums, which
# TF32 keeps in float32. (On small matrices it can even be 0: TensorFlow and
# NumPy then add the same numbers in the same order.)
#
# </details>

# %%
TOLERANCE = 1e-2
print(f"the product on {c.device.split('device:')[-1]}: error {error:.2e}, tolerance {TOLERANCE}")

# %% [markdown]
# ## 5. How fast is each device?
#
# We time `REPEATS` multiplications of `a` and `b` on every device, and check the
# last product of each device too. The first call also pays for setting things
# up, so it is a warm-up and not timed. `.numpy()` waits until the result is
# really there: TensorFlow may run a GPU asynchronously.


# %%
def gflops(device, repeats):
    """Billions of floating-point operations per second of the product a @ b on `device`."""
    with tf.device(device):
        x, y = tf.identity(a), tf.identity(b)  # copies on the device
        tf.matmul(x, y).numpy()  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            z = tf.matmul(x, y)
        z = z.numpy()
        seconds = time.perf_counter() - start
    return 2 * MATRIX_SIZE**3 * repeats / seconds / 1e9, product_error(z)


devices = ["/CPU:0"] + [f"/GPU:{i}" for i in range(len(gpus))]
speed, device_error = {}, {}
for device in devices:
    speed[device], device_error[device] = gflops(device, REPEATS)
    print(f"{device}: {speed[device]:8.1f} GFLOP/s, error {device_error[device]:.2e}")

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
# - Set `CHECK_BITS = 7` (bfloat16's precision) and then 4: from how many bits on
#   would the check fail a GPU?
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
assert error < TOLERANCE, f"the product differs from NumPy's by {error:.2e}, more than {TOLERANCE}"
for device, value in device_error.items():
    assert value < TOLERANCE, f"{device} computes a wrong product: error {value:.2e}, more than {TOLERANCE}"
assert rounded_error < TOLERANCE, (f"inputs rounded to {CHECK_BITS} mantissa bits give an error of {rounded_error:.2e}: "
                                   f"a GPU that rounds like that fails the tolerance {TOLERANCE}")
assert keras_home_writable, f"KERAS_HOME={keras_home} is not writable: Keras would try the network"
print("All checks passed: the lab is ready.")
if os.environ.get("DLAB_FLAVOR") == "cuda" and not gpus:
    print("Note: this is the CUDA lab but it sees no GPU; start it with `dlab up --gpus all`.")
