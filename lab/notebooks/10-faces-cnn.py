# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Faces: a convolutional network
#
# **Goal.** Beat the fully connected baseline of notebook 09 on the same eight
# people with a convolutional network (CNN), and report its accuracy on a
# **held-out test set that is looked at exactly once**. Then ask the network
# which pixels its answers rest on, with **Grad-CAM**.
#
# The older version of this course reached a test accuracy of 0.70 here, on
# another set of faces with three times as many photos.

# %% tags=["parameters"] smoke={"EPOCHS": 5, "BATCH_SIZE": 16, "FILTERS": 8, "MIN_TEST_ACCURACY": 0.35} untrained={"LEARNING_RATE": 0.0, "EPOCHS": 1}
EPOCHS = 80                # upper limit; early stopping usually ends sooner
PATIENCE = 15              # epochs without a better validation accuracy before stopping
BATCH_SIZE = 32
FILTERS = 32               # filters in the first block, doubled in each further block
DROPOUT = 0.4
LEARNING_RATE = 1e-3       # 0 leaves the network as it was initialised
MIN_TEST_ACCURACY = 0.55   # chosen from the binomial spread: section 5
MASKED_SHARE = 0.2         # Grad-CAM check: share of each photo that is covered up
MIN_CAM_EFFECT = 0.05      # covering the hot region must cost this much more probability than elsewhere
SEED = 0

# %%
import math

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from scipy import stats

from dlab_course import data

keras.utils.set_random_seed(SEED)
faces = data.load_faces()
x_train, y_train = faces["x_train"], faces["y_train"]
x_val, y_val = faces["x_val"], faces["y_val"]
x_test, y_test = faces["x_test"], faces["y_test"]
names = faces["names"]
n_classes = len(names)
majority = np.argmax(np.bincount(y_train, minlength=n_classes))
print(f"train {len(x_train)}, validation {len(x_val)}, test {len(x_test)} photos of {n_classes} people")


def wilson(accuracy, n):
    """The 95 % Wilson interval (notebook 09) of an accuracy measured on n photos."""
    low, high = stats.binomtest(int(round(accuracy * n)), n).proportion_ci(0.95, method="wilson")
    return float(low), float(high)

# %% [markdown]
# ## 1. Convolution
#
# A convolutional layer slides small filters, here 3 x 3 pixels over all input
# channels, across the image. Output channel $k$ at position $(i, j)$ is
#
# $$y_{i,j,k} = \mathrm{ReLU}\Big(b_k + \sum_{u=-1}^{1}\sum_{v=-1}^{1}\sum_{c} W_{u,v,c,k}\; x_{i+u,\,j+v,\,c}\Big).$$
#
# * **Local:** each output sees a small neighbourhood.
# * **Shared:** the same filter is used at every position, so an eye detector
#   works wherever the eye is. The first layer with 32 filters has
#   3 x 3 x 3 x 32 = 864 weights, against 3.1 million in notebook 09.
# * **Pooling** (`MaxPooling2D`, keep the largest of each 2 x 2 block) halves
#   the resolution, so deeper filters see larger parts of the face.
#
# Two filters written by hand show what that means: one responds to vertical
# edges, one to horizontal edges.

# %%
sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype="float32")
kernels = np.stack([sobel, sobel.T], axis=-1)[:, :, None, :]  # [3, 3, in=1, out=2]
grey = x_train[:1].mean(axis=-1, keepdims=True).astype("float32") / 255.0
edges = keras.ops.convert_to_numpy(keras.ops.conv(grey, kernels, padding="same"))

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
axes[0].imshow(grey[0, :, :, 0], cmap="gray")
axes[0].set_title("input (grey)")
axes[1].imshow(np.abs(edges[0, :, :, 0]), cmap="magma")
axes[1].set_title("vertical edges")
axes[2].imshow(np.abs(edges[0, :, :, 1]), cmap="magma")
axes[2].set_title("horizontal edges")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# A CNN learns such filters from the data, and stacks of them: edges, then
# eyes and mouths, then faces.
#
# ## 2. More data for free: augmentation
#
# With a few hundred photos per person, the network soon memorises them.
# Augmentation layers show it a slightly different version of each photo in
# every epoch: mirrored, shifted, rotated, zoomed. They are part of the model
# and active only during training (`training=True`); for predictions they
# pass the image through unchanged.

# %%
augment = keras.Sequential([
    keras.layers.RandomFlip("horizontal"),
    keras.layers.RandomTranslation(0.06, 0.06),
    keras.layers.RandomRotation(0.04),
    keras.layers.RandomZoom(0.1),
], name="augment")

fig, axes = plt.subplots(1, 8, figsize=(13, 2))
axes[0].imshow(x_train[0])
axes[0].set_title("original", fontsize=8)
for ax in axes[1:]:
    ax.imshow(keras.ops.convert_to_numpy(augment(x_train[:1], training=True))[0].astype("uint8"))
    ax.set_title("augmented", fontsize=8)
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 3. The network
#
# The usual pattern: blocks of `Conv2D` -> `BatchNormalization` -> ReLU,
# a `MaxPooling2D` after each block, the number of filters doubling as the
# resolution halves. At the end `GlobalAveragePooling2D` averages each feature
# map to one number, dropout, and a softmax layer.
#
# The network ends in a `Dense` layer that computes one *score* (logit) per
# person and a separate softmax `Activation` that turns the scores into
# probabilities. Keeping the two apart costs nothing and lets section 8 reach
# the scores.
#
# **Exercise.** Complete `build_cnn`. After augmentation and standardisation,
# use three blocks with `filters`, `2 * filters` and `4 * filters` filters:
# the first two blocks with two convolutions each, the last with one.
#
# <details><summary>Hint</summary>
#
# A loop over `(filters, 2), (2 * filters, 2), (4 * filters, 1)` calls
# `conv_bn_relu` the given number of times and then `keras.layers.MaxPooling2D()`.
# After the loop: `GlobalAveragePooling2D`, `Dropout(dropout)`,
# `Dense(n_classes)` and `Activation("softmax")`.
#
# </details>

# %%
normalizer = keras.layers.Normalization(axis=-1)
normalizer.adapt(x_train.astype("float32"))


def conv_bn_relu(x, filters):
    """3x3 convolution, batch normalisation, ReLU."""
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)  # running statistics settle in a few dozen steps
    return keras.layers.Activation("relu")(x)


def build_cnn(filters=FILTERS, dropout=DROPOUT):
    """The face CNN, compiled."""
    inputs = keras.Input(shape=x_train.shape[1:])
    x = normalizer(augment(inputs))
    ### BEGIN SOLUTION  blocks of convolutions that halve the resolution as the filters double; then average each map to one number, drop out, score and normalise
    for block_filters, convs in [(filters, 2), (2 * filters, 2), (4 * filters, 1)]:
        for _ in range(convs):
            x = conv_bn_relu(x, block_filters)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(dropout)(x)
    scores = keras.layers.Dense(n_classes)(x)
    outputs = keras.layers.Activation("softmax")(scores)
    ### END SOLUTION
    model = keras.Model(inputs, outputs, name="faces_cnn")
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


model = build_cnn()
model.summary()

# %% [markdown]
# ## 4. Training, with the validation set as the judge
#
# Every choice we make (filters, dropout, when to stop) is made by looking at
# the **validation** accuracy. `EarlyStopping` stops when it has not improved
# for `PATIENCE` epochs and restores the weights of the best epoch.

# %%
stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=PATIENCE,
                                     restore_best_weights=True)
history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=EPOCHS,
                    batch_size=BATCH_SIZE, callbacks=[stop], verbose=2 if EPOCHS <= 10 else 0)
val_acc = np.array(history.history["val_accuracy"])
val_low, val_high = wilson(val_acc.max(), len(y_val))
print(f"{len(val_acc)} epochs; best validation accuracy {val_acc.max():.3f} (95 % {val_low:.2f}-{val_high:.2f}) "
      f"in epoch {val_acc.argmax() + 1}")

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.5))
for key, label in [("loss", "training"), ("val_loss", "validation")]:
    ax_loss.plot(history.history[key], label=label)
for key, label in [("accuracy", "training"), ("val_accuracy", "validation")]:
    ax_acc.plot(history.history[key], label=label)
ax_loss.set_title("cross-entropy")
ax_acc.set_title("accuracy")
for ax in (ax_loss, ax_acc):
    ax.set_xlabel("epoch")
    ax.legend()
plt.show()

# %% [markdown]
# **What do you see, and why?** Compare these curves with notebook 09's: the
# gap between training and validation, and how fast validation improves.
#
# <details><summary>Answer</summary>
#
# The gap is much smaller. The CNN has over twenty times fewer weights
# than the dense network (one small filter reused at every position), and
# augmentation shows it a new variant of every photo in every epoch, so it
# cannot simply memorise the 618 photos. Training accuracy is measured on
# augmented photos with dropout active, which is why it can even lie below
# the validation accuracy. Validation accuracy climbs more slowly at first and
# jumps around more: batch normalisation's running statistics are still
# settling, and one photo of 132 is 0.008 of accuracy.
#
# </details>
#
# ## 5. The one look at the test set
#
# The validation accuracy is slightly optimistic: we picked the epoch (and, if
# you played with the parameters, the settings) that scored best on it. The
# test set has played no part in any choice, so its accuracy is an honest
# estimate of how the network does on new photos of these people.
#
# That holds only while it stays untouched. If you now change the network
# because the test score disappoints, and test again, the test set has become
# a second validation set. So: decide everything first, then evaluate on the
# test set **once**, and report that number.

# %%
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
test_probabilities = model.predict(x_test, verbose=0)
test_predicted = test_probabilities.argmax(axis=1)
n_test, test_correct = len(y_test), int(np.sum(test_predicted == y_test))
low, high = wilson(test_correct / n_test, n_test)
majority_test_accuracy = np.mean(y_test == majority)
print(f"test accuracy {test_accuracy:.3f} = {test_correct}/{n_test}, 95 % Wilson interval {low:.2f} to {high:.2f}")
print(f"always the most frequent person: {majority_test_accuracy:.3f}; the older course's 0.70 lies",
      "below" if 0.70 < low else "above" if 0.70 > high else "inside", "the interval")

# %% [markdown]
# The interval is the Wilson interval of notebook 09, here from SciPy
# (`scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`, in the
# function `wilson` at the top). With 132 test photos it is about ± 0.08 wide:
# a CNN at 0.75 and one at 0.70 cannot be told apart on this test set.
#
# **How the threshold of the checks was chosen**, as in notebook 09: a model
# whose answers ignore the photo is right on at most 22 of the 132 test photos
# (the most frequent person's share, 0.17); a CNN trained on 618 photos with
# augmentation should reach 0.7 or more, well above notebook 09's dense
# network. `MIN_TEST_ACCURACY = 0.55` lies far above the first (a photo-blind
# model passes with a probability of about $10^{-23}$) and 2.4 standard errors
# below 0.65 (a CNN whose true accuracy is 0.65 fails about 1 time in 100). A
# network that does no better than notebook 09's baseline fails often, as it
# should: a CNN is expected to beat it. None of this could be tried on the
# real photos when the course was written (the lab is built offline); it
# follows from the sizes and the binomial spread alone:

# %%
needed = math.ceil(MIN_TEST_ACCURACY * n_test - 1e-9)
blind_share = np.bincount(y_test, minlength=n_classes).max() / n_test
print(f"to pass: {needed} of {n_test}; a photo-blind model passes with probability "
      f"{stats.binom.sf(needed - 1, n_test, blind_share):.1e}, a CNN whose true accuracy is 0.65 fails "
      f"with probability {stats.binom.cdf(needed - 1, n_test, 0.65):.3f}")

# %% [markdown]
# ## 6. Where does it go wrong?
#
# A confusion matrix counts, for each true person (row), which person the
# network predicted (column). The diagonal holds the right answers.
#
# **Exercise.** Fill `confusion` from `y_test` and `test_predicted`.
#
# <details><summary>Hint</summary>
#
# A loop over `zip(y_test, test_predicted)` that adds 1 to one entry works.
# Without a loop: `np.add.at(array, (rows, columns), 1)` adds 1 at every
# (row, column) pair, also where a pair comes more than once (plain fancy
# indexing, `array[rows, columns] += 1`, would count a repeated pair only once).
#
# </details>

# %%
confusion = np.zeros((n_classes, n_classes), dtype=int)
### BEGIN SOLUTION  each test photo counts once, in the row of its true person and the column of the one predicted
np.add.at(confusion, (y_test, test_predicted), 1)
### END SOLUTION

per_person = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
fig, ax = plt.subplots(figsize=(6.5, 5.5))
ax.imshow(confusion, cmap="Blues")
for (i, j), count in np.ndenumerate(confusion):
    if count:
        ax.text(j, i, count, ha="center", va="center", fontsize=8,
                color="white" if count > confusion.max() / 2 else "black")
ax.set_xticks(range(n_classes), names, rotation=60, ha="right", fontsize=8)
person_intervals = [wilson(share, max(count, 1)) for share, count in zip(per_person, confusion.sum(axis=1))]
ax.set_yticks(range(n_classes), [f"{n} ({p:.0%}, 95 %: {lo:.0%}-{hi:.0%})" for n, p, (lo, hi)
                                 in zip(names, per_person, person_intervals)], fontsize=8)
ax.set_xlabel("predicted")
ax.set_ylabel("true (share recognised, Wilson interval)")
plt.show()

# %%
wrong = np.flatnonzero(test_predicted != y_test)[:8]
if len(wrong):
    fig, axes = plt.subplots(1, len(wrong), figsize=(1.7 * len(wrong), 2.4), squeeze=False)
    for ax, i in zip(axes[0], wrong):
        ax.imshow(x_test[i])
        ax.set_title(f"is {names[y_test[i]][:12]}\nsaid {names[test_predicted[i]][:12]}", fontsize=7)
        ax.axis("off")
    plt.show()
else:
    print("no test photo was misclassified")

# %% [markdown]
# **What do you see, and why?** Which people are confused with each other,
# and is the confusion symmetric?
#
# <details><summary>Answer</summary>
#
# Confusions are rarely spread evenly: they concentrate on pairs of people who
# look alike at 64 x 64 pixels (similar hair, skin tone, glasses, or the same
# lighting and background in their press photos) and on the people with the
# fewest training photos, whose rows have the lowest share recognised. The
# matrix is not symmetric: a network in doubt leans towards the people it has
# seen most, so errors flow *into* the frequent people's columns more than out
# of them. With about 10 to 20 test photos per person, a per-person share is
# itself very uncertain (± 0.2 and more): read the pattern, not the decimals.
#
# </details>

# %% [markdown]
# ## 7. What the first layer sees
#
# The outputs of the first convolution for one photo: each map is one learned
# filter applied everywhere. Some follow edges, some colours, some light.

# %%
first_conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
probe = keras.Model(model.input, first_conv.output)
maps = keras.ops.convert_to_numpy(probe(x_test[:1], training=False))[0]
shown = min(16, maps.shape[-1])
fig, axes = plt.subplots(2, shown // 2 + 1, figsize=(13, 3.5))
axes = axes.ravel()
axes[0].imshow(x_test[0])
axes[0].set_title("input", fontsize=8)
for k in range(shown):
    axes[k + 1].imshow(maps[:, :, k], cmap="viridis")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 8. Which pixels does an answer rest on? Grad-CAM
#
# The last convolution's output is a stack of feature maps $A^k$ (here
# 16 x 16 positions each) that still know *where* in the photo something was
# seen; everything after it (pooling, the dense layer) only mixes them.
# **Grad-CAM** (Selvaraju et al., 2017) asks: how much does the score $y^c$ of
# person $c$ rise when map $k$ rises? Averaged over the positions, that is
# map $k$'s weight for person $c$, and the heat map is the weighted sum of
# the maps, keeping only the positive evidence:
#
# $$lpha_k^c = rac{1}{Z}\sum_{i,j} rac{\partial y^c}{\partial A^k_{ij}},
# \qquad L^c = \mathrm{ReLU}\Big(\sum_k lpha_k^c A^k\Big).$$
#
# The gradient comes from a `tf.GradientTape`, as in notebook 02. We compute
# it for the person the network *predicted*, on every test photo at once (in
# inference mode each photo's score depends on its own pixels only), and
# scale the 16 x 16 map up to the photo's 64 x 64 pixels.
#
# **Exercise.** From the gradients `grads` and the maps `maps` (both
# `[photos, 16, 16, channels]`), compute the weights and the heat maps
# `[photos, 16, 16]`.
#
# <details><summary>Hint</summary>
#
# The weights are `grads` averaged over axes 1 and 2 (keep them, with
# `keepdims=True`, so that they broadcast against `maps`); multiply, sum over
# the last axis, and apply `np.maximum(..., 0)`.
#
# </details>

# %%
last_relu = [layer for layer in model.layers if isinstance(layer, keras.layers.Activation)][-2]
scores_layer = model.layers[-1]  # the softmax; its input is the scores
grad_model = keras.Model(model.inputs, [last_relu.output, scores_layer.input])


def grad_cam(images, classes):
    """Grad-CAM heat maps [N, 64, 64] in [0, 1] of `classes` for uint8 `images`."""
    x = tf.convert_to_tensor(images, dtype=tf.float32)
    with tf.GradientTape() as tape:
        feature_maps, scores = grad_model(x, training=False)
        chosen = tf.gather(scores, classes, axis=1, batch_dims=1)
    grads = tape.gradient(chosen, feature_maps).numpy()
    maps = feature_maps.numpy()
    ### BEGIN SOLUTION  how much each map raises the score, on average over positions, weighs that map; sum the weighted maps and keep what speaks for the person
    weights = grads.mean(axis=(1, 2), keepdims=True)
    heat = np.maximum((weights * maps).sum(axis=-1), 0)
    ### END SOLUTION
    heat = tf.image.resize(heat[..., None], images.shape[1:3]).numpy()[..., 0]
    return heat / np.maximum(heat.max(axis=(1, 2), keepdims=True), 1e-12)


heat = grad_cam(x_test, test_predicted)
print("heat maps", heat.shape, f"in [{heat.min():.2f}, {heat.max():.2f}]")


def show_heat(indices, title):
    fig, axes = plt.subplots(2, len(indices), figsize=(1.7 * len(indices), 4), squeeze=False)
    for column, i in enumerate(indices):
        axes[0, column].imshow(x_test[i])
        axes[0, column].set_title(f"is {names[y_test[i]].split()[-1]}\nsaid {names[test_predicted[i]].split()[-1]}", fontsize=7)
        axes[1, column].imshow(x_test[i])
        axes[1, column].imshow(heat[i], cmap="jet", alpha=0.45)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    plt.show()


right_ones = np.flatnonzero(test_predicted == y_test)[:6]
wrong_ones = np.flatnonzero(test_predicted != y_test)[:6]
show_heat(right_ones, "right answers: where the evidence for the predicted person is")
if len(wrong_ones):
    show_heat(wrong_ones, "wrong answers: where the evidence for the (wrong) predicted person is")

# %% [markdown]
# A heat map is a claim, and claims can be checked. If the hot region really
# carries the evidence, covering it up must cost the predicted person more
# probability than covering up a region of the same size and shape elsewhere.
# We cover the hottest `MASKED_SHARE` of each photo with the training set's
# mean colour (which the network's `Normalization` turns into zeros: "nothing
# here"), and, as a control, the same region shifted to a random other place.

# %%
def cover(images, masks):
    """The images with the masked pixels set to the training images' mean colour."""
    fill = x_train.reshape(-1, 3).mean(axis=0)
    return np.where(masks[..., None], fill, images).astype(np.float32)


rng = np.random.default_rng(SEED)
hot = heat >= np.quantile(heat, 1 - MASKED_SHARE, axis=(1, 2), keepdims=True)
shifts = rng.integers(16, 49, size=(len(hot), 2))
elsewhere = np.stack([np.roll(mask, tuple(shift), axis=(0, 1)) for mask, shift in zip(hot, shifts)])
rows = np.arange(len(x_test))
p_before = test_probabilities[rows, test_predicted]
p_hot = model.predict(cover(x_test, hot), verbose=0)[rows, test_predicted]
p_elsewhere = model.predict(cover(x_test, elsewhere), verbose=0)[rows, test_predicted]
drop_hot, drop_elsewhere = np.mean(p_before - p_hot), np.mean(p_before - p_elsewhere)
print(f"probability of the predicted person: {p_before.mean():.3f} on the photos, "
      f"{p_hot.mean():.3f} with the hot region covered, {p_elsewhere.mean():.3f} with a region elsewhere covered")

fig, axes = plt.subplots(1, 3, figsize=(6, 2.3))
i = right_ones[0] if len(right_ones) else 0
for ax, image, title in zip(axes, [x_test[i], cover(x_test[i:i + 1], hot[i:i + 1])[0], cover(x_test[i:i + 1], elsewhere[i:i + 1])[0]],
                            ["photo", "hot region covered", "control"]):
    ax.imshow(image.astype("uint8"))
    ax.set_title(title, fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# **What do you see, and why?** Where do the heat maps lie for the right
# answers, and where for the wrong ones? What does that say about how the
# network recognises people?
#
# <details><summary>Answer</summary>
#
# For most right answers the heat sits on the face: eyes, nose, mouth, the
# hair line. Often it also sits on things that are not the person at all: a
# collar, a tie, the edge of the background. In press photos the same person
# is often photographed in the same setting, and the network uses whatever
# tells the people apart in its 618 training photos; Grad-CAM makes such
# shortcuts visible. Wrong answers often rest on such a shortcut (a background
# or a piece of clothing that resembles another person's photos) or on a
# diffuse map with no clear hot spot: the network found little evidence and
# guessed. The covering test turns the pictures into a number: the hot region
# matters more to the answer than a region of the same size elsewhere. Mind
# the resolution: the map has 16 x 16 cells, each covering 4 x 4 pixels, so
# it can point to an eye, not to an eyelash.
#
# </details>
#
# ## Checks

# %%
assert test_accuracy >= MIN_TEST_ACCURACY, f"test accuracy {test_accuracy:.3f} < {MIN_TEST_ACCURACY}"
assert drop_hot >= drop_elsewhere + MIN_CAM_EFFECT, (
    f"covering the Grad-CAM region cost {drop_hot:.3f} of probability, a region elsewhere {drop_elsewhere:.3f}: "
    f"the heat maps do not point at the evidence")
assert confusion.sum() == len(y_test) and confusion.trace() == test_correct
assert np.isclose(test_correct / n_test, test_accuracy, atol=1e-6)
assert heat.shape == x_test.shape[:3] and np.all(heat >= 0), f"heat maps of shape {heat.shape}"
print(f"test accuracy {test_accuracy:.3f} (95 % {low:.2f}-{high:.2f}); Grad-CAM region {drop_hot:.3f} "
      f"against {drop_elsewhere:.3f} elsewhere: all checks passed")

# %% [markdown]
# ## What to try next
#
# (On the validation set! The test set has had its look.)
#
# * Switch augmentation off (`x = normalizer(inputs)`): how big is the gap
#   between training and validation accuracy now?
# * Replace `GlobalAveragePooling2D` by `Flatten`: count the parameters and
#   compare the validation accuracy.
# * Try `FILTERS = 16` and `64`, or a fourth block.
# * Use `keras.callbacks.ReduceLROnPlateau` to lower the learning rate when
#   the validation loss stalls.
# * Notebook 11 starts from a network that has seen a million images.
