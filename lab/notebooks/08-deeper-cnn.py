# %% [markdown]
# # A deeper convolutional network
#
# **Goal.** Stack convolutional layers into blocks, the pattern behind VGG and
# most CNNs since: two 3 × 3 convolutions, then pooling, repeated, with batch
# normalisation to keep training stable and dropout against overfitting. On
# MNIST this takes the test error below 1 %.
#
# **Plan.**
# 1. Why small kernels, stacked: receptive field and parameter count.
# 2. A conv-conv-pool block with batch norm and dropout.
# 3. The network, trained with Adam.
# 4. Inside the network: feature maps, and the digits it still gets wrong.

# %% tags=["parameters"] smoke={"N_TRAIN": 2700, "N_VAL": 300, "FILTERS": [8, 16], "DENSE_UNITS": 32, "DROPOUT": 0.1, "HEAD_DROPOUT": 0.2, "EPOCHS": 4, "BATCH_SIZE": 32, "MIN_ACCURACY": 0.6} untrained={"SHUFFLE_LABELS": true, "EPOCHS": 1}
N_TRAIN = 55_000  # training images
N_VAL = 5_000  # validation images, held out from the end of the training set
FILTERS = [32, 64]  # filters of each conv-conv-pool block
DENSE_UNITS = 128
DROPOUT = 0.25  # after each block (a much smaller network needs less)
HEAD_DROPOUT = 0.5  # before the output layer
EPOCHS = 8
BATCH_SIZE = 128
LEARNING_RATE = 1e-3  # Adam
SEED = 42
MIN_ACCURACY = 0.985  # the older course reached 0.948
SHUFFLE_LABELS = False  # True: train on labels shuffled among the images (nothing left to learn)

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np

from dlab_course import data

keras.utils.set_random_seed(SEED)

(x_train_all, y_train_all), (x_test_u8, y_test) = data.load_mnist()
n_val = min(N_VAL, len(x_train_all) // 5)
n_train = min(N_TRAIN, len(x_train_all) - n_val)
x_train = x_train_all[:n_train, :, :, None].astype("float32")
x_val = x_train_all[-n_val:, :, :, None].astype("float32")
x_test = x_test_u8[:, :, :, None].astype("float32")
y_train, y_val = y_train_all[:n_train], y_train_all[-n_val:]
if SHUFFLE_LABELS:
    y_train = np.random.default_rng(SEED).permutation(y_train)
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% [markdown]
# ## 1. Small kernels, stacked
#
# A unit in the first layer sees a 3 × 3 patch of the image: its *receptive
# field*. A unit of a second 3 × 3 layer sees 3 × 3 units of the first, so a
# 5 × 5 patch of the image; after 2 × 2 pooling, every further layer widens
# the view twice as fast. Two stacked 3 × 3 layers see as much as one 5 × 5
# layer but with fewer weights and one more non-linearity in between.
#
# A `Conv2D` layer with $k \times k$ kernels, $C_\text{in}$ input channels and
# $C_\text{out}$ filters has one $k \times k \times C_\text{in}$ kernel per
# filter, plus one bias per filter:
#
# $$\text{parameters} = (k^2 C_\text{in} + 1)\, C_\text{out}.$$
#
# **Exercise.** Write `conv_params(k, c_in, c_out, bias=True)`.
#
# **Before you run it:** how many parameters do two stacked 3 × 3 layers with 64
# channels have, and one 5 × 5 layer? Work it out from the formula first.
#
# <details><summary>Answer</summary>
#
# Two 3 × 3 layers: $2 \cdot (9 \cdot 64 + 1) \cdot 64 = 73\,856$. One 5 × 5
# layer: $(25 \cdot 64 + 1) \cdot 64 = 102\,464$. The stack sees as far with
# 28 % fewer weights, and puts one more ReLU in between.
#
# </details>

# %%
def conv_params(k, c_in, c_out, bias=True):
    ### BEGIN SOLUTION  the weights of one filter times the number of filters, and one bias per filter if asked
    return (k * k * c_in + (1 if bias else 0)) * c_out
    ### END SOLUTION


layer = keras.layers.Conv2D(64, 3)
layer.build((None, 14, 14, 32))
assert conv_params(3, 32, 64) == layer.count_params() == 18_496
c = 64
print(f"two 3x3 layers, {c} channels: {2 * conv_params(3, c, c):,} parameters; one 5x5 layer: {conv_params(5, c, c):,}")

# %% [markdown]
# ## 2. A conv-conv-pool block
#
# Each block is
#
# > Conv2D 3 × 3 → BatchNormalization → ReLU → Conv2D 3 × 3 → BatchNormalization → ReLU → MaxPooling 2 × 2 → Dropout
#
# with `padding="same"`, so the convolutions keep the map's size and only
# pooling halves it: 28 → 14 → 7. The convolutions have no bias
# (`use_bias=False`): batch norm's offset $\beta$ replaces it (notebook 06).
#
# **Exercise.** Complete `conv_block(x, filters)` in the functional style:
# each layer is called on the output of the previous one, `x = layer(x)`.
#
# <details><summary>Hint</summary>
#
# Twice: `x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)`,
# then `keras.layers.BatchNormalization()` and `keras.layers.Activation("relu")`
# the same way. Then `keras.layers.MaxPooling2D(2)` and `keras.layers.Dropout(DROPOUT)`.
#
# </details>

# %%
def conv_block(x, filters):
    ### BEGIN SOLUTION  two rounds of convolution, normalisation and ReLU, then pooling and dropout
    for _ in range(2):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Dropout(DROPOUT)(x)
    ### END SOLUTION
    return x


# %% [markdown]
# ## 3. The network
#
# A `Normalization` layer, fitted to the training pixels with `adapt`, does
# the standardisation of notebook 07 inside the model, so the model takes raw
# pixels and nobody can forget to standardise at prediction time. The labels
# stay integers: `sparse_categorical_crossentropy` is the cross-entropy of
# notebook 04 without the one-hot step.

# %%
normalize = keras.layers.Normalization()
normalize.adapt(x_train)

inputs = keras.Input(shape=(28, 28, 1))
x = normalize(inputs)
for filters in FILTERS:
    x = conv_block(x, filters)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(DENSE_UNITS, activation="relu")(x)
x = keras.layers.Dropout(HEAD_DROPOUT)(x)
outputs = keras.layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="deeper_cnn")
model.summary()

convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
assert len(convs) == 2 * len(FILTERS)
assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == len(convs)
flatten = next(layer for layer in model.layers if isinstance(layer, keras.layers.Flatten))
side = 28 // 2 ** len(FILTERS)
assert tuple(flatten.input.shape[1:]) == (side, side, FILTERS[-1]), "each block halves the map"

# %%
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    epochs=EPOCHS,
    batch_size=BATCH_SIZE,
    verbose=2,
)

# %% [markdown]
# **What do you see, and why?** In the first epochs the validation accuracy can
# lie *above* the training accuracy. How can a model do better on images it has
# never seen?
#
# <details><summary>Answer</summary>
#
# It does not. Training accuracy is measured while the model trains: with
# dropout switched on, and averaged over an epoch in which the model was still
# improving. Validation accuracy is measured at the end of the epoch, with
# dropout off and batch norm using its running averages. The two numbers are
# taken from two different models.
#
# </details>

# %%
h = history.history
epochs = np.arange(1, len(h["loss"]) + 1)
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.5))
ax_loss.plot(epochs, h["loss"], "o-", label="train")
ax_loss.plot(epochs, h["val_loss"], "o-", label="validation")
ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
ax_acc.plot(epochs, h["accuracy"], "o-", label="train")
ax_acc.plot(epochs, h["val_accuracy"], "o-", label="validation")
ax_acc.axhline(0.948, color="gray", ls="--", label="older course")
ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
for ax in (ax_loss, ax_acc):
    ax.legend()
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
plt.show()

# %% [markdown]
# ## 4. Inside the network
#
# The output of the last ReLU of each block for one test digit: the first
# block still shows strokes and edges; the second works on a coarser grid and
# its maps are harder to read, closer to "which parts are where".

# %%
relus = [layer for layer in model.layers if isinstance(layer, keras.layers.Activation)]
block_outputs = [relus[2 * i + 1].output for i in range(len(FILTERS))]
maps = keras.Model(model.inputs, block_outputs)(x_test[:1])
shown = 8
fig, axes = plt.subplots(len(FILTERS), shown + 1, figsize=(1.4 * (shown + 1), 1.5 * len(FILTERS)))
for row, fmap in enumerate(maps):
    fmap = keras.ops.convert_to_numpy(fmap)[0]
    axes[row, 0].imshow(x_test[0, :, :, 0], cmap="gray_r")
    axes[row, 0].set_title(f"block {row + 1}", fontsize=8)
    for k in range(shown):
        axes[row, k + 1].imshow(fmap[:, :, k % fmap.shape[-1]], cmap="magma")
for ax in axes.ravel():
    ax.axis("off")
plt.show()

# %% [markdown]
# ## The test set, once
#
# And the digits the network still gets wrong, with its answer and the true
# label.

# %%
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
test_pred = model.predict(x_test, verbose=0).argmax(axis=1)
wrong = np.flatnonzero(test_pred != y_test)
print(f"test accuracy {test_accuracy:.4f}: {len(wrong)} of {len(y_test)} wrong (older course: 0.948)")

fig, axes = plt.subplots(1, 10, figsize=(12, 1.9))
for ax, i in zip(axes, wrong[:10]):
    ax.imshow(x_test_u8[i], cmap="gray_r")
    ax.set_title(f"said {test_pred[i]}\ntrue {y_test[i]}", fontsize=8)
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## What to try next
#
# - Remove the `BatchNormalization` layers (and give the convolutions their
#   bias back). How many epochs does it take to reach the same accuracy?
# - Set `DROPOUT = 0` and compare the gap between training and validation loss.
# - Add a third block with 128 filters. What size is the map after it?
# - Data augmentation: put `keras.layers.RandomRotation(0.05)` and
#   `keras.layers.RandomTranslation(0.1, 0.1)` right after the input; they act
#   only during training.
# - Replace `Flatten` by `GlobalAveragePooling2D`: how many parameters are left?

# %%
assert h["val_accuracy"][-1] >= MIN_ACCURACY, f"validation accuracy {h['val_accuracy'][-1]:.3f} < {MIN_ACCURACY}"
assert test_accuracy >= MIN_ACCURACY, f"test accuracy {test_accuracy:.3f} < {MIN_ACCURACY}"
assert h["loss"][-1] < h["loss"][0], "the training loss must go down"
