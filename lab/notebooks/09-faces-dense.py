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
# which is what you do whenever training takes longer than a coffee.
#
# This network is the *baseline*: the number that notebook 10 (a CNN) and
# notebook 11 (transfer learning) have to beat. The older version of this
# course reached a validation accuracy of 0.58 with it.

# %% tags=["parameters"] smoke={"EPOCHS": 4, "RESUME_EPOCHS": 1, "MIN_VAL_ACCURACY": 0.35}
EPOCHS = 60               # training epochs; the checkpoint keeps the best one
RESUME_EPOCHS = 5         # epochs of continued training from the checkpoint
BATCH_SIZE = 32
HIDDEN = 256              # units in the first hidden layer (the second has half)
DROPOUT = 0.5
LEARNING_RATE = 3e-4
CHECKPOINT_DIR = "checkpoints"
MIN_VAL_ACCURACY = 0.60   # must beat the older course's 0.58
SEED = 0

# %%
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np

from dlab_course import data

keras.utils.set_random_seed(SEED)
print("Keras", keras.__version__, "on", keras.backend.backend())

# %% [markdown]
# ## 1. The data
#
# `data.load_faces()` returns the set already split into training, validation
# and test images (notebook `dp` shows how such a file is made). We use
# training and validation here and keep the test set for notebook 10.

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
# weights in the first layer alone, learned from a few hundred or thousand
# photos. Expect overfitting: dropout helps, and the checkpoint picks the epoch
# where validation accuracy was best.
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

# %%
def build_model(hidden=HIDDEN, dropout=DROPOUT):
    """The fully connected face classifier (not compiled yet)."""
    inputs = keras.Input(shape=x_train.shape[1:])
    ### BEGIN SOLUTION  normalizer(inputs), then Flatten, Dense+ReLU, Dropout, Dense(hidden // 2)+ReLU, Dropout, Dense softmax
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

### BEGIN SOLUTION  keras.callbacks.ModelCheckpoint(checkpoint_path, monitor=..., mode="max", save_best_only=True)
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
# The gap between the training and the validation curves is overfitting: the
# network memorises the training photos. The checkpoint saved us from the late
# epochs where validation got worse.
#
# ## 4. Loading the checkpoint
#
# **Exercise.** Load the best model back from `checkpoint_path` and evaluate
# it on the validation images. Its accuracy must be the best one of the run.

# %%
### BEGIN SOLUTION  keras.models.load_model(checkpoint_path), then .evaluate(x_val, y_val, verbose=0)
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
# keeps the epoch numbers counting.

# %%
resumed = best.fit(x_train, y_train, validation_data=(x_val, y_val), batch_size=BATCH_SIZE,
                   initial_epoch=best_epoch, epochs=best_epoch + RESUME_EPOCHS, verbose=2)
print("optimizer steps so far:", int(best.optimizer.iterations.numpy()))

# %% [markdown]
# ## 5. What did it learn?
#
# Each unit of the first hidden layer has one weight per pixel and channel, so
# its weights can be shown as an image. They started as random noise; what
# training *added* to them is more telling. The gradient of the loss with
# respect to unit $j$'s weights is $\delta_j\, x$, a multiple of the input
# image, so every step adds a little of the training photos: the changes are
# blurry mixtures of faces. Whole-face templates at fixed positions, with no
# notion of a shape that can appear anywhere.

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
# ## Checks

# %%
print(f"best validation accuracy {best_accuracy:.3f}; majority baseline {majority_accuracy:.3f}")
assert np.isclose(best_accuracy, val_acc.max(), atol=1e-6), "the checkpoint holds the best epoch"
assert same_predictions, "weights-only reload gives the same predictions"
assert best_accuracy >= MIN_VAL_ACCURACY, f"validation accuracy {best_accuracy:.3f} < {MIN_VAL_ACCURACY}"
assert best_accuracy > majority_accuracy + 0.05, "the network beats always answering the most frequent person"
print("all checks passed")

# %% [markdown]
# ## What to try next
#
# * Drop the `Normalization` layer and feed 0..255 pixels: how do the curves change?
# * Change `HIDDEN` (64, 1024) and `DROPOUT` (0, 0.3, 0.7). Which overfits least?
# * Give rare people more weight: `class_weight` in `fit`, with weights
#   inversely proportional to `counts`. What happens to the accuracy per person?
# * Convert to grey (`x.mean(axis=-1, keepdims=True)`): how much does colour help?
# * Add `keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=10,
#   restore_best_weights=True)` and compare with the checkpoint.
