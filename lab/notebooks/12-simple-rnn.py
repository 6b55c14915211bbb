# %% [markdown]
# # 12 · A simple recurrent network
#
# **Goal.** Understand what a recurrent neural network (RNN) computes by writing
# its forward pass by hand in NumPy and checking it against Keras' `SimpleRNN`;
# then train one on a small time series and compare it with a strong non-neural
# baseline, a random forest.
#
# **The data: an ice-cream stand.** Each day the weather is sunny, cloudy or rainy,
# with equal chance. The stand starts with 2 units in stock. If it was *cloudy
# three days earlier* and the stock is below 2, one unit is restocked; on a *sunny*
# day one unit is sold if there is any. We only see the weather, never the stock,
# and want to predict whether the stand is **in stock** at the end of a day from
# the weather of the last few days.
#
# Nothing in a single day's weather answers that: the answer depends on *order*
# (a sale before or after a restock) and on what happened days ago. That is what
# sequence models are for.

# %% tags=["parameters"] smoke={"N_DAYS": 2000, "EPOCHS": 4, "UNITS": 8, "N_TREES": 50, "MIN_ACCURACY": 0.75}
N_DAYS = 20000  # length of the simulated series (70 % train, 30 % test)
WINDOW = 7  # days of weather the models see
UNITS = 16  # size of the RNN's hidden state
EPOCHS = 15  # training epochs of the RNN
N_TREES = 200  # trees in the random forest
MIN_ACCURACY = 0.80  # both models must reach this test accuracy (older course: 0.646)

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import RandomForestClassifier

from dlab_course import data

keras.utils.set_random_seed(0)
WEATHER = ["sunny", "cloudy", "rainy"]
COLORS = ["gold", "grey", "tab:blue"]

# %% [markdown]
# ## 1. The series
#
# `data.ice_cream(n_days)` simulates the stand. `weather[t]` is 0, 1 or 2
# (sunny, cloudy, rainy) and `in_stock[t]` is 1 when stock is left at the end of
# day `t`.

# %%
weather, in_stock = data.ice_cream(N_DAYS, seed=0)
print("first 20 days:", [WEATHER[w][0] for w in weather[:20]])
print("in stock:     ", in_stock[:20].tolist())
print(f"in stock on {in_stock.mean():.1%} of the days")

days = np.arange(60)
fig, ax = plt.subplots(figsize=(11, 2.5))
ax.step(days, in_stock[:60], where="mid", color="black", label="in stock")
for k, (name, color) in enumerate(zip(WEATHER, COLORS)):
    sel = weather[:60] == k
    ax.scatter(days[sel], np.full(sel.sum(), 1.25), color=color, s=60, label=name)
ax.set_yticks([0, 1])
ax.set_ylim(-0.15, 1.8)
ax.set_xlabel("day")
ax.set_title("Weather (dots) and whether the stand has ice cream (line)")
ax.legend(ncol=4, loc="upper center", fontsize=8)
plt.show()

# %% [markdown]
# Neural networks eat numbers, not categories, so each day becomes a **one-hot**
# vector: sunny = (1, 0, 0), cloudy = (0, 1, 0), rainy = (0, 0, 1).

# %%
x_days = data.one_hot(weather, 3).astype("float32")  # [N_DAYS, 3]
print(x_days[:4])

# %% [markdown]
# ## 2. An RNN forward pass by hand
#
# A simple RNN reads a sequence $x_1, \dots, x_T$ one step at a time and keeps a
# hidden state $h_t$ (a vector of `UNITS` numbers), its memory of what it has seen:
#
# $$h_0 = 0, \qquad h_t = \tanh\left(x_t W_x + h_{t-1} W_h + b\right).$$
#
# The *same* weights $W_x$ (input to state, shape $3 \times$ `UNITS`), $W_h$
# (state to state, `UNITS` $\times$ `UNITS`) and $b$ are used at every step: that
# is what lets an RNN handle sequences of any length with a fixed number of
# parameters. A classifier then reads the last state $h_T$.
#
# **Your turn:** write `rnn_forward`, which returns all the hidden states
# $h_1, \dots, h_T$ of one sequence as a $T \times$ `UNITS` array.


# %%
def rnn_forward(x, w_x, w_h, b):
    """Hidden states [T, units] of a simple tanh RNN over one sequence x [T, inputs]."""
    h = np.zeros(w_h.shape[0])
    states = []
    ### BEGIN SOLUTION  loop over the rows of x: h = np.tanh(x_t @ w_x + h @ w_h + b), collect every h
    for x_t in x:
        h = np.tanh(x_t @ w_x + h @ w_h + b)
        states.append(h)
    ### END SOLUTION
    return np.array(states)


# %% [markdown]
# Keras' `SimpleRNN` computes exactly this. Its weights are, in order, $W_x$
# (`kernel`), $W_h$ (`recurrent_kernel`) and $b$ (`bias`). We run a fresh,
# untrained layer and our function on the first week and compare.

# %%
layer = keras.layers.SimpleRNN(UNITS, return_sequences=True)
week = x_days[None, :WINDOW]  # a batch of one sequence: [1, WINDOW, 3]
keras_states = keras.ops.convert_to_numpy(layer(week))[0]
w_x, w_h, b = layer.get_weights()
print("W_x", w_x.shape, " W_h", w_h.shape, " b", b.shape)

our_states = rnn_forward(x_days[:WINDOW], w_x, w_h, b)
forward_error = np.max(np.abs(our_states - keras_states))
print(f"largest difference to Keras: {forward_error:.2e}")

fig, axes = plt.subplots(1, 2, figsize=(10, 2.6), sharey=True)
for ax, states, title in zip(axes, [our_states, keras_states], ["rnn_forward", "keras SimpleRNN"]):
    im = ax.imshow(states.T, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    ax.set_title(title)
    ax.set_xlabel("step t")
axes[0].set_ylabel("unit of h_t")
fig.colorbar(im, ax=axes)
plt.show()

# %% [markdown]
# ## 3. From a series to training examples
#
# Each example is a window of `WINDOW` consecutive days, and its label is
# `in_stock` on the window's last day. For a series of $N$ days there are
# $N - $ `WINDOW` $+ 1$ windows.
#
# We split **by time**: the first 70 % of the days for training, the rest for
# testing. Shuffling a time series before splitting would put almost identical,
# overlapping windows on both sides and make the test look better than it is.
#
# **Your turn:** build `x` of shape `[N - WINDOW + 1, WINDOW, 3]` (window `i`
# holds days `i .. i + WINDOW - 1`) and the matching labels `y`.


# %%
def make_windows(x_days, labels, window):
    """All windows of `window` consecutive days and the label of each window's last day."""
    ### BEGIN SOLUTION  stack x_days[i:i + window] for every start i; the label is labels[i + window - 1]
    starts = range(len(x_days) - window + 1)
    x = np.stack([x_days[i:i + window] for i in starts])
    y = labels[window - 1:]
    ### END SOLUTION
    return x, y


x, y = make_windows(x_days, in_stock, WINDOW)
split = int(0.7 * len(x))
x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]
print("train", x_train.shape, " test", x_test.shape)

majority = max(y_test.mean(), 1 - y_test.mean())
print(f"always guessing the more common answer: {majority:.3f} test accuracy")

# %% [markdown]
# That last number is the bar to clear: a model that ignores the weather and
# always says "in stock" already gets it.
#
# ## 4. A SimpleRNN in Keras
#
# The network reads the window with a `SimpleRNN` of `UNITS` units (only the last
# state is passed on, `return_sequences=False`) and a `Dense` layer with a sigmoid
# turns it into $P(\text{in stock})$. Binary cross-entropy is the loss.
#
# **Your turn:** build and compile the model.

# %%
keras.utils.set_random_seed(0)
### BEGIN SOLUTION  rnn = keras.Sequential([...]): Input((WINDOW, 3)), SimpleRNN(UNITS), Dense(1, activation="sigmoid"); rnn.compile with Adam(0.01), "binary_crossentropy", metrics=["accuracy"]
rnn = keras.Sequential([
    keras.Input((WINDOW, 3)),
    keras.layers.SimpleRNN(UNITS),
    keras.layers.Dense(1, activation="sigmoid"),
])
rnn.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
### END SOLUTION
rnn.summary()

# %%
history = rnn.fit(x_train, y_train, validation_split=0.2, epochs=EPOCHS, batch_size=32, verbose=2)
rnn_accuracy = rnn.evaluate(x_test, y_test, verbose=0)[1]
print(f"SimpleRNN test accuracy: {rnn_accuracy:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for ax, metric in zip(axes, ["loss", "accuracy"]):
    ax.plot(history.history[metric], label="train")
    ax.plot(history.history["val_" + metric], label="validation")
    ax.set_xlabel("epoch")
    ax.set_title(metric)
    ax.legend()
plt.show()

# %% [markdown]
# ## 5. A random forest on the same windows
#
# Is the RNN any good? A random forest knows nothing about time, but if we
# flatten each window into `WINDOW * 3` numbers it can still learn rules like
# "sunny today and sunny yesterday and not cloudy three days ago". Forests are
# quick to train and hard to beat on small tabular problems, so they are an
# honest baseline.
#
# **Your turn:** train a `RandomForestClassifier` with `N_TREES` trees on the
# flattened training windows and compute its test accuracy `forest_accuracy`.

# %%
### BEGIN SOLUTION  reshape the windows to [n, WINDOW * 3]; RandomForestClassifier(N_TREES, random_state=0).fit(...); forest_accuracy = .score(...) on the test windows
forest = RandomForestClassifier(N_TREES, random_state=0, n_jobs=-1)
forest.fit(x_train.reshape(len(x_train), -1), y_train)
forest_accuracy = forest.score(x_test.reshape(len(x_test), -1), y_test)
### END SOLUTION
print(f"random forest test accuracy: {forest_accuracy:.3f}")

# %%
results = {"majority guess": majority, "random forest": forest_accuracy, "SimpleRNN": rnn_accuracy}
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.barh(list(results), list(results.values()), color=["lightgrey", "tab:green", "tab:orange"])
ax.axvline(0.646, color="black", linestyle="--", label="older course (0.646)")
ax.set_xlim(0.5, 1)
ax.set_xlabel("test accuracy")
ax.legend(loc="lower right", fontsize=8)
plt.show()

# %% [markdown]
# ## What the RNN gets wrong
#
# The window hides the stock at its start. Where do the models err? Below, the
# test accuracy of the RNN split by today's weather.

# %%
rnn_predictions = (rnn.predict(x_test, verbose=0)[:, 0] > 0.5).astype(int)
today = x_test[:, -1].argmax(axis=1)
for k, name in enumerate(WEATHER):
    sel = today == k
    print(f"{name:7s} days: accuracy {np.mean(rnn_predictions[sel] == y_test[sel]):.3f} ({sel.sum()} days)")

# %% [markdown]
# ## What to try next
#
# - Change `WINDOW` to 3, 4 and 15. Why is 3 days far too short for this rule
#   (hint: the restock looks three days back)?
# - Replace `SimpleRNN` by `keras.layers.LSTM` or `GRU`: better on long windows?
# - Train the random forest on only the last day's weather: how close to the
#   majority guess does it get?
# - Notebook 13 drops the fixed window: a *stateful* RNN carries its memory from
#   one batch to the next.
#
# ## Checks

# %%
assert forward_error < 1e-5, f"rnn_forward differs from Keras by {forward_error:.2e}"
assert x.shape == (N_DAYS - WINDOW + 1, WINDOW, 3), f"windows have shape {x.shape}"
assert rnn_accuracy > majority, f"the RNN ({rnn_accuracy:.3f}) does not beat the majority guess ({majority:.3f})"
assert rnn_accuracy >= MIN_ACCURACY, f"RNN test accuracy {rnn_accuracy:.3f} < {MIN_ACCURACY}"
assert forest_accuracy >= MIN_ACCURACY, f"random forest test accuracy {forest_accuracy:.3f} < {MIN_ACCURACY}"
print("All checks passed.")
