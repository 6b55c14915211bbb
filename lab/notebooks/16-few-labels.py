# %% [markdown]
# # 16 · Learning from few labels
#
# **Goal.** Labels are expensive; images are cheap. Suppose someone labelled just
# **100 images** of CIFAR-10, 10 of each class. What is the best classifier we can
# build from them? We compare three answers:
#
# 1. a small CNN trained **from scratch** on the 100 images,
# 2. **pretrained features** (EfficientNetB0, trained on ImageNet) with a small
#    dense network on top,
# 3. a **random forest** on the same pretrained features.
#
# The lesson of transfer learning in its sharpest form: what a network learned
# from a million other labelled photos is worth far more than the architecture
# you put on top of 100 labels.

# %% tags=["parameters"] smoke={"N_TEST": 200, "N_VAL": 200, "DRAWS": 1, "IMAGE_SIZE": 32, "CNN_EPOCHS": 20, "HEAD_EPOCHS": 20, "N_TREES": 100, "MIN_SCRATCH": 0.2, "MIN_HEAD": 0.3, "MIN_FOREST": 0.3} untrained={"SHUFFLE_LABELS": true, "CNN_EPOCHS": 2, "HEAD_EPOCHS": 2, "N_TREES": 10}
PER_CLASS = 10  # labelled images per class: 100 in all
DRAWS = 3  # independent draws of the 100 labelled images (results are averaged)
N_TEST = 2000  # test images
N_VAL = 1000  # pool images outside every draw, for the learning curve only
IMAGE_SIZE = 224  # side the images are resized to for the pretrained CNN (its training size)
CNN_EPOCHS = 150  # epochs of the CNN from scratch (100 images: each epoch is 4 steps)
HEAD_EPOCHS = 100  # epochs of the dense head
N_TREES = 500  # trees in the random forest
SHUFFLE_LABELS = False  # True: the 100 labels are shuffled among the images (nothing left to learn)
MIN_SCRATCH = 0.15  # mean test accuracy to reach: CNN from scratch (section 6 says how these were chosen)
MIN_HEAD = 0.45  # ... pretrained features + dense head
MIN_FOREST = 0.30  # ... random forest on the features

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.ensemble import RandomForestClassifier

from dlab_course import data

keras.utils.set_random_seed(0)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# %% [markdown]
# ## 1. One hundred labels
#
# We pretend only `PER_CLASS` images of each class in the training set carry a
# label. Which ones we get is luck, and with so few the luck matters: we repeat
# the whole experiment for `DRAWS` different draws and average. The test set is
# `N_TEST` images of CIFAR-10's own test set, used only for the final numbers.
#
# **Your turn:** complete `draw_labelled`, which picks `per_class` random indices
# of each class.
#
# <details><summary>Hint</summary>
#
# `np.flatnonzero(labels == k)` lists the indices of class `k`;
# `rng.choice(those, per_class, replace=False)` picks some of them. Concatenate
# the ten picks and `rng.shuffle` the result, so that the classes are mixed.
#
# </details>

# %%
(x_pool, y_pool), (x_test_all, y_test_all) = data.load_cifar10()
y_pool, y_test_all = y_pool.ravel(), y_test_all.ravel()
rng = np.random.default_rng(0)
test_idx = rng.choice(len(x_test_all), min(N_TEST, len(x_test_all)), replace=False)
x_test, y_test = x_test_all[test_idx], y_test_all[test_idx]
print(f"{len(x_pool)} training images to draw labels from, {len(x_test)} test images")


def draw_labelled(labels, per_class, rng):
    """Indices of `per_class` random examples of each class, in random order."""
    ### BEGIN SOLUTION  for each class, pick that many of its members without repeats; put all picks together and mix their order
    picks = np.concatenate([rng.choice(np.flatnonzero(labels == k), per_class, replace=False) for k in range(10)])
    rng.shuffle(picks)
    return picks
    ### END SOLUTION


draws = [draw_labelled(y_pool, PER_CLASS, np.random.default_rng(seed)) for seed in range(DRAWS)]
labels = [y_pool[labelled] for labelled in draws]  # what the models are told
if SHUFFLE_LABELS:  # an experiment: the same 100 labels, handed to the wrong images
    labels = [np.random.default_rng(100 + d).permutation(y) for d, y in enumerate(labels)]

first = draws[0][np.argsort(y_pool[draws[0]], kind="stable")]
fig, axes = plt.subplots(10, PER_CLASS, figsize=(PER_CLASS * 0.9, 10 * 0.95))
for ax, i in zip(axes.ravel(), first):
    ax.imshow(x_pool[i])
    ax.axis("off")
for k in range(10):
    axes[k, 0].set_title(CLASSES[k], fontsize=8, loc="left")
fig.suptitle("All the labelled data there is (draw 0)")
plt.show()

# %% [markdown]
# ## 2. A CNN from scratch
#
# A small CNN has tens of thousands of weights and 100 examples to fit them. It
# will learn the training set by heart within a few epochs. Data augmentation
# (random flips and shifts, applied anew in every epoch) helps a little: it shows
# the network plausible variants of the same 100 images. Dropout before the
# classifier helps a little more.
#
# **Your turn:** build the model: rescale to $[0, 1]$, augment, three
# convolutions (32, 64, 64 filters, $3 \times 3$, ReLU) with max pooling after the
# first two, global average pooling, dropout 0.5, and a softmax over 10 classes.
#
# <details><summary>Hint</summary>
#
# A `keras.Sequential` list: `keras.Input((32, 32, 3))`,
# `keras.layers.Rescaling(1 / 255)`, `RandomFlip("horizontal")`,
# `RandomTranslation(0.1, 0.1)`, then `Conv2D(filters, 3, padding="same",
# activation="relu")` and `MaxPooling2D()` as described,
# `GlobalAveragePooling2D()`, `Dropout(0.5)`, `Dense(10, activation="softmax")`.
#
# </details>


# %%
def scratch_cnn():
    """A small CNN for 32x32 RGB images, with augmentation built in."""
    ### BEGIN SOLUTION  one stack of layers in the order of the text: scale, augment, three convolutions with two poolings, average, drop out, classify
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomTranslation(0.1, 0.1),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
    ### END SOLUTION
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


scratch_cnn().summary()

# %% [markdown]
# To watch the network learn we need images it does not train on. Not the test
# set: that is for the final numbers only, as in notebooks 10 and 11. The
# training pool holds 50 000 images of which we pretend to know 100 labels;
# `N_VAL` other images of the pool, outside every draw, draw the curve. (In a
# real few-label project you would not have their labels either: the curve is
# a luxury of this experiment, and nothing is chosen with it.)

# %%
outside = np.setdiff1d(np.arange(len(x_pool)), np.concatenate(draws))
val_idx = np.random.default_rng(1).choice(outside, min(N_VAL, len(outside)), replace=False)
x_val, y_val = x_pool[val_idx], y_pool[val_idx]

scratch_accuracy, scratch_histories = [], []
for d, labelled in enumerate(draws):
    keras.utils.set_random_seed(d)
    model = scratch_cnn()
    curve = (x_val, y_val) if d == 0 else None  # the validation curve is drawn for draw 0 only
    history = model.fit(x_pool[labelled], labels[d], validation_data=curve,
                        epochs=CNN_EPOCHS, batch_size=32, verbose=0)
    scratch_histories.append(history.history)
    scratch_accuracy.append(model.evaluate(x_test, y_test, verbose=0)[1])
    print(f"draw {d}: CNN from scratch, test accuracy {scratch_accuracy[-1]:.3f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(scratch_histories[0]["accuracy"], label="training (100 images)")
ax.plot(scratch_histories[0]["val_accuracy"], label=f"validation ({len(y_val)} other pool images)")
ax.axhline(0.1, color="grey", linestyle=":", label="chance")
ax.set_xlabel("epoch")
ax.set_ylabel("accuracy")
ax.set_title("CNN from scratch, draw 0")
ax.legend()
plt.show()

# %% [markdown]
# **What do you see, and why?** Follow both curves over the epochs.
#
# <details><summary>Answer</summary>
#
# Training accuracy climbs towards 1 (augmentation and dropout slow it down,
# but 100 images are soon learned by heart), while validation accuracy rises
# a little above chance (0.1) and then stays flat or sags. The gap between the
# two is overfitting in its purest form: tens of thousands of weights, 100
# examples. More epochs cannot help; only more information can, which is what
# the next sections bring in.
#
# </details>
#
# ## 3. Pretrained features
#
# `data.backbone()` is EfficientNetB0 trained on ImageNet without its classifier:
# it maps an RGB image (values 0..255) to 1280 numbers. We resize the 32×32
# images to `IMAGE_SIZE` (the network was trained on 224×224 photos; tiny inputs
# give it little to see) and compute the features once: the backbone stays frozen.
#
# Flipping an image left-right does not change its class, so each labelled image
# also contributes the features of its mirror image: 200 training rows from
# 100 labels, for free.

# %%
backbone = data.backbone(input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))


def features(images):
    """Backbone features [n, 1280] of uint8 RGB images [n, 32, 32, 3], resized batch by batch."""
    batches = tf.data.Dataset.from_tensor_slices(images).batch(64).map(
        lambda x: tf.image.resize(tf.cast(x, tf.float32), (IMAGE_SIZE, IMAGE_SIZE)))
    return backbone.predict(batches, verbose=0)


test_features = features(x_test)
train_features = []
for labelled, y in zip(draws, labels):
    images = x_pool[labelled]
    train_features.append((np.concatenate([features(images), features(images[:, :, ::-1])]), np.concatenate([y, y])))
print("test features", test_features.shape, " training rows per draw", train_features[0][0].shape)

# %% [markdown]
# ## 4. A dense head on the features
#
# On top of the frozen features: one hidden layer, with strong dropout on its
# input and output (200 rows for $1280 \times 256$ weights is still very few).
# The features come in very different scales, so the head first standardises
# each of them with the mean and variance of the training rows: a `Normalization`
# layer, `adapt`ed to the data before training.
#
# **Your turn:** build the head: `Input((1280,))`, the adapted `normalize` layer,
# dropout 0.5, `Dense(256)` with ReLU, dropout 0.5, softmax over 10 classes.
#
# <details><summary>Hint</summary>
#
# The same kind of `keras.Sequential` list as `scratch_cnn`; the input size is
# `train_rows.shape[1]`, and the adapted layer `normalize` goes into the list
# as it is.
#
# </details>


# %%
def dense_head(train_rows):
    """A small classifier for 1280 backbone features, standardised with the training rows' statistics."""
    normalize = keras.layers.Normalization()
    normalize.adapt(train_rows)
    ### BEGIN SOLUTION  the layers of the text in their order, starting with the standardisation that was adapted above
    model = keras.Sequential([
        keras.Input((train_rows.shape[1],)),
        normalize,
        keras.layers.Dropout(0.5),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
    ### END SOLUTION
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


head_accuracy = []
for d, (f_train, y_train) in enumerate(train_features):
    keras.utils.set_random_seed(d)
    head = dense_head(f_train)
    head.fit(f_train, y_train, epochs=HEAD_EPOCHS, batch_size=32, verbose=0)
    head_accuracy.append(head.evaluate(test_features, y_test, verbose=0)[1])
    print(f"draw {d}: pretrained features + dense head, test accuracy {head_accuracy[-1]:.3f}")

# %% [markdown]
# ## 5. A random forest on the features
#
# The features do most of the work; does the head even need to be a neural
# network? A random forest is the classic "no tuning" classifier.
#
# **Your turn:** for each draw, fit a `RandomForestClassifier` with `N_TREES` trees
# (and `random_state=d`) on the draw's features and append its test accuracy.
#
# <details><summary>Hint</summary>
#
# `RandomForestClassifier(N_TREES, random_state=d, n_jobs=-1).fit(f_train,
# y_train)`, then its `.score(test_features, y_test)` into `forest_accuracy`.
#
# </details>

# %%
forest_accuracy = []
for d, (f_train, y_train) in enumerate(train_features):
    ### BEGIN SOLUTION  grow the trees on this draw's rows, measure them on the test features and keep the number
    forest = RandomForestClassifier(N_TREES, random_state=d, n_jobs=-1).fit(f_train, y_train)
    forest_accuracy.append(forest.score(test_features, y_test))
    ### END SOLUTION
    print(f"draw {d}: random forest on the features, test accuracy {forest_accuracy[-1]:.3f}")

# %% [markdown]
# ## 6. The scoreboard

# %%
results = {
    "CNN from scratch": (scratch_accuracy, 0.21),
    "features + dense head": (head_accuracy, 0.59),
    "features + random forest": (forest_accuracy, 0.40),
}
fig, ax = plt.subplots(figsize=(7, 3))
names = list(results)
means = [np.mean(acc) for acc, _ in results.values()]
spreads = [np.std(acc) for acc, _ in results.values()]
ax.barh(names, means, xerr=spreads, color=["tab:grey", "tab:orange", "tab:green"], capsize=4)
ax.scatter([old for _, old in results.values()], names, marker="|", s=400, color="black", label="older course")
ax.axvline(0.1, color="grey", linestyle=":", label="chance")
ax.set_xlim(0, 1)
ax.set_xlabel(f"test accuracy, mean over {DRAWS} draw(s) of 100 labels")
ax.legend(loc="lower right", fontsize=8)
plt.show()
for name, (accuracy, old) in results.items():
    print(f"{name:26s}{np.mean(accuracy):.3f} (older course {old:.2f})")

# %% [markdown]
# **What do you see, and why?** The random forest knows nothing about images,
# yet on the features it beats the CNN that was built for images. Why?
#
# <details><summary>Answer</summary>
#
# The CNN from scratch has to learn from 100 images what an edge, a texture,
# a wheel or a wing look like before it can use them, and 100 images are far
# too few. The pretrained features already describe the photo in such terms,
# learned from 1.3 million labelled ImageNet photos; on top of them, deciding
# between ten classes is a small problem, which any decent classifier
# solves. The information that matters came from the other million labels,
# not from the architecture on top. The dense head usually beats the forest:
# the features come in standardised, continuous directions, which a linear
# layer combines easily and a tree has to cut into many boxes.
#
# </details>
#
# **How the thresholds of the checks were chosen.** Chance is 0.1. On
# `N_TEST = 2000` test images an accuracy has a binomial standard error of at
# most 0.011, and a model that learned nothing stays below 0.14 with a
# probability of more than $1 - 10^{-6}$. The draw of the 100 labels matters
# more: from one draw to the next, few-label accuracies move by a few
# hundredths, which averaging over three draws only halves. Each threshold sits
# well above chance and well below what the method should reach on CIFAR-10
# (the older course's figures, 0.21, 0.59 and 0.40, came from an older
# network and other draws):
#
# | model | expected | threshold |
# | --- | --- | --- |
# | CNN from scratch | about 0.2 | 0.15 |
# | features + dense head | 0.6 or more | 0.45 |
# | features + random forest | about 0.4 to 0.5 | 0.30 |
#
# The head's threshold asks for more than the features of an *untrained*
# backbone (random weights) are expected to give with 100 labels: it is the
# ImageNet training that must show. None of this could be tried on the real images when the course was written (the lab
# is built offline); it follows from the sizes, the chance level and the
# spreads.

# %% [markdown]
# ## What to try next
#
# - Change `PER_CLASS` to 1, 5, 50 and 500 and plot the three accuracies against
#   the number of labels. Where does the CNN from scratch catch up, if ever?
# - Set `IMAGE_SIZE = 64`: how much do the features suffer from small inputs?
# - Replace the head by `sklearn.linear_model.LogisticRegression(max_iter=2000)`:
#   on good features, a linear classifier is often all you need.
# - Fine-tune: put the backbone and the head in one model, unfreeze the last block
#   and train with a small learning rate (as in notebook 11). With 100 labels,
#   does it help or hurt?
#
# ## Checks

# %%
assert np.mean(scratch_accuracy) >= MIN_SCRATCH, f"CNN from scratch: {np.mean(scratch_accuracy):.3f} < {MIN_SCRATCH}"
assert np.mean(head_accuracy) >= MIN_HEAD, f"features + dense head: {np.mean(head_accuracy):.3f} < {MIN_HEAD}"
assert np.mean(forest_accuracy) >= MIN_FOREST, f"features + random forest: {np.mean(forest_accuracy):.3f} < {MIN_FOREST}"
assert all(len(np.unique(y_pool[labelled])) == 10 for labelled in draws), "each draw must cover all 10 classes"
assert all(np.all(np.bincount(y_pool[labelled], minlength=10) == PER_CLASS) for labelled in draws), \
    f"each draw must hold {PER_CLASS} images per class"
assert not np.isin(val_idx, np.concatenate(draws)).any(), "the validation images are outside every draw"
print("All checks passed.")
