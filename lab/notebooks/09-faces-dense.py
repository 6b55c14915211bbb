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
# # Faces: a fully connected baseline
#
# **Goal.** Tell eight people apart from 64 x 64 colour photos of their faces,
# with the fully connected network you know from MNIST. On the way you learn to
# keep the best model of a training run as a **checkpoint** and to load it back,
# which is what you do whenever training takes longer than a coffee, and to say
# **how sure** an accuracy measured on 132 photos is.
#
# This network is the *baseline*: the number that notebook 10 (a CNN) and
# notebook 11 (transfer learning) have to beat. The older version of this
# course reached a validation accuracy of 0.58 with it, on another set of
# faces with three times as many photos.

# %% tags=["parameters"] smoke={"EPOCHS": 4, "RESUME_EPOCHS": 1, "MIN_VAL_ACCURACY": 0.5} untrained={"LEARNING_RATE": 0.0, "EPOCHS": 1}
EPOCHS = 60               # training epochs; the checkpoint keeps the best one
RESUME_EPOCHS = 5         # epochs of continued training from the checkpoint
BATCH_SIZE = 32
HIDDEN = 256              # units in the first hidden layer (the second has half)
DROPOUT = 0.5
LEARNING_RATE = 3e-4      # 0 leaves the network as it was initialised
CHECKPOINT_DIR = "checkpoints"
MIN_VAL_ACCURACY = 0.40   # chosen from the binomial spread: section 6
SEED = 0

# %%
import math
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from dlab_course import data

keras.utils.set_random_seed(SEED)
print("Keras", keras.__version__, "on", keras.backend.backend())

# %% [markdown]
# ## 1. The data
#
# `data.load_faces()` returns the set already split into training, validation
# and test images (notebook `dp` shows how such a file is made). In the lab's
# image these are the eight people with the most photos in *Labeled Faces in
# the Wild*, at most 150 photos each: 618 for training, 132 for validation and
# 132 for testing. We use training and validation here and keep the test set
# for notebook 10.

# %%
faces = data.load_faces()
x_train, y_train = faces["x_train"], faces["y_train"]
x_val, y_val = faces["x_val"], faces["y_val"]
names = faces["names"]
n_classes = len(names)
print("train", x_train.shape, x_train.dtype, "| val", x_val.shape, "|", n_classes, "people")

fig, axes = plt.subplots(1, n_classes, figsize=(1.6 * n_classes, 2.2))
for label, ax in enumerate(axes):
    ax.imshow(x_train[np.flatnonzero(y_train == label)[0]])
    ax.set_title(names[label].replace(" ", "\n"), fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# Are the people equally frequent? If one person fills 40 % of the photos, a
# "model" that always answers that person is right 40 % of the time. That, not
# 1/8, is the bar to beat.

# %%
counts = np.bincount(y_train, minlength=n_classes)
plt.figure(figsize=(6, 3))
plt.barh(names, counts)
plt.xlabel("training images")
plt.gca().invert_yaxis()
plt.show()

majority = np.argmax(counts)
majority_accuracy = np.mean(y_val == majority)
print(f"always answering {names[majority]!r}: validation accuracy {majority_accuracy:.3f}")

# %% [markdown]
# ## 2. The idea
#
# A fully connected network treats the image as one long vector: 64 x 64 x 3 =
# 12 288 numbers. Each hidden unit computes
#
# $$h_j = \mathrm{ReLU}\Big(\sum_{i=1}^{12\,288} W_{ij}\, x_i + b_j\Big),$$
#
# and the output layer turns the last hidden vector into eight probabilities
# with a softmax; the loss is the cross-entropy $-\log p_{\text{true person}}$.
# Each unit has its own weight for every pixel: 12 288 x 256 = 3.1 million
# weights in the first layer alone, learned from a few hundred photos. Expect
# overfitting: dropout helps, and the checkpoint picks the epoch where
# validation accuracy was best.
#
# The network also has no idea that neighbouring pixels belong together: move
# the face by two pixels and every input changes. Notebook 10 fixes that.
#
# **Standardising.** Pixel values 0..255 make training slow and unstable. A
# `keras.layers.Normalization` layer learns the mean and variance of each
# colour channel *from the training images only* (`adapt`) and then computes
# $(x - \mu) / \sigma$ inside the model, so the saved model standardises by
# itself.

# %%
normalizer = keras.layers.Normalization(axis=-1)
normalizer.adapt(x_train.astype("float32"))
print("channel means", np.round(np.ravel(normalizer.mean), 1), "variances", np.round(np.ravel(normalizer.variance), 1))

# %% [markdown]
# **Exercise.** Build the network: the `normalizer`, `Flatten`, a hidden
# `Dense(hidden, activation="relu")`, `Dropout(dropout)`, a second hidden layer
# with `hidden // 2` units and dropout, and a `Dense(n_classes,
# activation="softmax")` output.
#
# <details><summary>Hint</summary>
#
# In the functional API every layer is first created and then called on the
# tensor that comes out of the layer before it, so the code reads as a chain
# from `inputs` to `outputs`, one line per layer.
#
# </details>

# %%
def build_model(hidden=HIDDEN, dropout=DROPOUT):
    """The fully connected face classifier (not compiled yet)."""
    inputs = keras.Input(shape=x_train.shape[1:])
    ### BEGIN SOLUTION  chain the layers of the list above, each one fed with what the previous one returns
    x = normalizer(inputs)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(hidden, activation="relu")(x)
    x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Dense(hidden // 2, activation="relu")(x)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    ### END SOLUTION
    return keras.Model(inputs, outputs, name="faces_dense")


model = build_model()
model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()

# %% [markdown]
# ## 3. Checkpoints
#
# `keras.callbacks.ModelCheckpoint` saves the model during training. With
# `monitor="val_accuracy"` and `save_best_only=True` it writes the file only
# when validation accuracy improves, so at the end the file holds the best
# epoch, not the last one.
#
# A `.keras` file is a zip archive with everything needed to continue: the
# architecture, the weights (the normaliser's mean and variance included), the
# compile settings and the optimizer's state. A `.weights.h5` file holds only
# the variables (the weights, and the optimizer's if the model was compiled):
# to use it you need the code that builds the model.
#
# **Exercise.** Create the callback that saves the best model to
# `checkpoint_path`.

# %%
checkpoint_path = Path(CHECKPOINT_DIR) / "09-faces-dense.keras"
checkpoint_path.parent.mkdir(parents=True, exist_ok=True)

### BEGIN SOLUTION  watch the validation accuracy, where larger is better, and keep only the best epoch's file
checkpoint = keras.callbacks.ModelCheckpoint(checkpoint_path, monitor="val_accuracy", mode="max", save_best_only=True)
### END SOLUTION

first_dense = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
initial_kernel = keras.ops.convert_to_numpy(first_dense.kernel)  # kept for section 5
history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=EPOCHS,
                    batch_size=BATCH_SIZE, callbacks=[checkpoint], verbose=2 if EPOCHS <= 10 else 0)
val_acc = np.array(history.history["val_accuracy"])
best_epoch = int(np.argmax(val_acc)) + 1
print(f"best validation accuracy {val_acc.max():.3f} in epoch {best_epoch}; last epoch {val_acc[-1]:.3f}")
print("checkpoint:", checkpoint_path, f"{checkpoint_path.stat().st_size / 1e6:.1f} MB")

# %%
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.5))
epochs = np.arange(1, len(val_acc) + 1)
for key, label in [("loss", "training"), ("val_loss", "validation")]:
    ax_loss.plot(epochs, history.history[key], label=label)
for key, label in [("accuracy", "training"), ("val_accuracy", "validation")]:
    ax_acc.plot(epochs, history.history[key], label=label)
ax_acc.axhline(majority_accuracy, color="grey", linestyle=":", label="always the most frequent")
for ax in (ax_loss, ax_acc):
    ax.axvline(best_epoch, color="black", linestyle="--", linewidth=0.8)
    ax.set_xlabel("epoch")
    ax.legend()
ax_loss.set_title("cross-entropy")
ax_acc.set_title("accuracy (dashed: the checkpoint)")
plt.show()

# %% [markdown]
# **What do you see, and why?** Compare the two accuracy curves, and the two
# loss curves, in the late epochs.
#
# <details><summary>Answer</summary>
#
# Training accuracy keeps climbing towards 1 while validation accuracy levels
# off well below it: the network memorises the training photos (overfitting),
# which 3 million weights for a few hundred photos make easy. The validation
# *loss* often rises again while the validation *accuracy* stays flat: the
# network becomes over-confident on the photos it gets wrong. The checkpoint
# keeps the epoch with the best validation accuracy, not the last one. Note
# that the training curves are measured with dropout switched on, the
# validation curves with it off; that alone can put validation above training
# in the first epochs.
#
# </details>
#
# ## 4. Loading the checkpoint
#
# **Exercise.** Load the best model back from `checkpoint_path` and evaluate
# it on the validation images. Its accuracy must be the best one of the run.

# %%
### BEGIN SOLUTION  Keras reads a whole model back from its file; then measure it on the validation photos, quietly
best = keras.models.load_model(checkpoint_path)
best_loss, best_accuracy = best.evaluate(x_val, y_val, verbose=0)
### END SOLUTION
print(f"reloaded checkpoint: validation accuracy {best_accuracy:.3f} (best in training: {val_acc.max():.3f})")

# %% [markdown]
# Weights only: save them, build a fresh model with the same code and load them
# in. The predictions must be the same. (The fresh model is not compiled, so
# the optimizer's variables in the file are simply not used.)

# %%
weights_path = Path(CHECKPOINT_DIR) / "09-faces-dense.weights.h5"
best.save_weights(weights_path)
fresh = build_model()
fresh.load_weights(weights_path)
same_predictions = np.allclose(fresh.predict(x_val, verbose=0), best.predict(x_val, verbose=0), atol=1e-6)
print("weights file", f"{weights_path.stat().st_size / 1e6:.1f} MB", "| same predictions:", same_predictions)

# %% [markdown]
# **Resuming.** Because the `.keras` file holds the optimizer state too, a run
# that was stopped can go on where the checkpoint left it: `initial_epoch`
# keeps the epoch numbers counting, and Adam's step counter and running
# averages continue instead of starting from zero.
#
# We resume from a *second* copy loaded from the same file. Training changes a
# model in place: had we trained `best` itself, `best` would no longer be the
# checkpoint, and everything below would describe a model that no file holds.

# %%
resumed = keras.models.load_model(checkpoint_path)
steps_in_checkpoint = int(resumed.optimizer.iterations.numpy())
resumed.fit(x_train, y_train, validation_data=(x_val, y_val), batch_size=BATCH_SIZE,
            initial_epoch=best_epoch, epochs=best_epoch + RESUME_EPOCHS, verbose=2)
print(f"optimizer steps: {steps_in_checkpoint} in the checkpoint, "
      f"{int(resumed.optimizer.iterations.numpy())} after resuming")
checkpoint_unchanged = np.isclose(best.evaluate(x_val, y_val, verbose=0)[1], best_accuracy, atol=1e-6)
print("the checkpoint model `best` is unchanged:", checkpoint_unchanged)

# %% [markdown]
# ## 5. What did it learn?
#
# From here on we look at `best`, the checkpoint. Each unit of the first
# hidden layer has one weight per pixel and channel, so its weights can be
# shown as an image. They started as random noise; what training *added* to
# them is more telling. The gradient of the loss with respect to unit $j$'s
# weights is $\delta_j\, x$, a multiple of the input image, so every step adds
# a little of the training photos: the changes are blurry mixtures of faces.
# Whole-face templates at fixed positions, with no notion of a shape that can
# appear anywhere.

# %%
best_dense = next(layer for layer in best.layers if isinstance(layer, keras.layers.Dense))
change = best_dense.get_weights()[0] - initial_kernel  # [12288, HIDDEN]
strongest = np.argsort(-np.linalg.norm(change, axis=0))[:8]
fig, axes = plt.subplots(1, 8, figsize=(13, 2))
for ax, unit in zip(axes, strongest):
    w = change[:, unit].reshape(x_train.shape[1:])
    ax.imshow((w - w.min()) / (w.max() - w.min() + 1e-12))
    ax.set_title(f"unit {unit}", fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# **What do you see, and why?** Where in the 64 x 64 square are the changes
# strongest, and what would happen to this network if the faces sat 10 pixels
# further left?
#
# <details><summary>Answer</summary>
#
# The strongest changes sit where faces sit in the training photos: around the
# centre, with ghostly eyes, hair lines and shoulders, often mixtures of two or
# three people. They are templates tied to those pixel positions. Move the
# faces and the templates no longer line up with anything: the network would
# have to learn every position anew, from photos it does not have. A
# convolution (notebook 10) reuses one small filter at every position instead.
#
# </details>

# %%
probabilities = best.predict(x_val, verbose=0)
predicted = probabilities.argmax(axis=1)
fig, axes = plt.subplots(2, 8, figsize=(13, 4))
for ax, i in zip(axes.ravel(), range(16)):
    ax.imshow(x_val[i])
    color = "green" if predicted[i] == y_val[i] else "red"
    ax.set_title(f"{names[predicted[i]][:14]}\n{probabilities[i].max():.0%}", fontsize=8, color=color)
    ax.axis("off")
plt.suptitle("validation photos: predicted person and its probability (red: wrong)")
plt.show()

# %% [markdown]
# ## 6. How sure is that accuracy?
#
# The validation accuracy is a count: $k$ of $n = $ `len(y_val)` photos right.
# Another 132 photos of the same people would give another count. If the
# network's true accuracy is $p$, the count is binomial, with a standard error
# of $\sqrt{p(1-p)/n}$ on the accuracy: about 0.04 for $p = 0.6$ and
# $n = 132$. A single accuracy on 132 photos is therefore only good to about
# ± 0.08, and two networks 0.03 apart on them may well be equally good.
#
# A **confidence interval** says this with numbers. The textbook one,
# $\hat p \pm 1.96\sqrt{\hat p(1-\hat p)/n}$, misbehaves for small $n$ or for
# $\hat p$ near 0 or 1 (at $\hat p = 1$ it has width zero). The **Wilson
# interval** is the set of all $p$ for which the observed $\hat p$ lies within
# $z = 1.96$ standard errors, $|\hat p - p| \le z\sqrt{p(1-p)/n}$. Solving that
# quadratic in $p$ gives
#
# $$\frac{\hat p + \frac{z^2}{2n}}{1 + \frac{z^2}{n}} \;\pm\;
# \frac{z}{1 + \frac{z^2}{n}}\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}.$$
#
# **Exercise.** Write `wilson_interval(correct, n, z)`, the 95 % Wilson
# interval of an accuracy of `correct` out of `n`.
#
# <details><summary>Hint</summary>
#
# Compute the observed share first, then the shared denominator; the centre
# and the half-width each use it once. The interval never leaves [0, 1].
#
# </details>

# %%
def wilson_interval(correct, n, z=1.96):
    """(low, high): the Wilson score interval of the share correct / n."""
    ### BEGIN SOLUTION  the centre is pulled towards one half and the half-width has an extra term, both shrinking with n
    share = correct / n
    denominator = 1 + z ** 2 / n
    centre = (share + z ** 2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(share * (1 - share) / n + z ** 2 / (4 * n ** 2))
    return centre - half, centre + half
    ### END SOLUTION


n_val = len(y_val)
correct = int(round(best_accuracy * n_val))
low, high = wilson_interval(correct, n_val)
print(f"validation accuracy {best_accuracy:.3f} = {correct}/{n_val}; 95 % Wilson interval {low:.2f} to {high:.2f}")
print("the older course's 0.58 lies", "below" if 0.58 < low else "above" if 0.58 > high else "inside", "that interval")

# %% [markdown]
# The interval is for a model chosen *after* looking at these photos: we kept
# the epoch that scored best on them, so the number is slightly optimistic.
# Notebook 10 measures on photos that played no part in any choice.
#
# **How the threshold of the checks was chosen.** `MIN_VAL_ACCURACY` must let
# a network that learned pass and make one that did not fail, despite the
# binomial spread. This cannot be tuned on the real data here (the lab is
# built offline), so it is set from the sizes alone:
#
# * A model whose answer does not depend on the photo is right on at most the
#   share of the most frequent person: 22 of 132 validation photos (0.17). Its
#   count is at most binomial with that share.
# * A fully connected network on 618 training photos of 8 people should reach
#   about 0.5 to 0.6 (the older course had 0.58 with three times the photos).
#
# The threshold 0.40 is far above the first (a photo-blind model passes with
# a probability of about $10^{-10}$) and 2.3 standard errors below 0.5 (a
# network whose true accuracy is 0.5 fails about 1 time in 100). The cell
# below computes both for the threshold in use, and the pass rate for a range
# of true accuracies.

# %%
needed = math.ceil(MIN_VAL_ACCURACY * n_val - 1e-9)  # photos right to pass
blind_share = np.bincount(y_val, minlength=n_classes).max() / n_val
blind_pass = stats.binom.sf(needed - 1, n_val, blind_share)
print(f"to pass: {needed} of {n_val} right; a photo-blind model (at most {blind_share:.2f}) passes "
      f"with probability {blind_pass:.1e}")
for true_accuracy in [0.3, 0.4, 0.5, 0.6, 0.7]:
    print(f"  a network whose true accuracy is {true_accuracy:.1f} passes with probability "
          f"{stats.binom.sf(needed - 1, n_val, true_accuracy):.3f}")

# %% [markdown]
# ## Checks

# %%
scipy_low, scipy_high = stats.binomtest(correct, n_val).proportion_ci(0.95, method="wilson")
print(f"best validation accuracy {best_accuracy:.3f} (95 % {low:.2f}-{high:.2f}); majority baseline {majority_accuracy:.3f}")
assert best_accuracy >= MIN_VAL_ACCURACY, f"validation accuracy {best_accuracy:.3f} < {MIN_VAL_ACCURACY}"
assert np.isclose(best_accuracy, val_acc.max(), atol=1e-6), "the checkpoint holds the best epoch"
assert same_predictions, "weights-only reload gives the same predictions"
assert checkpoint_unchanged, "resuming trained a copy; `best` is still the checkpoint"
assert np.allclose([low, high], [scipy_low, scipy_high], atol=1e-3), f"Wilson interval {low:.3f}-{high:.3f}, scipy's {scipy_low:.3f}-{scipy_high:.3f}"
print("all checks passed")

# %% [markdown]
# ## What to try next
#
# * Drop the `Normalization` layer and feed 0..255 pixels: how do the curves change?
# * Change `HIDDEN` (64, 1024) and `DROPOUT` (0, 0.3, 0.7). Which overfits least?
#   Are the differences larger than the width of the interval?
# * Give rare people more weight: `class_weight` in `fit`, with weights
#   inversely proportional to `counts`. What happens to the accuracy per person?
# * Convert to grey (`x.mean(axis=-1, keepdims=True)`): how much does colour help?
# * Add `keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=10,
#   restore_best_weights=True)` and compare with the checkpoint.
