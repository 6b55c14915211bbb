# %% [markdown]
# # A first convolutional network
#
# **Goal.** A fully connected network treats an image as a bag of 784
# unrelated numbers: move the digit by one pixel and it sees a new input. A
# *convolutional* layer instead slides small filters over the image, so the
# same pattern is recognised wherever it appears, with far fewer weights.
# You compute a convolution by hand, then train a small CNN, twice: on raw
# pixels and on standardised ones, to see why the input's scale matters.
#
# **Plan.**
# 1. Convolution by hand in numpy, checked against TensorFlow.
# 2. Standardising the input.
# 3. The same CNN trained on raw and on standardised pixels.
# 4. What the first layer learned.

# %% tags=["parameters"] smoke={"N_TRAIN": 2000, "N_VAL": 300, "FILTERS": 8, "EPOCHS": 3, "MIN_ACCURACY": 0.6} untrained={"SHUFFLE_LABELS": true, "EPOCHS": 1}
N_TRAIN = 55_000  # training images
N_VAL = 5_000  # validation images, held out from the end of the training set
FILTERS = 32  # filters in the convolutional layer
EPOCHS = 5
BATCH_SIZE = 128
LEARNING_RATE = 0.1  # plain SGD, the same for both inputs
SEED = 42
MIN_ACCURACY = 0.96  # on standardised input; the older course reached 0.91 (0.59 on raw)
SHUFFLE_LABELS = False  # True: train on labels shuffled among the images (nothing left to learn)

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from dlab_course import data

keras.utils.set_random_seed(SEED)

(x_train_all, y_train_all), (x_test_u8, y_test) = data.load_mnist()
n_val = min(N_VAL, len(x_train_all) // 5)
n_train = min(N_TRAIN, len(x_train_all) - n_val)
# Images as float32 with a channel axis: (N, 28, 28, 1), pixel values still 0..255.
x_train_raw = x_train_all[:n_train, :, :, None].astype("float32")
x_val_raw = x_train_all[-n_val:, :, :, None].astype("float32")
x_test_raw = x_test_u8[:, :, :, None].astype("float32")
y_train, y_val = y_train_all[:n_train], y_train_all[-n_val:]
if SHUFFLE_LABELS:
    y_train = np.random.default_rng(SEED).permutation(y_train)
print(f"train {x_train_raw.shape}, validation {x_val_raw.shape}, test {x_test_raw.shape}")

# %% [markdown]
# ## 1. Convolution by hand
#
# A convolutional layer slides a small kernel $K$ (here 3 × 3) over the
# image $I$ and, at every position, takes the weighted sum of the pixels under
# it:
#
# $$S(i, j) = \sum_{u=0}^{2} \sum_{v=0}^{2} I(i + u,\ j + v)\, K(u, v).$$
#
# Without padding, a 28 × 28 image and a 3 × 3 kernel give a 26 × 26 *feature
# map*. (Mathematicians would flip the kernel and call this a
# cross-correlation; deep-learning libraries do not flip, and neither do we.)
#
# **Exercise.** Complete `convolve(image, kernel)` with two loops over the
# output positions.
#
# <details><summary>Hint</summary>
#
# Loop `i` over `range(out.shape[0])` and `j` over `range(out.shape[1])`. The patch
# under the kernel is `image[i:i + kh, j:j + kw]`; `np.sum(patch * kernel)` is
# `out[i, j]`.
#
# </details>

# %%
def convolve(image, kernel):
    """'Valid' 2-D convolution (no padding, stride 1), as deep-learning libraries define it."""
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1), dtype="float32")
    ### BEGIN SOLUTION  at every output position, the weighted sum of the pixels under the kernel
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)
    ### END SOLUTION
    return out


# %% [markdown]
# Three hand-made kernels. The first responds to vertical edges: positive
# (red) where the ink starts as you move right, negative (blue) where it ends.
# The second does the same for horizontal edges, the third blurs.

# %%
kernels = {
    "vertical edges": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype="float32"),
    "horizontal edges": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype="float32"),
    "blur": np.full((3, 3), 1 / 9, dtype="float32"),
}
image = x_train_raw[0, :, :, 0] / 255.0

fig, axes = plt.subplots(1, 4, figsize=(12, 3))
axes[0].imshow(image, cmap="gray_r")
axes[0].set_title(f"input: a {y_train[0]}")
for ax, (name, kernel) in zip(axes[1:], kernels.items()):
    feature_map = convolve(image, kernel)
    ax.imshow(feature_map, cmap="RdBu_r", vmin=-np.abs(feature_map).max(), vmax=np.abs(feature_map).max())
    ax.set_title(name)
for ax in axes:
    ax.axis("off")
plt.show()

# TensorFlow computes the same thing, for a batch of images and many kernels at once.
kernel = kernels["vertical edges"]
by_tf = tf.nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], strides=1, padding="VALID")
assert by_tf.shape == (1, 26, 26, 1)
assert np.allclose(convolve(image, kernel), by_tf[0, :, :, 0], atol=1e-5)
print("convolve() agrees with tf.nn.conv2d")

# %% [markdown]
# ## 2. Standardising the input
#
# The raw pixels run from 0 to 255. A layer's pre-activations are weighted
# sums of them, so with the usual initial weights they start out hundreds of
# times larger than they would on inputs of size one, and so do the gradients:
# a learning rate that suits one scale is far too large for the other, and
# the network thrashes or dies. The cure is to *standardise* the input,
#
# $$x' = \frac{x - \mu}{\sigma},$$
#
# with $\mu$ and $\sigma$ the mean and standard deviation of the **training**
# pixels. The validation and test images are shifted by the same $\mu$ and
# $\sigma$: they must not be used to compute them, or information about them
# leaks into training.
#
# **Exercise.** Compute `mean` and `std` (one number each) from `x_train_raw`,
# and standardise the three sets.
#
# <details><summary>Hint</summary>
#
# `x_train_raw.mean()` and `x_train_raw.std()` are over all pixels of all images.
# Then `x_train`, `x_val` and `x_test` are `(raw - mean) / std`, each from its own
# raw set.
#
# </details>

# %%
### BEGIN SOLUTION  one mean and one spread, from the training pixels only, applied to all three sets
mean, std = x_train_raw.mean(), x_train_raw.std()
x_train = (x_train_raw - mean) / std
x_val = (x_val_raw - mean) / std
x_test = (x_test_raw - mean) / std
### END SOLUTION
print(f"training pixels: mean {mean:.1f}, std {std:.1f}; after: mean {x_train.mean():.3f}, std {x_train.std():.3f}")
assert abs(x_train.mean()) < 1e-3 and abs(x_train.std() - 1) < 1e-3

fig, (ax_raw, ax_std) = plt.subplots(1, 2, figsize=(10, 2.8))
ax_raw.hist(x_train_raw[:200].ravel(), bins=50, log=True)
ax_raw.set(title="raw pixels", xlabel="value")
ax_std.hist(x_train[:200].ravel(), bins=50, log=True, color="C1")
ax_std.set(title="standardised pixels", xlabel="value")
plt.show()


# %% [markdown]
# ## 3. A first CNN
#
# The network: one convolutional layer of `FILTERS` 5 × 5 filters with ReLU,
# a 2 × 2 max-pooling layer that keeps the largest value of each 2 × 2 block
# (halving the map and making the response a little tolerant to shifts), and a
# dense softmax layer on top.
#
# | layer | output shape | parameters |
# | --- | --- | --- |
# | Conv2D, 5 × 5, `FILTERS` filters | 24 × 24 × `FILTERS` | $(5 \cdot 5 + 1) \cdot$ `FILTERS` |
# | MaxPooling2D, 2 × 2 | 12 × 12 × `FILTERS` | 0 |
# | Flatten + Dense, 10 | 10 | $(144 \cdot$ `FILTERS` $+ 1) \cdot 10$ |
#
# **Exercise.** Write `build_cnn()` as a `keras.Sequential` following the table.
#
# <details><summary>Hint</summary>
#
# `keras.Input(shape=(28, 28, 1))`, then `keras.layers.Conv2D(FILTERS, 5, activation="relu")`,
# `keras.layers.MaxPooling2D(2)`, `keras.layers.Flatten()` and
# `keras.layers.Dense(10, activation="softmax")`, in one list.
#
# </details>

# %%
def build_cnn():
    ### BEGIN SOLUTION  the rows of the table in order, as one model
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(FILTERS, 5, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    ### END SOLUTION


cnn = build_cnn()
cnn.summary()
assert cnn.output_shape == (None, 10)
assert cnn.count_params() == (5 * 5 + 1) * FILTERS + (12 * 12 * FILTERS + 1) * 10


# %% [markdown]
# Now the experiment: the same network, the same initial weights, the same
# optimiser, trained once on raw and once on standardised pixels.

# %%
def train(x, x_validation):
    keras.utils.set_random_seed(SEED)  # identical initial weights for both runs
    model = build_cnn()
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x, y_train, validation_data=(x_validation, y_val), epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=2
    )
    return model, history.history


print("raw pixels (0..255):")
raw_model, raw_history = train(x_train_raw, x_val_raw)
print("standardised pixels:")
std_model, std_history = train(x_train, x_val)

# %%
epochs = np.arange(1, EPOCHS + 1)
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.5))
for name, h in [("raw", raw_history), ("standardised", std_history)]:
    ax_loss.plot(epochs, np.nan_to_num(h["loss"], nan=np.inf), "o-", label=name)
    ax_acc.plot(epochs, h["val_accuracy"], "o-", label=name)
ax_loss.set(xlabel="epoch", ylabel="training cross-entropy (log)", yscale="log", title="loss")
ax_acc.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1), title="accuracy")
ax_acc.axhline(0.1, color="gray", ls=":", label="chance")
for ax in (ax_loss, ax_acc):
    ax.legend()
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
plt.show()

# %% [markdown]
# **What do you see, and why?** Same network, same start, same learning rate:
# why does one of the two runs fail?
#
# <details><summary>Answer</summary>
#
# On raw pixels the first updates are enormous. Typically they push every
# ReLU of the convolutional layer into its flat negative half, where the
# gradient is zero: the units are *dead*, and the network answers the same
# digit for every image, at chance level, however long it trains.
#
# </details>
#
# Count the filters that never fire on the validation images, and the distinct
# answers:

# %%
def never_firing(model, x):
    conv_output = keras.Model(model.inputs, model.layers[0].output)(x).numpy()
    return int(np.sum(np.all(conv_output <= 0, axis=(0, 1, 2))))


for name, model, x in [("raw", raw_model, x_val_raw), ("standardised", std_model, x_val)]:
    answers = np.unique(model.predict(x, verbose=0).argmax(axis=1))
    print(f"{name:13s}: {never_firing(model, x)} of {FILTERS} filters never fire; distinct answers: {len(answers)}")

raw_test = raw_model.evaluate(x_test_raw, y_test, verbose=0)[1]
std_test = std_model.evaluate(x_test, y_test, verbose=0)[1]
print(f"test accuracy: raw {raw_test:.3f}, standardised {std_test:.3f} (older course: 0.59 raw, 0.91 standardised)")

# %% [markdown]
# ## 4. What did the first layer learn?
#
# Each filter of the trained network is a 5 × 5 picture; next to it, the
# feature map it produces for one test digit. Many filters are edge or stroke
# detectors, like the hand-made kernels of section 1, but learned from data.

# %%
filters = std_model.layers[0].kernel.numpy()[:, :, 0, :]  # (5, 5, FILTERS)
feature_maps = keras.Model(std_model.inputs, std_model.layers[0].output)(x_test[:1]).numpy()[0]
shown = min(8, FILTERS)
fig, axes = plt.subplots(2, shown, figsize=(1.5 * shown, 3.2))
for k in range(shown):
    limit = np.abs(filters[:, :, k]).max()
    axes[0, k].imshow(filters[:, :, k], cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[1, k].imshow(feature_maps[:, :, k], cmap="magma")
    axes[0, k].set_title(f"filter {k}", fontsize=8)
for ax in axes.ravel():
    ax.axis("off")
plt.show()

# %% [markdown]
# ## What to try next
#
# - Train on raw pixels with a learning rate 255² times smaller. Does it
#   catch up? Why is a single learning rate still a poor fit for raw input?
# - Scale to $[0, 1]$ (divide by 255) instead of standardising: how close does
#   it come?
# - Count the weights: how many would a dense layer from 784 pixels to
#   `FILTERS` × 24 × 24 units need?
# - Shift the test images by two pixels with `np.roll` and compare the CNN
#   with the dense network of notebook 05.
# - Notebook 08 stacks more convolutional layers.

# %%
assert std_history["val_accuracy"][-1] >= MIN_ACCURACY, f"validation accuracy {std_history['val_accuracy'][-1]:.3f} < {MIN_ACCURACY}"
assert std_test >= MIN_ACCURACY, f"test accuracy {std_test:.3f} < {MIN_ACCURACY}"
assert std_test > raw_test, "standardised input should beat raw pixels with the same learning rate"
assert std_history["loss"][-1] < std_history["loss"][0], "the loss on standardised input must go down"
