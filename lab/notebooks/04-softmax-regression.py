# %% [markdown]
# # Multinomial logistic regression on MNIST
#
# **Goal.** Recognise handwritten digits 0–9 with the simplest model that can
# do it: one linear layer followed by a *softmax*. Before Keras does it for you,
# you compute a softmax and a cross-entropy by hand, so that nothing in the
# Keras version is a mystery.
#
# **Plan.**
# 1. A forward pass by hand in numpy: one input with 2 features, 3 classes.
# 2. The cross-entropy loss of that prediction.
# 3. MNIST: flatten, scale, one-hot encode, and fit a softmax regression in Keras.
# 4. Look inside: the model's weights are ten pictures, one per digit.

# %% tags=["parameters"] smoke={"N_TRAIN": 2000, "N_VAL": 300, "EPOCHS": 6, "MIN_ACCURACY": 0.6} untrained={"SHUFFLE_LABELS": true, "EPOCHS": 2}
N_TRAIN = 55_000  # training images (the older course used 4 000)
N_VAL = 5_000  # validation images, held out from the end of the training set
EPOCHS = 10
BATCH_SIZE = 128
LEARNING_RATE = 0.5  # plain stochastic gradient descent
SEED = 42
MIN_ACCURACY = 0.90  # the older course reached 0.885
SHUFFLE_LABELS = False  # True: train on labels shuffled among the images (nothing left to learn)

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np

from dlab_course import data

keras.utils.set_random_seed(SEED)
print("Keras", keras.__version__, "with backend", keras.backend.backend())

# %% [markdown]
# ## 1. Softmax by hand
#
# Logistic regression (notebook 03) squeezed one score into a probability with
# the sigmoid. With $K$ classes the model computes $K$ scores, the *logits*
#
# $$z = xW + b, \qquad x \in \mathbb{R}^{1\times d},\ W \in \mathbb{R}^{d\times K},\ b \in \mathbb{R}^{K},$$
#
# and the softmax turns them into probabilities that are positive and sum to one:
#
# $$\operatorname{softmax}(z)_k = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}.$$
#
# Adding the same constant to every logit changes nothing (it cancels in the
# fraction), so implementations subtract $\max_j z_j$ first: then no
# exponential can overflow.
#
# Here is a tiny example: one input with $d = 2$ features and $K = 3$ classes.

# %%
x = np.array([[1.0, 2.0]])  # one example, two features: shape (1, 2)
W = np.array([[0.5, -1.0, 0.2], [0.3, 0.8, -0.5]])  # shape (2, 3)
b = np.array([0.1, 0.0, -0.1])  # shape (3,)

z = x @ W + b
print("logits z =", z)


# %% [markdown]
# **Exercise.** Write `softmax(z)` for a batch of logits of shape `(N, K)`:
# one row of probabilities per example. Subtract each row's maximum first.
#
# <details><summary>Hint</summary>
#
# `z.max(axis=-1, keepdims=True)` has shape `(N, 1)`, so `z - ...` subtracts each
# row's own maximum (broadcasting). `np.exp` works element by element; divide by
# the row sums, taken the same way with `keepdims=True`.
#
# </details>

# %%
def softmax(z):
    ### BEGIN SOLUTION  shift each row so its largest logit is 0, exponentiate, divide each row by its total
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    ### END SOLUTION


p = softmax(z)
print("probabilities p =", p.round(4), " sum =", p.sum())
print("Keras agrees:   ", keras.ops.convert_to_numpy(keras.ops.softmax(z)).round(4))
assert np.allclose(p, keras.ops.convert_to_numpy(keras.ops.softmax(z)))
assert np.allclose(softmax(z + 1000.0), p), "softmax must survive large logits"

# %% [markdown]
# ## 2. Cross-entropy by hand
#
# The label is written *one-hot*: class 1 of 3 is $y = (0, 1, 0)$. The loss
# is the cross-entropy between the label and the prediction, averaged over
# the $N$ examples of a batch:
#
# $$L = -\frac{1}{N}\sum_{n=1}^{N} \sum_{k=1}^{K} y_{nk} \log p_{nk}.$$
#
# With a one-hot label only one term survives: $-\log$ of the probability the
# model gave to the right class. It is 0 for a perfect prediction and grows
# without bound as that probability goes to 0.
#
# **Exercise.** Write `cross_entropy(y, p)` for one-hot labels `y` and
# probabilities `p`, both of shape `(N, K)`.
#
# <details><summary>Hint</summary>
#
# `y * np.log(p)` is zero except at each example's true class;
# `np.sum(..., axis=-1)` adds a row up. Take the mean of minus that over the
# examples and return a `float`.
#
# </details>

# %%
def cross_entropy(y, p):
    ### BEGIN SOLUTION  per example, minus the log of the probability of its true class; then the average
    return float(np.mean(-np.sum(y * np.log(p), axis=-1)))
    ### END SOLUTION


y = np.array([[0.0, 1.0, 0.0]])
loss = cross_entropy(y, p)
keras_loss = float(keras.ops.mean(keras.losses.categorical_crossentropy(y, p)))
print(f"cross-entropy by hand {loss:.4f}, Keras {keras_loss:.4f}")
assert np.isclose(loss, keras_loss, atol=1e-5)
assert np.isclose(loss, -np.log(p[0, 1]))

# %% [markdown]
# ## 3. MNIST
#
# 70 000 grey images of 28 × 28 pixels (values 0–255) with their digit.
# `data.load_mnist()` reads them from the lab's offline cache, exactly as
# `keras.datasets.mnist.load_data()` returns them. We keep the last `N_VAL`
# training images aside for validation; the test set is looked at once, at
# the end.

# %%
(x_train_all, y_train_all), (x_test_raw, y_test) = data.load_mnist()
n_val = min(N_VAL, len(x_train_all) // 5)
n_train = min(N_TRAIN, len(x_train_all) - n_val)
x_train_raw, y_train = x_train_all[:n_train], y_train_all[:n_train]
x_val_raw, y_val = x_train_all[-n_val:], y_train_all[-n_val:]
if SHUFFLE_LABELS:
    y_train = np.random.default_rng(SEED).permutation(y_train)
print(f"train {x_train_raw.shape}, validation {x_val_raw.shape}, test {x_test_raw.shape}, dtype {x_train_raw.dtype}")

fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
for ax, image, label in zip(axes, x_train_raw, y_train):
    ax.imshow(image, cmap="gray_r")
    ax.set_title(str(label))
    ax.axis("off")
plt.show()

# %% [markdown]
# A softmax regression sees each image as one long vector of $28 \cdot 28 = 784$
# numbers. Scaling the pixels to $[0, 1]$ keeps the logits small at the start,
# so that one learning rate suits every weight.
#
# **Exercise.** Write `prepare(images, labels)`: return the images flattened to
# shape `(N, 784)`, as `float32` in $[0, 1]$, and the labels one-hot encoded to
# shape `(N, 10)`.
#
# <details><summary>Hint</summary>
#
# `images.reshape(len(images), -1)` makes one row per image (`-1`: whatever length
# is left); `.astype("float32") / 255` scales it. `keras.utils.to_categorical(labels, 10)`
# one-hot encodes.
#
# </details>

# %%
def prepare(images, labels):
    ### BEGIN SOLUTION  each image as one row of pixels between 0 and 1; each label as a row of ten with a single 1
    x = images.reshape(len(images), -1).astype("float32") / 255.0
    y = keras.utils.to_categorical(labels, 10)
    return x, y
    ### END SOLUTION


x_train, y_train_1hot = prepare(x_train_raw, y_train)
x_val, y_val_1hot = prepare(x_val_raw, y_val)
x_test, y_test_1hot = prepare(x_test_raw, y_test)
assert x_train.shape == (n_train, 784) and x_train.dtype == np.float32
assert 0.0 <= x_train.min() and x_train.max() <= 1.0
assert y_train_1hot.shape == (n_train, 10) and np.all(y_train_1hot.sum(axis=1) == 1)
print("first label", y_train[0], "as one-hot", y_train_1hot[0])

# %% [markdown]
# ## 4. Softmax regression in Keras
#
# The model is exactly section 1 at scale: $p = \operatorname{softmax}(xW + b)$
# with $W$ of shape $784 \times 10$. In Keras that is one `Dense` layer with a
# softmax activation. It has $784 \cdot 10 + 10 = 7850$ parameters.
#
# The loss of a softmax regression is *convex* in $W$ and $b$: every local
# minimum is a global one, so gradient descent cannot get stuck in a bad one, and
# starting from all-zero weights is fine (notebook 06 shows why that fails for
# deeper networks). The minimum is not a single point, though: adding the same
# vector to every column of $W$ adds the same number to every logit and changes
# no probability, and on data that a linear model separates perfectly the loss
# keeps falling as the weights grow, without ever reaching its lowest value.
# Zeros also keep the pixels that never see ink at exactly 0, which makes the
# pictures in section 5 clean.
#
# **Exercise.** Build `model` as a `keras.Sequential` with an `Input` of shape
# `(784,)` and one `Dense` layer whose weights start at zero.
#
# <details><summary>Hint</summary>
#
# `keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros")` is
# the whole model after `keras.Input(shape=(784,))`; `keras.Sequential` takes the
# two in a list.
#
# </details>

# %%
### BEGIN SOLUTION  one layer from the pixels to the ten classes, with the softmax, its weights starting at zero
model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros"),
    ]
)
### END SOLUTION
model.summary()
assert model.count_params() == 7850

# %% [markdown]
# `compile` chooses the optimiser and the loss you wrote above
# (`categorical_crossentropy` expects one-hot labels). `fit` then runs
# mini-batch gradient descent and checks the validation set after each epoch.

# %%
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    x_train,
    y_train_1hot,
    validation_data=(x_val, y_val_1hot),
    epochs=EPOCHS,
    batch_size=BATCH_SIZE,
    verbose=2,
)

# %%
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.5))
epochs = np.arange(1, len(history.history["loss"]) + 1)
ax_loss.plot(epochs, history.history["loss"], "o-", label="train")
ax_loss.plot(epochs, history.history["val_loss"], "o-", label="validation")
ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
ax_acc.plot(epochs, history.history["accuracy"], "o-", label="train")
ax_acc.plot(epochs, history.history["val_accuracy"], "o-", label="validation")
ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
ax_acc.axhline(0.885, color="gray", ls="--", label="older course")
for ax in (ax_loss, ax_acc):
    ax.legend()
plt.show()

# %% [markdown]
# ## 5. What did it learn?
#
# Column $k$ of $W$ holds one weight per pixel: how much ink at that pixel
# votes *for* digit $k$ (red) or *against* it (blue). Drawn as 28 × 28
# pictures, the columns look like blurry templates of the digits.
#
# **What do you see, and why?** Look at the 0 and the 1: where is red, where blue?
#
# <details><summary>Answer</summary>
#
# The 0 has a red ring and a blue centre: ink on a ring votes for a 0, ink in the
# middle against it (a 0 is empty there). The 1 is the opposite, a red vertical
# bar with blue on either side. Each picture is a template that the image is
# compared with, pixel by pixel: the logit of digit $k$ is the sum of the pixels
# weighted by picture $k$. The border stays white: no digit ever has ink there, so
# those weights never get a gradient and keep their starting value 0.
#
# </details>

# %%
weights, biases = model.layers[0].get_weights()
limit = np.abs(weights).max()
fig, axes = plt.subplots(1, 10, figsize=(12, 1.8))
for k, ax in enumerate(axes):
    ax.imshow(weights[:, k].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(str(k))
    ax.axis("off")
plt.show()

# %% [markdown]
# The confusion matrix counts, for each true digit (row), which digit the
# model predicted (column). Off the diagonal are the mistakes.
#
# **What do you see, and why?** Which pairs does a linear model mix up most?
#
# <details><summary>Answer</summary>
#
# On the full data, typically 4 and 9, 3 and 5, 7 and 9, 2 and 8 (the exact pairs
# vary from run to run). These digits share most of their ink: a 4 with a closed
# top is a 9 in all but a few pixels. A linear model scores an image by one
# template per digit, so it cannot say "this stroke matters only if that one is
# missing"; the hidden layers of notebook 05 can.
#
# </details>

# %%
val_probs = model.predict(x_val, verbose=0)
val_pred = val_probs.argmax(axis=1)
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (y_val, val_pred), 1)

fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(confusion, cmap="Blues")
for i in range(10):
    for j in range(10):
        color = "white" if confusion[i, j] > confusion.max() / 2 else "black"
        ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=7, color=color)
ax.set(xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10), title="validation confusion matrix")
plt.show()

# %% [markdown]
# ## 6. The test set, once
#
# Everything above was tuned by looking at the validation set. The test set
# gives an honest final figure.

# %%
test_loss, test_accuracy = model.evaluate(x_test, y_test_1hot, verbose=0)
val_accuracy = history.history["val_accuracy"][-1]
print(f"validation accuracy {val_accuracy:.3f}, test accuracy {test_accuracy:.3f} (older course: 0.885)")

# %% [markdown]
# ## What to try next
#
# - Set `N_TRAIN = 4000`, as the older course did: how much accuracy do the
#   other 51 000 images buy?
# - Change `LEARNING_RATE` to 0.05 and to 5. Which one is too slow, which one
#   jumps around?
# - Feed the raw pixels (0–255) instead of scaled ones. What happens to the
#   loss in the first epoch, and why?
# - Swap `SGD` for `keras.optimizers.Adam(1e-3)`.
# - A linear model stalls around 92 %. Notebook 05 adds hidden layers.

# - Set `SHUFFLE_LABELS = True`: every training image gets the label of another one.
#   What happens to the training loss, and to the validation accuracy?

# %%
assert val_accuracy >= MIN_ACCURACY, f"validation accuracy {val_accuracy:.3f} < {MIN_ACCURACY}"
assert test_accuracy >= MIN_ACCURACY, f"test accuracy {test_accuracy:.3f} < {MIN_ACCURACY}"
assert np.allclose(val_probs.sum(axis=1), 1.0, atol=1e-4), "softmax outputs must sum to one"
assert history.history["loss"][-1] < history.history["loss"][0], "the training loss must go down"
