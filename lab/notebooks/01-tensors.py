# %% [markdown]
# # 01 · Tensors and matrix multiplication
#
# **Goal.** Know the object every deep-learning computation is made of, the
# *tensor*, and the two ways TensorFlow runs computations on it: *eagerly*, one
# operation at a time like NumPy, and as a *graph* built by `tf.function`, which
# TensorFlow can optimise, run without Python and draw in TensorBoard.
#
# Our running example is one tiny computation,
#
# $$ 10 \cdot a\, b^\top \quad\text{with}\quad a = \begin{pmatrix} 3 & 3 \end{pmatrix},\;
#    b = \begin{pmatrix} 2 & 2 \end{pmatrix}, $$
#
# a $1\times 2$ matrix times a $2 \times 1$ matrix: $10 \cdot (3\cdot 2 + 3 \cdot 2) = 120$.

# %% tags=["parameters"] smoke={"N_REPEATS": 20} untrained={"A": [[3.0, 4.0]]}
N_REPEATS = 200  # calls per timing in the eager-vs-graph race
LOGDIR = "logs/01-tensors"  # where TensorBoard finds the graph
A = [[3.0, 3.0]]  # the running example's a; the checks at the end expect this one

# %%
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

keras.utils.set_random_seed(1)

# %% [markdown]
# ## 1. NumPy arrays
#
# A NumPy array has a **shape** (the length along each axis), a **dtype** (the
# type of every element) and a number of axes, `ndim`. A matrix is a 2-axis array;
# a row vector written as a matrix has shape `(1, 2)`.
#
# Two different products: `*` multiplies element by element (shapes must match or
# *broadcast*), `@` is the matrix product (inner sizes must agree).

# %%
a = np.array(A)
b = np.array([[2.0, 2.0]])
print("a:", a.shape, a.dtype, "ndim", a.ndim)
print("element-wise a * b =", a * b)
print("matrix product 10 * a @ b.T =", 10 * a @ b.T)
result_numpy = 10 * a @ b.T

# %% [markdown]
# ## 2. TensorFlow tensors
#
# `tf.constant` makes a tensor from a Python value or a NumPy array. A tensor looks
# much like an array (shape, dtype), with three differences that matter:
#
# - it lives on a **device** (CPU or GPU) and TensorFlow operations run there;
# - it is **immutable**: you make new tensors, you do not change old ones
#   (`tf.Variable` is the mutable kind; model weights are variables);
# - TensorFlow **never converts dtypes silently**: mixing `int32` and `float32`
#   is an error, not a guess.
#
# NumPy arrays go into TensorFlow operations and `.numpy()` brings a tensor back.

# %%
a_tf = tf.constant(A)
b_tf = tf.constant(b, dtype=tf.float32)
print(a_tf)
print("shape", a_tf.shape, "dtype", a_tf.dtype, "device", a_tf.device)
print("back to NumPy:", type(a_tf.numpy()))

counter = tf.Variable(0.0)
counter.assign_add(1.0)
print("a variable after assign_add:", counter.numpy())

try:
    tf.constant([1, 2]) + tf.constant([0.5, 0.5])
except tf.errors.InvalidArgumentError as error:
    print("int32 + float32 ->", type(error).__name__)

# %% [markdown]
# **Your turn:** compute $10 \cdot a\, b^\top$ with TensorFlow operations on `a_tf`
# and `b_tf`, as a tensor named `result`.
#
# <details><summary>Hint</summary>
#
# `tf.matmul(x, y)` is the matrix product; its argument `transpose_b=True`
# multiplies by the transpose of `y` instead (`tf.transpose(y)` works too). A
# tensor times a Python number multiplies every element.
#
# </details>

# %%
### BEGIN SOLUTION  ten times the matrix product of a_tf with b_tf turned on its side
result = 10 * tf.matmul(a_tf, b_tf, transpose_b=True)
### END SOLUTION
print(result)

# %% [markdown]
# ## 3. Eager execution and graphs
#
# So far every line ran at once and gave a value: **eager execution**. It is easy
# to debug, but Python sits between every two operations.
#
# Decorating a Python function with `@tf.function` changes that. On the first call
# TensorFlow **traces** the function: it runs the Python code once with symbolic
# tensors and records the operations into a **graph**. Later calls with the same
# input shapes and dtypes run the recorded graph directly, without Python. That is
# why a Python `print` inside shows only while tracing, while `tf.print` is part of
# the graph and runs on every call.
#
# **Your turn:** complete `ten_a_bt(x, y)` so that it returns $10 \cdot x\, y^\top$.
#
# **Before you run it:** how many times will "tracing with" be printed for the two
# calls below, and how many times "running the graph"?
#
# <details><summary>Answer</summary>
#
# "tracing with" once: both calls pass tensors of shape `(1, 2)` and dtype
# `float32`, so the second call reuses the graph of the first. "running the graph"
# twice: `tf.print` is an operation in the graph, so it runs on every call.
#
# </details>


# %%
@tf.function
def ten_a_bt(x, y):
    print("tracing with", x.shape, y.shape)  # Python: runs while tracing only
    tf.print("running the graph")  # TensorFlow: runs on every call
    ### BEGIN SOLUTION  the same computation as above, on the arguments x and y
    return 10 * tf.matmul(x, y, transpose_b=True)
    ### END SOLUTION


first = ten_a_bt(a_tf, b_tf)
second = ten_a_bt(tf.constant([[1.0, 2.0]]), tf.constant([[3.0, 4.0]]))
print(first.numpy(), second.numpy())
print("traces so far:", ten_a_bt.experimental_get_tracing_count())

# %% [markdown]
# Both calls had inputs of shape `(1, 2)`, so there was one trace. A call with a
# new shape traces again: each *concrete function* is one graph. Here are the
# operations in ours; `MatMul` is the matrix product.

# %%
graph = ten_a_bt.get_concrete_function(a_tf, b_tf).graph
operations = [op.type for op in graph.get_operations()]
print(operations)

# %% [markdown]
# ### Who is faster?
#
# A graph pays off where Python overhead dominates: many small operations. Below,
# one step of a tiny recurrent network, $h \leftarrow \tanh(h W)$, repeated 50 times,
# runs eagerly and as a graph.


# %%
def fifty_steps(h, w):
    for _ in range(50):
        h = tf.tanh(h @ w)
    return h


fifty_steps_graph = tf.function(fifty_steps)
h0 = tf.random.normal((1, 16))
w = tf.random.normal((16, 16)) / 4


def seconds_per_call(function):
    function(h0, w)  # warm-up (and tracing, for the graph)
    start = time.perf_counter()
    for _ in range(N_REPEATS):
        function(h0, w)
    return (time.perf_counter() - start) / N_REPEATS


timings = {"eager": seconds_per_call(fifty_steps), "tf.function": seconds_per_call(fifty_steps_graph)}
same = np.allclose(fifty_steps(h0, w), fifty_steps_graph(h0, w), atol=1e-5)
print({k: f"{v * 1e3:.2f} ms" for k, v in timings.items()}, "same result:", same)

fig, ax = plt.subplots(figsize=(5, 1.8))
ax.barh(list(timings), [v * 1e3 for v in timings.values()], color=["tab:orange", "tab:blue"])
ax.set_xlabel("milliseconds per call (lower is better)")
ax.set_title("50 small steps: eager vs graph")
plt.show()

# %% [markdown]
# ## 4. The graph in TensorBoard
#
# TensorBoard, TensorFlow's dashboard, reads *event files* that a program writes
# into a log folder. With tracing switched on, the next call of a `tf.function`
# records its graph, and `trace_export` writes it.

# %%
run_dir = Path(LOGDIR) / time.strftime("%Y%m%d-%H%M%S")
writer = tf.summary.create_file_writer(str(run_dir))
ten_a_bt_fresh = tf.function(ten_a_bt.python_function)  # a new function: it traces again
tf.summary.trace_on(graph=True)
ten_a_bt_fresh(a_tf, b_tf)
with writer.as_default():
    tf.summary.trace_export(name="ten_a_bt", step=0)
writer.flush()
event_files = sorted(run_dir.glob("events.out.tfevents.*"))
print("wrote", [str(p) for p in event_files])

# %% [markdown]
# To look at it: *File → New → Terminal*, go to this notebook's folder and start
# TensorBoard,
#
# ```
# tensorboard --logdir logs --port 6006
# ```
#
# then, in the browser's address bar, replace `/lab...` after the lab's address by
# `/proxy/6006/` (for instance `http://127.0.0.1:8888/proxy/6006/`). Open the
# **Graphs** tab and pick the run: you see the two inputs (`Placeholder`), the
# `MatMul`, the constant 10 and the multiplication `Mul`, and the `PrintV2` of
# `tf.print`. (With `transpose_b=True` the transpose is a flag of `MatMul`, not
# a node of its own.)
#
# ## What to try next
#
# - Call `ten_a_bt` with inputs of shape `(2, 2)`: how many traces now? What does
#   `input_signature=[tf.TensorSpec([None, 2])] * 2` in `@tf.function(...)` change?
# - Change the 50 in `fifty_steps` to 5 and to 500: when does the graph stop paying off?
# - Replace `tf.constant` by NumPy arrays in the call of `ten_a_bt`: what happens
#   to the tracing count? (Hint: Python values and NumPy arrays are traced differently
#   from tensors.)
#
# ## Checks

# %%
assert result_numpy.item() == 120, f"NumPy says {result_numpy.item()}"
assert result.shape == (1, 1), f"result has shape {result.shape}, expected (1, 1)"
assert float(result[0, 0]) == 120.0, f"TensorFlow says {float(result[0, 0])}, expected 120"
assert float(first[0, 0]) == 120.0 and float(second[0, 0]) == 110.0, "ten_a_bt computes something else"
assert ten_a_bt.experimental_get_tracing_count() == 1, "two calls of the same shape should trace once"
assert "MatMul" in operations, "the graph has no matrix product"
assert same, "eager and graph execution disagree"
assert event_files and event_files[0].stat().st_size > 0, f"no TensorBoard event file in {run_dir}"
print("All checks passed.")
