# %% [markdown]
# # Tricks of the trade
#
# **Goal.** The network of notebook 05 works, but deeper networks are fragile:
# they may not learn at all, learn slowly, or learn the training set by heart.
# This notebook tries the standard remedies one at a time on the same MNIST
# network and compares them side by side:
#
# 1. **Initialisation**: why the scale of the random starting weights matters.
# 2. **Sigmoid vs ReLU**: which activation lets the gradient through.
# 3. **Dropout** and **batch normalisation**.
# 4. **Early stopping**: stop when the validation loss stops improving.
#
# Every variant writes its own TensorBoard run, so you can also compare them
# in TensorBoard.

# %% tags=["parameters"] smoke={"N_TRAIN": 2000, "N_VAL": 300, "HIDDEN_UNITS": 64, "EPOCHS": 4, "PATIENCE": 2, "LOG_DIR": "", "MIN_ACCURACY": 0.6} untrained={"SHUFFLE_LABELS": true, "EPOCHS": 1}
N_TRAIN = 55_000  # training images
N_VAL = 5_000  # validation images, held out from the end of the training set
HIDDEN_LAYERS = 3
HIDDEN_UNITS = 256
DROPOUT = 0.3  # fraction of units dropped in the dropout variant
EPOCHS = 30  # at most: early stopping usually ends sooner
PATIENCE = 3  # epochs without a better validation loss before stopping
BATCH_SIZE = 128
LEARNING_RATE = 0.05  # SGD with momentum 0.9, the same for every variant
LOG_DIR = "logs/06-tricks-of-the-trade"  # TensorBoard runs; empty: a temporary folder
SEED = 42
MIN_ACCURACY = 0.96  # for the best variant; the older course reached 0.92
SHUFFLE_LABELS = False  # True: train on labels shuffled among the images (nothing left to learn)

# %%
import os
import tempfile
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from dlab_course import data

keras.utils.set_random_seed(SEED)
if not LOG_DIR:
    LOG_DIR = tempfile.mkdtemp(prefix="dlab-06-")
RUN_DIR = os.path.join(LOG_DIR, time.strftime("%Y%m%d-%H%M%S"))
print("TensorBoard runs go to", RUN_DIR)

# %%
(x_train_all, y_train_all), (x_test_raw, y_test) = data.load_mnist()
n_val = min(N_VAL, len(x_train_all) // 5)
n_train = min(N_TRAIN, len(x_train_all) - n_val)


def flatten(images):
    return images.reshape(len(images), -1).astype("float32") / 255.0


x_train, y_train = flatten(x_train_all[:n_train]), y_train_all[:n_train]
if SHUFFLE_LABELS:
    y_train = np.random.default_rng(SEED).permutation(y_train)
x_val, y_val = flatten(x_train_all[-n_val:]), y_train_all[-n_val:]
x_test = flatten(x_test_raw)
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% [markdown]
# ## 1. Initialisation
#
# A layer computes $a = h W$ with $n_\text{in}$ inputs. If the inputs $h$ and
# the weights are independent with mean zero, each pre-activation is a sum of
# $n_\text{in}$ products and its variance is
#
# $$\operatorname{Var}(a) = n_\text{in}\, \sigma_w^2\, \mathbb{E}[h^2].$$
#
# So every layer multiplies the signal's scale by about $\sigma_w \sqrt{n_\text{in}}$
# (halved in variance by a ReLU, which zeroes the negative half). Stack ten
# layers and a factor of 0.5 becomes $0.5^{10} \approx 0.001$: the signal,
# and with it the gradient, vanishes; a factor of 2 makes it explode.
#
# **He initialisation** (He et al., 2015) picks $\sigma_w$ so that the factor
# is one for ReLU layers:
#
# $$\sigma_w = \sqrt{2 / n_\text{in}}.$$
#
# (For tanh and sigmoid, Glorot's $\sqrt{2/(n_\text{in}+n_\text{out})}$ plays
# the same role; it is Keras' default.)
#
# **Exercise.** Write `he_std(n_in)`.

# %%
def he_std(n_in):
    ### BEGIN SOLUTION  He's standard deviation from the formula above
    return np.sqrt(2.0 / n_in)
    ### END SOLUTION


assert np.isclose(he_std(200), 0.1)

# %% [markdown]
# Now send 500 images through a stack of ten ReLU layers of 256 units with
# three choices of $\sigma_w$ and watch the scale of the activations, layer by
# layer.

# %%
rng = np.random.default_rng(SEED)
DEPTH, WIDTH = 10, 256
choices = {"too small: 0.01": lambda n_in: 0.01, "too large: 0.2": lambda n_in: 0.2, "He": he_std}
scales = {}
for name, std_of in choices.items():
    h = x_train[:500]
    scales[name] = []
    for _ in range(DEPTH):
        W = rng.normal(0.0, std_of(h.shape[1]), size=(h.shape[1], WIDTH))
        h = np.maximum(0.0, h @ W)
        scales[name].append(np.sqrt(np.mean(h**2)))

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, s in scales.items():
    ax.semilogy(range(1, DEPTH + 1), s, "o-", label=name)
ax.set(xlabel="layer", ylabel="RMS of the activations (log scale)", title="ten ReLU layers, three initialisations")
ax.legend()
plt.show()

# %% [markdown]
# **What do you see, and why?** Which initialisation keeps the scale, and what
# happens to the other two over ten layers?
#
# <details><summary>Answer</summary>
#
# He's line stays flat. With $\sigma_w = 0.01$ each layer multiplies the scale by
# about $0.01 \sqrt{256 / 2} \approx 0.11$, so after ten layers the signal is
# $10^{-9}$ of where it started; with $0.2$ the factor is about 2.3 and it
# explodes by a factor of thousands. (The first layer has 784 inputs, not 256,
# so it starts a little off the line.) A network whose signal vanishes gets
# gradients that vanish too, and learns nothing.
#
# </details>
#
# ## 2. Sigmoid vs ReLU
#
# Backpropagation multiplies the gradient, layer after layer, by the
# derivative of the activation. The sigmoid's derivative
# $\sigma'(a) = \sigma(a)\,(1 - \sigma(a))$ is at most $1/4$, and close to 0
# wherever the unit saturates; so each sigmoid layer shrinks the gradient by
# a factor of 4 or more, and in a deep sigmoid network the first layers
# hardly learn. The ReLU's derivative is exactly 1 wherever the unit is
# active: the gradient passes through unchanged.

# %%
a = np.linspace(-6, 6, 200)
sigmoid = 1 / (1 + np.exp(-a))
fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(10, 3))
ax_f.plot(a, sigmoid, label="sigmoid")
ax_f.plot(a, np.maximum(0, a) / 6, label="ReLU (scaled by 1/6)")
ax_f.set(title="activation", xlabel="a")
ax_d.plot(a, sigmoid * (1 - sigmoid), label="sigmoid'")
ax_d.plot(a, (a > 0).astype(float), label="ReLU'")
ax_d.set(title="derivative: what the gradient is multiplied by", xlabel="a")
for ax in (ax_f, ax_d):
    ax.legend()
plt.show()

# %% [markdown]
# Here is that shrinking, measured: the size of the gradient of the loss with
# respect to each layer's weights, for one batch, in a freshly initialised
# network of ten hidden layers (sigmoid with Glorot's initialisation, ReLU with
# He's).

# %%
def gradient_scales(activation, init, depth=10):
    """RMS of the loss gradient for each hidden layer's kernel, first layer first, before any training."""
    keras.utils.set_random_seed(SEED)
    deep = keras.Sequential([keras.Input(shape=(784,))]
                            + [keras.layers.Dense(WIDTH, activation=activation, kernel_initializer=init) for _ in range(depth)]
                            + [keras.layers.Dense(10, activation="softmax")])
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y_train[:256], deep(x_train[:256])))
    gradients = tape.gradient(loss, [layer.kernel for layer in deep.layers[:-1]])
    return [float(np.sqrt(np.mean(np.square(g)))) for g in gradients]


gradient_scale = {"sigmoid": gradient_scales("sigmoid", "glorot_uniform"), "relu": gradient_scales("relu", "he_normal")}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, values in gradient_scale.items():
    ax.semilogy(range(1, DEPTH + 1), values, "o-", label=name)
ax.set(xlabel="hidden layer", ylabel="RMS of the weight gradient (log scale)", title="ten layers, before training")
ax.legend()
plt.show()

# %% [markdown]
# **What do you see, and why?**
#
# <details><summary>Answer</summary>
#
# In the sigmoid network the gradient shrinks by a factor of about 4 to 5 with
# every layer from the output down: the first layer's gradient is about a
# million times smaller than the last one's, so with one learning rate for all
# layers the first ones hardly move. In the ReLU network with He's
# initialisation every layer gets a gradient of the same size.
#
# The networks we train below have only `HIDDEN_LAYERS` = 3 hidden layers, and
# SGD with momentum makes up for part of the loss of scale: there the sigmoid
# network still learns, only more slowly at first. Try `HIDDEN_LAYERS = 8`.
#
# </details>

# %% [markdown]
# ## 3. Dropout and batch normalisation
#
# Batch normalisation (Ioffe and Szegedy, 2015) standardises each unit's
# pre-activation over the mini-batch $B$, then lets the network choose its
# scale $\gamma$ and offset $\beta$:
#
# $$\hat a = \frac{a - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad y = \gamma \hat a + \beta.$$
#
# It keeps the activations well scaled whatever the initialisation, and
# usually allows larger learning rates. At test time it uses running averages
# of $\mu_B$ and $\sigma_B^2$ instead of the batch's. (The bias of the layer
# before it is redundant, since $\beta$ plays its role.)
#
# Dropout (Srivastava et al., 2014) sets each unit to zero with probability
# $p$ during training and multiplies the survivors by $1/(1-p)$, so the
# expected activation stays the same. The network cannot rely on any single
# unit, which fights overfitting. At test time nothing is dropped:

# %%
dropout = keras.layers.Dropout(0.5, seed=SEED)
ones = np.ones((1, 10), dtype="float32")
print("training:  ", keras.ops.convert_to_numpy(dropout(ones, training=True)))
print("inference: ", keras.ops.convert_to_numpy(dropout(ones, training=False)))


# %% [markdown]
# **Exercise.** Complete `build_model`. Each hidden layer is a `Dense` layer
# of `HIDDEN_UNITS` units without activation (and without bias when batch
# norm follows), then `BatchNormalization` if asked, then the `Activation`,
# then `Dropout` if `dropout > 0`. Use `make_initializer(init)` for each
# `Dense` layer: an initializer object must not be shared between layers, or
# they all start with the same weights.
#
# <details><summary>Hint</summary>
#
# `model.add(...)` appends a layer. The linear part is
# `keras.layers.Dense(HIDDEN_UNITS, kernel_initializer=make_initializer(init), use_bias=not batch_norm)`;
# then, each only when asked, `keras.layers.BatchNormalization()`, then always
# `keras.layers.Activation(activation)`, then `keras.layers.Dropout(dropout)`.
#
# </details>

# %%
def make_initializer(init):
    """A fresh initializer: 'he_normal', 'glorot_uniform', or 'tiny' (normal, std 0.01)."""
    if init == "tiny":
        return keras.initializers.RandomNormal(stddev=0.01)
    return keras.initializers.get(init)


def build_model(activation="relu", init="he_normal", dropout=0.0, batch_norm=False):
    model = keras.Sequential([keras.Input(shape=(784,))])
    for _ in range(HIDDEN_LAYERS):
        ### BEGIN SOLUTION  the linear part, batch norm when asked, the activation, then dropout when asked
        model.add(keras.layers.Dense(HIDDEN_UNITS, kernel_initializer=make_initializer(init), use_bias=not batch_norm))
        if batch_norm:
            model.add(keras.layers.BatchNormalization())
        model.add(keras.layers.Activation(activation))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
        ### END SOLUTION
    model.add(keras.layers.Dense(10, activation="softmax"))
    return model


probe = build_model(dropout=DROPOUT, batch_norm=True)
probe.summary()
kinds = [type(layer).__name__ for layer in probe.layers]
assert kinds.count("Dense") == HIDDEN_LAYERS + 1
assert kinds.count("BatchNormalization") == HIDDEN_LAYERS and kinds.count("Dropout") == HIDDEN_LAYERS
first, second = probe.layers[0].kernel.numpy(), probe.layers[4].kernel.numpy()
assert not np.allclose(first[: HIDDEN_UNITS], second), "each layer needs its own random weights"

# %% [markdown]
# ## 4. Training every variant
#
# The variants differ in one thing each from the plain ReLU network.
# **Early stopping** watches the validation loss after each epoch; when it has
# not improved for `PATIENCE` epochs, training stops and the weights of the
# best epoch are restored. `EPOCHS` is only an upper bound.

# %%
VARIANTS = {
    "sigmoid": dict(activation="sigmoid", init="glorot_uniform"),
    "relu-tiny-init": dict(activation="relu", init="tiny"),
    "relu": dict(activation="relu", init="he_normal"),
    "relu-dropout": dict(activation="relu", init="he_normal", dropout=DROPOUT),
    "relu-batchnorm": dict(activation="relu", init="he_normal", batch_norm=True),
}

histories, models = {}, {}
for name, options in VARIANTS.items():
    keras.utils.set_random_seed(SEED)  # the same start for every variant
    model = build_model(**options)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True),
        keras.callbacks.TensorBoard(log_dir=os.path.join(RUN_DIR, name)),
    ]
    started = time.time()
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        callbacks=callbacks,
        verbose=0,
    )
    histories[name], models[name] = history.history, model
    best = int(np.argmin(history.history["val_loss"]))
    print(
        f"{name:15s} {len(history.history['loss']):3d} epochs, {time.time() - started:5.1f} s, "
        f"kept epoch {best + 1}: validation accuracy {history.history['val_accuracy'][best]:.4f}"
    )

# %% [markdown]
# The curves tell the story. Look at the first epochs (initialisation,
# activation) and at the gap between training and validation loss
# (overfitting, which dropout narrows).
#
# **What do you see, and why?** Which variant starts slowest? Which one has the
# largest gap between training and validation loss?
#
# <details><summary>Answer</summary>
#
# Typically, on the full data: the network with the tiny initialisation starts slowest,
# because its signal and gradients first have to grow out of the $10^{-9}$ scale
# seen in section 1 (momentum eventually gets it going). The sigmoid network
# starts more slowly than the ReLU one. The plain ReLU network has the largest
# gap: its training loss keeps falling while the validation loss turns up, which
# is overfitting; dropout narrows the gap, and batch norm learns fastest in the
# first epochs. On the small smoke data the curves are too short to show all of this.
#
# </details>

# %%
def kept_accuracy(h):
    """Validation accuracy of the epoch early stopping kept (the lowest validation loss)."""
    return h["val_accuracy"][int(np.argmin(h["val_loss"]))]


fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for name, h in histories.items():
    epochs = np.arange(1, len(h["loss"]) + 1)
    line = axes[0].plot(epochs, h["val_accuracy"], "o-", ms=3, label=name)[0]
    axes[1].plot(epochs, h["val_loss"], "o-", ms=3, color=line.get_color(), label=f"{name} (validation)")
    axes[1].plot(epochs, h["loss"], ":", color=line.get_color())
    axes[0].plot(np.argmin(h["val_loss"]) + 1, kept_accuracy(h), "k*", ms=10)
axes[0].axhline(0.92, color="gray", ls="--", label="older course")
axes[0].set(xlabel="epoch", ylabel="validation accuracy", title="accuracy (★ = weights kept)")
axes[1].set(xlabel="epoch", ylabel="cross-entropy", title="loss: validation (solid), training (dotted)", yscale="log")
axes[0].legend(fontsize=8)
names = list(histories)
best_accuracy = [kept_accuracy(histories[n]) for n in names]
axes[2].barh(names, best_accuracy, color=[f"C{i}" for i in range(len(names))])
axes[2].set(xlim=(0.0, 1.0), xlabel="validation accuracy of the kept weights")
for ax in axes[:2]:
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
plt.tight_layout()
plt.show()

# %% [markdown]
# ## TensorBoard
#
# Each variant's run is in its own folder under `RUN_DIR`. To browse them,
# run these two lines in a cell (in the dlab image TensorBoard opens through
# the lab's own address, no extra port):
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir logs/06-tricks-of-the-trade
# ```

# %%
for name in VARIANTS:
    print(name, sorted(os.listdir(os.path.join(RUN_DIR, name))))

# %% [markdown]
# ## The test set, once
#
# We pick the variant with the best validation accuracy and evaluate it on
# the test set.

# %%
chosen = names[int(np.argmax(best_accuracy))]
test_loss, test_accuracy = models[chosen].evaluate(x_test, y_test, verbose=0)
print(f"chosen variant: {chosen}; test accuracy {test_accuracy:.4f} (older course: 0.92)")

# %% [markdown]
# ## What to try next
#
# - Make the network deeper (`HIDDEN_LAYERS = 8`). Which variants still learn?
# - Combine the tricks: ReLU, He initialisation, batch norm *and* dropout.
# - Raise `LEARNING_RATE` tenfold: which variant copes best?
# - Replace `SGD` by `keras.optimizers.Adam(1e-3)`: how much of the gap
#   between the variants is left?
# - Set `PATIENCE = 10` and watch the validation loss of the plain ReLU
#   network climb while its training loss keeps falling.

# %%
assert max(best_accuracy) >= MIN_ACCURACY, f"best validation accuracy {max(best_accuracy):.3f} < {MIN_ACCURACY}"
assert test_accuracy >= MIN_ACCURACY, f"test accuracy {test_accuracy:.3f} < {MIN_ACCURACY}"
assert scales["He"][-1] / scales["He"][0] > 0.1 and scales["He"][-1] / scales["He"][0] < 10, "He keeps the scale"
assert scales["too small: 0.01"][-1] < 1e-3 * scales["too small: 0.01"][0], "a tiny init makes the signal vanish"
sigmoid_drop = gradient_scale["sigmoid"][0] / gradient_scale["sigmoid"][-1]
relu_drop = gradient_scale["relu"][0] / gradient_scale["relu"][-1]
assert sigmoid_drop < 1e-3 < 0.1 < relu_drop, f"first/last layer gradient: sigmoid {sigmoid_drop:.1e}, ReLU {relu_drop:.1e}"
for name, h in histories.items():
    kept_loss = models[name].evaluate(x_val, y_val, batch_size=BATCH_SIZE, verbose=0)[0]
    assert np.isclose(kept_loss, min(h["val_loss"]), rtol=1e-3), f"{name}: early stopping did not keep its best epoch"
    assert os.listdir(os.path.join(RUN_DIR, name, "train")), f"no TensorBoard events for {name}"
