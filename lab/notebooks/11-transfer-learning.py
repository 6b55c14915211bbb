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
# # Transfer learning
#
# **Goal.** Recognise the eight people of notebooks 09 and 10 with a network
# that has already learned to see: EfficientNetB0, trained on the 1.3 million
# photos of ImageNet. We use it twice:
#
# 1. as a fixed **feature extractor**: compute its features for every photo
#    once, and train only a small classifier (the *head*) on top;
# 2. **fine-tuning**: unfreeze its top layers and train them a little, with a
#    tiny learning rate, together with the head.
#
# The older version of this course reached a test accuracy of 0.82 this way,
# against 0.70 for its CNN trained from scratch.

# %% tags=["parameters"] smoke={"IMAGE_SIZE": 64, "HEAD_EPOCHS": 15, "FINE_TUNE_EPOCHS": 1, "FINE_TUNE_LAYERS": 10, "FINE_TUNE_SAMPLES": 96, "MIN_TEST_ACCURACY": 0.4}
IMAGE_SIZE = 96                  # photos are resized to this before EfficientNetB0
HEAD_EPOCHS = 80                 # training the head on fixed features (fast)
FINE_TUNE_EPOCHS = 15
FINE_TUNE_LAYERS = 30            # how many of the backbone's top layers to unfreeze
FINE_TUNE_SAMPLES = 0            # 0: all training photos; N: only the first N (quick runs)
BATCH_SIZE = 32
HEAD_LEARNING_RATE = 1e-3
FINE_TUNE_LEARNING_RATE = 1e-5
MIN_TEST_ACCURACY = 0.83         # must beat the older course's 0.82
SEED = 0

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

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

# %% [markdown]
# ## 1. The pretrained backbone
#
# `data.backbone()` loads EfficientNetB0 without its ImageNet classifier
# (`include_top=False`) and with global average pooling, so each photo becomes
# one vector of 1280 numbers. The weights come from the lab's offline cache.
#
# Two details matter:
#
# * Keras' EfficientNet scales its input itself: feed it **pixels in 0..255**,
#   not standardised ones.
# * It was trained on 224 x 224 images. Our faces are 64 x 64; we enlarge them
#   to `IMAGE_SIZE` so that its filters see structures of the size they know.

# %%
backbone = data.backbone(input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
print(f"{backbone.name}: {len(backbone.layers)} layers, {backbone.count_params():,} weights, "
      f"output {backbone.output.shape}")

# %% [markdown]
# ## 2. Features, computed once
#
# With the backbone frozen, its output for a photo never changes. So we compute
# the features of all photos once, and then training the head takes seconds,
# even on a CPU.
#
# **Exercise.** Build `extractor`, a `keras.Sequential` that resizes 64 x 64
# photos to `IMAGE_SIZE` (`keras.layers.Resizing`) and then applies
# `backbone`, and use it in `features` to compute the features of an array of
# photos in batches.

# %%
def features(images):
    """The backbone's 1280 features for each photo, as a numpy array [N, 1280]."""
    return extractor.predict(images, batch_size=64, verbose=0)


### BEGIN SOLUTION  keras.Sequential([keras.Input(shape=x_train.shape[1:]), keras.layers.Resizing(...), backbone])
extractor = keras.Sequential([
    keras.Input(shape=x_train.shape[1:]),
    keras.layers.Resizing(IMAGE_SIZE, IMAGE_SIZE),
    backbone,
], name="extractor")
### END SOLUTION

# one call for all photos: each new batch shape costs Keras a new trace of the model
f_all = features(np.concatenate([x_train, x_val, x_test]))
f_train, f_val, f_test = np.split(f_all, [len(x_train), len(x_train) + len(x_val)])
print("features:", f_train.shape, f_train.dtype)

# %% [markdown]
# Do the features already separate the people? A PCA projection of the
# training features to two dimensions, one colour per person. (Notebook 15
# goes further with t-SNE.)

# %%
projected = PCA(n_components=2, random_state=SEED).fit_transform(f_train)
plt.figure(figsize=(7, 5))
for label in range(n_classes):
    chosen = y_train == label
    plt.scatter(projected[chosen, 0], projected[chosen, 1], s=10, label=names[label])
plt.legend(fontsize=7, markerscale=2, loc="best")
plt.title("EfficientNetB0 features of the training photos, PCA")
plt.show()

# %% [markdown]
# ## 3. A head on fixed features
#
# The head is a small classifier: standardise the features (a `Normalization`
# layer adapted to the training features), dropout against overfitting, and
# a softmax layer. That is softmax regression, notebook 04, on better inputs.
#
# **Exercise.** Build and compile the head.

# %%
def build_head(dropout=0.5):
    """Normalization (adapted to f_train), Dropout and a softmax layer, compiled."""
    ### BEGIN SOLUTION  keras.layers.Normalization() with .adapt(f_train); Input(shape=(f_train.shape[1],)); Dropout; Dense softmax; compile
    normalizer = keras.layers.Normalization()
    normalizer.adapt(f_train)
    inputs = keras.Input(shape=(f_train.shape[1],))
    x = keras.layers.Dropout(dropout)(normalizer(inputs))
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    head = keras.Model(inputs, outputs, name="head")
    head.compile(optimizer=keras.optimizers.Adam(HEAD_LEARNING_RATE),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ### END SOLUTION
    return head


head = build_head()
stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=15, restore_best_weights=True)
head_history = head.fit(f_train, y_train, validation_data=(f_val, y_val), epochs=HEAD_EPOCHS,
                        batch_size=BATCH_SIZE, callbacks=[stop], verbose=0)
head_val_accuracy = head.evaluate(f_val, y_val, verbose=0)[1]
print(f"head on frozen features: validation accuracy {head_val_accuracy:.3f} "
      f"after {len(head_history.history['loss'])} epochs")

# %% [markdown]
# ## 4. Fine-tuning
#
# The top layers of the backbone encode ImageNet's categories (dog breeds,
# cars); the lower ones encode edges and textures that are useful anywhere. So
# we unfreeze only the top `FINE_TUNE_LAYERS` layers and train them with a
# learning rate 100 times smaller than the head's: small steps, so the good
# features are adjusted, not destroyed. The head starts from its trained
# weights (a copy, so that the head alone stays as it is for the comparison);
# a random head would send large, random gradients into the backbone.
#
# **Batch normalisation stays frozen.** Its running mean and variance come
# from ImageNet; updating them from our few small batches would throw them
# away. We keep every `BatchNormalization` layer frozen and call the backbone
# with `training=False`, so they run in inference mode.
#
# **Exercise.** Unfreeze the backbone's top `FINE_TUNE_LAYERS` layers, keep
# all others and all `BatchNormalization` layers frozen.

# %%
backbone.trainable = True
### BEGIN SOLUTION  a layer is trainable when it is among the last FINE_TUNE_LAYERS and is not a keras.layers.BatchNormalization
for position, layer in enumerate(backbone.layers):
    in_top = position >= len(backbone.layers) - FINE_TUNE_LAYERS
    layer.trainable = in_top and not isinstance(layer, keras.layers.BatchNormalization)
### END SOLUTION

inputs = keras.Input(shape=x_train.shape[1:])
x = keras.layers.RandomFlip("horizontal")(inputs)
x = keras.layers.Resizing(IMAGE_SIZE, IMAGE_SIZE)(x)
x = backbone(x, training=False)
tuned_head = build_head()                  # the same architecture ...
tuned_head.set_weights(head.get_weights())  # ... with the trained weights
outputs = tuned_head(x)
tuned = keras.Model(inputs, outputs, name="fine_tuned")
tuned.compile(optimizer=keras.optimizers.Adam(FINE_TUNE_LEARNING_RATE),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
trainable_layers = [layer.name for layer in backbone.layers if layer.trainable and layer.weights]
print(f"trainable backbone layers with weights: {len(trainable_layers)}, e.g. {trainable_layers[-3:]}")
print(f"trainable weights: {sum(int(np.prod(w.shape)) for w in tuned.trainable_weights):,} "
      f"of {tuned.count_params():,}")
start_val_accuracy = tuned.evaluate(x_val, y_val, verbose=0)[1]
print(f"before fine-tuning: validation accuracy {start_val_accuracy:.3f} (the head's: {head_val_accuracy:.3f})")

# %%
x_tune, y_tune = (x_train[:FINE_TUNE_SAMPLES], y_train[:FINE_TUNE_SAMPLES]) if FINE_TUNE_SAMPLES else (x_train, y_train)
stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=5, restore_best_weights=True)
tune_history = tuned.fit(x_tune, y_tune, validation_data=(x_val, y_val), epochs=FINE_TUNE_EPOCHS,
                         batch_size=BATCH_SIZE, callbacks=[stop], verbose=2)
tuned_val_accuracy = tuned.evaluate(x_val, y_val, verbose=0)[1]
print(f"fine-tuned: validation accuracy {tuned_val_accuracy:.3f} (head only: {head_val_accuracy:.3f})")

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
n_head = len(head_history.history["val_accuracy"])
ax.plot(range(1, n_head + 1), head_history.history["val_accuracy"], label="head on frozen features")
ax.plot(range(n_head + 1, n_head + 1 + len(tune_history.history["val_accuracy"])),
        tune_history.history["val_accuracy"], "o-", label="fine-tuning")
ax.axhline(np.mean(y_val == majority), color="grey", linestyle=":", label="always the most frequent")
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy")
ax.legend()
plt.show()

# %% [markdown]
# ## 5. Choose with validation, test once
#
# As in notebook 10: we choose between the head alone and the fine-tuned
# network by their **validation** accuracy, then evaluate the choice on the
# test set, once.

# %%
if tuned_val_accuracy >= head_val_accuracy:
    chosen_name = "fine-tuned network"
    test_accuracy = tuned.evaluate(x_test, y_test, verbose=0)[1]
else:
    chosen_name = "head on frozen features"
    test_accuracy = head.evaluate(f_test, y_test, verbose=0)[1]
majority_test_accuracy = float(np.mean(y_test == majority))
print(f"chosen: {chosen_name}; test accuracy {test_accuracy:.3f} "
      f"(always the most frequent person: {majority_test_accuracy:.3f})")

# %%
bars = {"always the most\nfrequent person": np.mean(y_val == majority),
        "head on frozen\nfeatures": head_val_accuracy, "fine-tuned": tuned_val_accuracy}
fig, ax = plt.subplots(figsize=(7, 3))
ax.bar(list(bars), list(bars.values()), color=["grey", "tab:blue", "tab:orange"])
ax.axhline(test_accuracy, color="black", linestyle="--", label=f"test accuracy of the chosen one: {test_accuracy:.2f}")
ax.axhline(0.82, color="tab:red", linestyle=":", label="the older course: 0.82")
ax.set_ylabel("validation accuracy")
ax.set_ylim(0, 1)
ax.legend(loc="lower right", fontsize=8)
plt.show()

# %% [markdown]
# ## Checks

# %%
bn_layers = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
assert bn_layers and not any(layer.trainable for layer in bn_layers), "batch normalisation stays frozen"
assert not any(layer.trainable for layer in backbone.layers[:-FINE_TUNE_LAYERS]), "lower layers stay frozen"
assert f_train.shape == (len(x_train), backbone.output.shape[-1])
assert abs(start_val_accuracy - head_val_accuracy) <= 1.5 / len(y_val), "fine-tuning starts where the head ended"
assert test_accuracy >= MIN_TEST_ACCURACY, f"test accuracy {test_accuracy:.3f} < {MIN_TEST_ACCURACY}"
assert test_accuracy > majority_test_accuracy + 0.05, "the network beats always answering the most frequent person"
print(f"test accuracy {test_accuracy:.3f}: all checks passed")

# %% [markdown]
# ## What to try next
#
# * Compare on the validation set: this notebook's head, notebook 10's CNN and
#   notebook 09's dense network. How many photos per person would the CNN
#   need to catch up?
# * `IMAGE_SIZE = 64` (no enlarging) or `160`: accuracy against time.
# * Unfreeze more layers (`FINE_TUNE_LAYERS = 80`), or all, and watch the
#   validation curve. Then try a learning rate of `1e-3` for fine-tuning.
# * Let the batch normalisation layers train too and see what happens.
# * Train the head with only 10 photos per person: transfer learning shines
#   when labels are few (notebook 16 does this on CIFAR-10).
