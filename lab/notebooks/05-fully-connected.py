# %% [markdown]
# # A fully connected network, by hand and in Keras
#
# **Goal.** Go beyond the linear model of notebook 04 with a network of two
# hidden layers, 784 → 500 → 50 → 10. You first write it with plain
# TensorFlow operations: the weights are variables, the forward pass is matrix
# products, and the training loop uses `tf.GradientTape`. Then you build the
# same network in three lines of Keras and compare.
#
# **Plan.**
# 1. Weights and the forward pass with TensorFlow ops.
# 2. The loss, the gradients and one training step, by hand.
# 3. The training loop.
# 4. The same network in Keras: what `compile` and `fit` do for you.

# %% tags=["parameters"] smoke={"N_TRAIN": 2000, "N_VAL": 300, "EPOCHS": 5, "MIN_ACCURACY": 0.6} untrained={"SHUFFLE_LABELS": true, "EPOCHS": 1}
N_TRAIN = 55_000  # training images
N_VAL = 5_000  # validation images, held out from the end of the training set
EPOCHS = 10
BATCH_SIZE = 128
LEARNING_RATE = 0.1  # plain stochastic gradient descent, the same for both versions
SEED = 42
MIN_ACCURACY = 0.95  # the older course reached about 0.90
SHUFFLE_LABELS = False  # True: train on labels shuffled among the images (nothing left to learn)

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from dlab_course import data

keras.utils.set_random_seed(SEED)
print("TensorFlow", tf.__version__, "/ Keras", keras.__version__)

# %% [markdown]
# ## The data
#
# As in notebook 04: flat vectors of 784 pixels scaled to $[0, 1]$, one-hot
# labels, the last `N_VAL` training images kept for validation.

# %%
(x_train_all, y_train_all), (x_test_raw, y_test) = data.load_mnist()
n_val = min(N_VAL, len(x_train_all) // 5)
n_train = min(N_TRAIN, len(x_train_all) - n_val)


def prepare(images, labels):
    x = images.reshape(len(images), -1).astype("float32") / 255.0
    return x, keras.utils.to_categorical(labels, 10).astype("float32")


train_labels = y_train_all[:n_train]
if SHUFFLE_LABELS:
    train_labels = np.random.default_rng(SEED).permutation(train_labels)
x_train, y_train = prepare(x_train_all[:n_train], train_labels)
x_val, y_val = prepare(x_train_all[-n_val:], y_train_all[-n_val:])
x_test, y_test_1hot = prepare(x_test_raw, y_test)
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% [markdown]
# ## 1. The network with TensorFlow ops
#
# Each layer computes $h = \phi(xW + b)$, with $\phi$ the ReLU,
# $\phi(a) = \max(0, a)$, in the hidden layers. The last layer has no
# activation: it returns the *logits*, and the softmax is folded into the loss
# (that is more accurate numerically than taking the log of a softmax).
#
# $$h_1 = \mathrm{relu}(x W_1 + b_1), \quad h_2 = \mathrm{relu}(h_1 W_2 + b_2), \quad z = h_2 W_3 + b_3.$$
#
# The weights start as small random numbers. Their scale matters (notebook 06
# says why); with ReLU a good choice is *He initialisation*, a normal
# distribution with standard deviation $\sqrt{2 / n_\text{in}}$, where
# $n_\text{in}$ is the number of inputs to the layer. Biases start at zero.

# %%
def make_layer(n_in, n_out, name):
    w = tf.Variable(tf.random.normal([n_in, n_out], stddev=np.sqrt(2.0 / n_in)), name=f"{name}_w")
    b = tf.Variable(tf.zeros([n_out]), name=f"{name}_b")
    return w, b


W1, b1 = make_layer(784, 500, "hidden1")
W2, b2 = make_layer(500, 50, "hidden2")
W3, b3 = make_layer(50, 10, "output")
params = [W1, b1, W2, b2, W3, b3]
n_params = sum(int(np.prod(v.shape)) for v in params)
print("parameters:", n_params)


# %% [markdown]
# **Exercise.** Write `forward(x)`: the two hidden layers with `tf.nn.relu`
# and the output layer without activation. `x @ W` is a matrix product in
# TensorFlow as in numpy.
#
# <details><summary>Hint</summary>
#
# `x @ W1 + b1` is the first layer before its activation; `tf.nn.relu(...)` of it
# is `h1`. The second layer does the same to `h1` with `W2, b2`; the output layer
# is `h2 @ W3 + b3`, returned as it is.
#
# </details>

# %%
def forward(x):
    ### BEGIN SOLUTION  two hidden layers, each the ReLU of an affine map of its input, then the output layer's affine map alone
    h1 = tf.nn.relu(x @ W1 + b1)
    h2 = tf.nn.relu(h1 @ W2 + b2)
    return h2 @ W3 + b3
    ### END SOLUTION


logits = forward(x_train[:5])
print("logits of 5 images:", logits.shape)
print("softmax of the first one (an untrained guess):", tf.nn.softmax(logits[0]).numpy().round(2))
assert logits.shape == (5, 10)


# %% [markdown]
# ## 2. Loss, gradients, one step
#
# The loss is the mean cross-entropy of notebook 04, computed from the logits.
# Gradient descent moves every parameter $\theta$ a small step against its
# gradient:
#
# $$\theta \leftarrow \theta - \eta \, \frac{\partial L}{\partial \theta}.$$
#
# `tf.GradientTape` records the operations run inside its `with` block and can
# then compute the gradient of the result with respect to any variable:
# backpropagation, done for you.
#
# **Exercise.** Complete `train_step(x, y)`: compute the loss under a tape,
# take the gradients of the loss with respect to `params`, and update each
# variable in place with `assign_sub`. `@tf.function` compiles the step into a
# graph once, so the loop below runs fast.
#
# <details><summary>Hint</summary>
#
# As in notebook 02: inside `with tf.GradientTape() as tape:` compute
# `loss = loss_fn(forward(x), y)`; `tape.gradient(loss, params)` gives one gradient
# per variable, in the order of `params`; walk the two lists together with `zip`
# and call `v.assign_sub(LEARNING_RATE * g)`.
#
# </details>

# %%
def loss_fn(logits, y):
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))


@tf.function
def train_step(x, y):
    ### BEGIN SOLUTION  record the loss of the network on a tape, ask it for the derivative of every parameter, step each against its own
    with tf.GradientTape() as tape:
        loss = loss_fn(forward(x), y)
    grads = tape.gradient(loss, params)
    for v, g in zip(params, grads):
        v.assign_sub(LEARNING_RATE * g)
    ### END SOLUTION
    return loss


def accuracy(logits, y):
    return float(np.mean(np.argmax(logits, axis=1) == np.argmax(y, axis=1)))


before = float(loss_fn(forward(x_train[:BATCH_SIZE]), y_train[:BATCH_SIZE]))
for _ in range(5):
    train_step(x_train[:BATCH_SIZE], y_train[:BATCH_SIZE])
after = float(loss_fn(forward(x_train[:BATCH_SIZE]), y_train[:BATCH_SIZE]))
print(f"loss on one batch: {before:.3f} before, {after:.3f} after 5 steps on it")
assert after < before, "five steps on the same batch must lower its loss"

# %% [markdown]
# ## 3. The training loop
#
# An *epoch* is one pass over the training set in shuffled mini-batches.
# `tf.data` does the shuffling and batching. After each epoch we measure the
# accuracy on the validation set.

# %%
batches = (
    tf.data.Dataset.from_tensor_slices((x_train, y_train))
    .shuffle(len(x_train), seed=SEED, reshuffle_each_iteration=True)
    .batch(BATCH_SIZE)
)
by_hand = {"loss": [], "val_accuracy": []}
for epoch in range(1, EPOCHS + 1):
    losses = [float(train_step(x, y)) for x, y in batches]
    by_hand["loss"].append(np.mean(losses))
    by_hand["val_accuracy"].append(accuracy(forward(x_val), y_val))
    print(f"epoch {epoch}: loss {by_hand['loss'][-1]:.4f}, validation accuracy {by_hand['val_accuracy'][-1]:.4f}")

# %% [markdown]
# ## 4. The same network in Keras
#
# Keras writes the variables, the forward pass, the tape, the update and the
# loop for you. A `Dense` layer is exactly `make_layer` plus the line
# `relu(x @ W + b)`.
#
# **Exercise.** Build `model`: a `keras.Sequential` with an `Input` of shape
# `(784,)`, two hidden `Dense` layers of 500 and 50 units with ReLU and
# `kernel_initializer="he_normal"`, and an output `Dense` layer of 10 units
# with a softmax.
#
# <details><summary>Hint</summary>
#
# `keras.layers.Dense(500, activation="relu", kernel_initializer="he_normal")` is
# the first hidden layer; the list for `keras.Sequential` starts with
# `keras.Input(shape=(784,))`.
#
# </details>

# %%
### BEGIN SOLUTION  the same three layers as by hand, with He's initialisation in the two hidden ones
model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(500, activation="relu", kernel_initializer="he_normal"),
        keras.layers.Dense(50, activation="relu", kernel_initializer="he_normal"),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
### END SOLUTION
model.summary()
assert model.count_params() == n_params == 784 * 500 + 500 + 500 * 50 + 50 + 50 * 10 + 10

# %%
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE),
    loss="categorical_crossentropy",
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
# Both versions follow the same recipe, so their curves should be close.
#
# **What do you see, and why?** Are the two curves the same? What differs between
# the two versions?
#
# <details><summary>Answer</summary>
#
# Close, not identical. The recipe is the same (layers, loss, optimiser, learning
# rate, batch size), but the random numbers are not: the starting weights are
# drawn differently (our output layer is He-initialised, Keras' uses Glorot's
# default), and Keras shuffles the batches in its own order. Each run is one draw;
# what must agree is where they end up, not every step on the way.
#
# </details>

# %%
epochs = np.arange(1, EPOCHS + 1)
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.5))
ax_loss.plot(epochs, by_hand["loss"], "o-", label="by hand")
ax_loss.plot(epochs, history.history["loss"], "s--", label="Keras")
ax_loss.set(xlabel="epoch", ylabel="training cross-entropy", title="loss")
ax_acc.plot(epochs, by_hand["val_accuracy"], "o-", label="by hand")
ax_acc.plot(epochs, history.history["val_accuracy"], "s--", label="Keras")
ax_acc.axhline(0.90, color="gray", ls=":", label="older course")
ax_acc.set(xlabel="epoch", ylabel="validation accuracy", title="accuracy")
for ax in (ax_loss, ax_acc):
    ax.legend()
plt.show()

# %% [markdown]
# ## Where does it go wrong?
#
# The test images the Keras model is least sure about, with its top guess and
# the probability it gave to it. Many are digits a person would hesitate on too.

# %%
test_probs = model.predict(x_test, verbose=0)
test_pred = test_probs.argmax(axis=1)
unsure = np.argsort(test_probs.max(axis=1))[:10]
fig, axes = plt.subplots(1, 10, figsize=(12, 1.9))
for ax, i in zip(axes, unsure):
    ax.imshow(x_test_raw[i], cmap="gray_r")
    ax.set_title(f"{test_pred[i]} ({test_probs[i].max():.0%})\ntrue {y_test[i]}", fontsize=8)
    ax.axis("off")
plt.show()

test_accuracy = float(np.mean(test_pred == y_test))
hand_test_accuracy = accuracy(forward(x_test), y_test_1hot)
print(f"test accuracy: by hand {hand_test_accuracy:.3f}, Keras {test_accuracy:.3f} (older course: about 0.90)")

# %% [markdown]
# ## What to try next
#
# - Replace `tf.nn.relu` by `tf.nn.sigmoid` in `forward`. How much slower is
#   learning in the first epochs?
# - Start the weights with `stddev=1.0` instead of He's value. What happens to
#   the first loss, and why?
# - In the Keras version, swap `SGD` for `keras.optimizers.Adam(1e-3)`.
# - Count the parameters: which layer holds almost all of them? Halve it and
#   see whether the accuracy suffers.
# - The network overfits after a while (training loss keeps falling,
#   validation accuracy stalls). Notebook 06 collects the tricks against that.

# - Set `SHUFFLE_LABELS = True`: each training image gets another one's label.
#   Does the training loss still fall? What does validation accuracy do, and why?
#
# <details><summary>Answer</summary>
#
# The training loss still falls, slowly, and the training accuracy creeps up: a
# network with 400 000 weights can learn 2 000 or even 55 000 arbitrary labels by
# heart. Validation accuracy stays at chance, about 0.1, and the validation loss
# rises: what it memorised says nothing about other images. A falling training
# loss alone proves nothing; only held-out data shows learning.
#
# </details>

# %%
assert by_hand["val_accuracy"][-1] >= MIN_ACCURACY, f"by hand: {by_hand['val_accuracy'][-1]:.3f} < {MIN_ACCURACY}"
assert history.history["val_accuracy"][-1] >= MIN_ACCURACY, f"Keras: {history.history['val_accuracy'][-1]:.3f} < {MIN_ACCURACY}"
assert test_accuracy >= MIN_ACCURACY, f"Keras test accuracy {test_accuracy:.3f} < {MIN_ACCURACY}"
assert hand_test_accuracy >= MIN_ACCURACY, f"by hand test accuracy {hand_test_accuracy:.3f} < {MIN_ACCURACY}"
assert by_hand["loss"][-1] < by_hand["loss"][0], "the hand-written loop must lower the loss"
