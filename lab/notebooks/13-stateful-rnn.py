# %% [markdown]
# # 13 · A stateful recurrent network
#
# **Goal.** Learn what a *stateful* RNN is, when it helps and how to feed it:
# the network keeps its hidden state from one batch to the next, so it can use
# information from much further back than the sequences it is trained on.
#
# **The data** is the ice-cream stand of notebook 12: sunny, cloudy or rainy days;
# a sunny day sells one unit if there is any, a cloudy day three days earlier
# restocks one unit if stock is below 2; we predict "in stock" from the weather.
# In notebook 12 the models saw a fixed window of 7 days and got stuck around
# 92 %: the stock at the start of the window was unknown to them. The stock is a
# consequence of the *whole* history. Can a network remember it?
#
# As in notebook 12, the label includes the weather of the day it is about,
# which makes our task easier than the older course's version (its stateful
# network reached 0.739): the two numbers are not comparable. Here the stock,
# and so the answer, is fully determined by the weather since the start, so a
# network that remembers everything could reach 1.0.

# %% tags=["parameters"] smoke={"N_DAYS": 3000, "STREAMS": 8, "EPOCHS": 4, "MIN_ACCURACY": 0.8, "MIN_GAIN": 0.05} untrained={"LEARNING_RATE": 0.0, "EPOCHS": 1}
N_DAYS = 20000  # length of the simulated series (70 % train, 30 % test)
STREAMS = 32  # parallel streams, which is also the fixed batch size of the stateful network
CHUNK = 8  # days per training sequence
UNITS = 16  # size of the hidden state
EPOCHS = 20  # training epochs
LEARNING_RATE = 0.01  # Adam; 0 leaves both networks as they were initialised
MIN_ACCURACY = 0.9  # the stateful network must reach this (the majority guess: about 0.6)
MIN_GAIN = 0.1  # ... and beat the stateless one by this much

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np

from dlab_course import data

keras.utils.set_random_seed(0)

# %% [markdown]
# ## 1. The idea
#
# An RNN layer starts every sequence from $h_0 = 0$. Trained on 8-day sequences,
# it knows nothing about day 1 of a sequence except that day's weather, a little
# more on day 2, and so on: it has to guess the stock it started with.
#
# A **stateful** layer (`stateful=True`) does not reset: the final state $h_T$ of
# sequence $i$ in one batch becomes the initial state $h_0$ of sequence $i$ in the
# next batch. If that next sequence *continues* the previous one in time, the
# network carries its memory across the cut, as if it read one endless series.
#
# Gradients still flow only inside one sequence (this is *truncated
# backpropagation through time*, with `CHUNK` steps), so training stays cheap,
# but the *forward* pass sees everything.
#
# This only makes sense when batches are laid out so that row $i$ of batch $k+1$
# is the continuation of row $i$ of batch $k$. Three rules follow:
#
# 1. The batch size is fixed (it is part of the state's shape).
# 2. No shuffling: the order of batches is the order of time.
# 3. Reset the state where a new, unrelated series starts (here: every epoch).

# %%
weather, in_stock = data.ice_cream(N_DAYS, seed=0)
x_days = data.one_hot(weather, 3).astype("float32")
y_days = in_stock.astype("float32")[:, None]
split = int(0.7 * N_DAYS)
print(f"{split} training days, {N_DAYS - split} test days, in stock on {in_stock.mean():.1%} of the days")

# %% [markdown]
# ## 2. Laying out the batches
#
# We cut the series into `STREAMS` equal, consecutive pieces (the streams), and
# each stream into chunks of `CHUNK` days. Batch $k$ holds chunk $k$ of every
# stream, one stream per row. With 2 streams of 6 days and chunks of 3 days, days
# `0..11` become
#
# ```
# batch 0: [0 1 2]      batch 1: [3 4 5]
#          [6 7 8]               [9 10 11]
# ```
#
# so row 0 of batch 1 (days 3-5) continues row 0 of batch 0 (days 0-2).
# Keras' `fit` with `batch_size=STREAMS, shuffle=False` takes the examples
# in order, `STREAMS` at a time, so the training array is simply all the batches
# one after the other: `[batch 0 row 0, batch 0 row 1, batch 1 row 0, ...]`.
#
# **Your turn:** write `to_batches(series, streams, chunk)` for a series of
# shape `[days, features]`; drop the days at the end that do not fill a chunk.
#
# <details><summary>Hint</summary>
#
# With `n_chunks = len(series) // (streams * chunk)`, keep the first
# `streams * n_chunks * chunk` days and `reshape` them to
# `[streams, n_chunks, chunk, features]`: row = stream, then chunk. Batches want
# chunk first, then stream: `transpose(1, 0, 2, 3)`, then one more `reshape`.
#
# </details>


# %%
def to_batches(series, streams, chunk):
    """Reorder a series [days, features] into [n_batches * streams, chunk, features] for a stateful RNN."""
    ### BEGIN SOLUTION  cut the days into parallel pieces and each piece into short sequences; then order by sequence first, piece second
    n_chunks = len(series) // (streams * chunk)
    used = series[:streams * n_chunks * chunk]
    pieces = used.reshape(streams, n_chunks, chunk, series.shape[-1])
    return pieces.transpose(1, 0, 2, 3).reshape(-1, chunk, series.shape[-1])
    ### END SOLUTION


demo = to_batches(np.arange(12)[:, None], streams=2, chunk=3)[..., 0]
print(demo)

# %% [markdown]
# The printout must read `[[0 1 2] [6 7 8] [3 4 5] [9 10 11]]`: batch 0 is the first
# two rows, batch 1 the next two. Now the real series:

# %%
x_train, y_train = to_batches(x_days[:split], STREAMS, CHUNK), to_batches(y_days[:split], STREAMS, CHUNK)
x_test, y_test = to_batches(x_days[split:], STREAMS, CHUNK), to_batches(y_days[split:], STREAMS, CHUNK)
print("train", x_train.shape, " test", x_test.shape, f"({len(x_train) // STREAMS} batches per epoch)")

# %% [markdown]
# ## 3. Two networks, one difference
#
# Both networks read a chunk and predict "in stock" for **every** day of it
# (`return_sequences=True` passes on $h_1, \dots, h_T$, and the `Dense` layer is
# applied to each). The only difference is `stateful`.
#
# A stateful layer must know its batch size up front: the input is declared with
# `keras.Input(batch_shape=(STREAMS, CHUNK, 3))` instead of `shape=(CHUNK, 3)`.
#
# **Your turn:** complete `build`.
#
# <details><summary>Hint</summary>
#
# `keras.layers.SimpleRNN(UNITS, stateful=stateful, return_sequences=True,
# name="rnn")` applied to `inputs`, then `keras.layers.Dense(1,
# activation="sigmoid")` applied to what it returns. The name matters: the
# code below finds the layer by it.
#
# </details>


# %%
def build(stateful):
    """The same small RNN, stateful or not, compiled for binary classification of every day."""
    inputs = keras.Input(batch_shape=(STREAMS, CHUNK, 3))
    ### BEGIN SOLUTION  a recurrent layer that passes on its state at every day (stateful or not as asked, and named so we can find it), then one yes/no unit applied to each day
    states = keras.layers.SimpleRNN(UNITS, stateful=stateful, return_sequences=True, name="rnn")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(states)
    ### END SOLUTION
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="binary_crossentropy", metrics=["accuracy"])
    return model


# %% [markdown]
# First the ordinary, **stateless** network. Its training chunks may be shuffled:
# each one stands alone.

# %%
keras.utils.set_random_seed(0)
stateless = build(stateful=False)
stateless_history = stateless.fit(x_train, y_train, batch_size=STREAMS, epochs=EPOCHS, shuffle=True, verbose=0)
print(f"stateless: training accuracy {stateless_history.history['accuracy'][-1]:.3f}")

# %% [markdown]
# Now the **stateful** one: same data, same batch size, but in order and with the
# state carried over. At the start of every epoch the series starts over, so
# the memory must be wiped: a callback does that.
#
# **Your turn:** complete the callback that resets the state of the layer named
# `"rnn"` at the start of every epoch.
#
# <details><summary>Hint</summary>
#
# A callback reaches the model it trains as `self.model`; `get_layer("rnn")`
# finds the layer, and a recurrent layer has a `reset_state()` method.
#
# </details>

# %%
class ResetState(keras.callbacks.Callback):
    """Start every epoch from a blank memory: the series starts over."""

    def on_epoch_begin(self, epoch, logs=None):
        ### BEGIN SOLUTION  find our recurrent layer in the model being trained and wipe its memory
        self.model.get_layer("rnn").reset_state()
        ### END SOLUTION


keras.utils.set_random_seed(0)
stateful = build(stateful=True)
stateful_history = stateful.fit(x_train, y_train, batch_size=STREAMS, epochs=EPOCHS, shuffle=False,
                                callbacks=[ResetState()], verbose=0)
print(f"stateful: training accuracy {stateful_history.history['accuracy'][-1]:.3f}")

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(stateless_history.history["loss"], label="stateless")
ax.plot(stateful_history.history["loss"], label="stateful")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
plt.show()

# %% [markdown]
# ## 4. Testing
#
# The test series is laid out the same way. Before it, the stateful network's
# state is reset (the test days are a new series), and `predict` must also run the
# batches in order with `batch_size=STREAMS`. The accuracy is computed on all
# days, and separately for each position inside the chunk.


# %%
def accuracy_by_position(model):
    """Test accuracy for each position 0..CHUNK-1 inside a chunk."""
    model.get_layer("rnn").reset_state()
    predicted = model.predict(x_test, batch_size=STREAMS, verbose=0) > 0.5
    return (predicted == (y_test > 0.5))[..., 0].mean(axis=0)


stateless_by_position = accuracy_by_position(stateless)
stateful_by_position = accuracy_by_position(stateful)
stateless_accuracy = stateless_by_position.mean()
stateful_accuracy = stateful_by_position.mean()
print(f"test accuracy: stateless {stateless_accuracy:.3f}, stateful {stateful_accuracy:.3f}")

# %%
positions = np.arange(1, CHUNK + 1)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(positions, stateless_by_position, "o-", label=f"stateless ({stateless_accuracy:.3f})")
ax.plot(positions, stateful_by_position, "o-", label=f"stateful ({stateful_accuracy:.3f})")
ax.set_xlabel("day inside the chunk")
ax.set_ylabel("test accuracy")
ax.set_title("How much the network knows, day by day")
ax.legend()
plt.show()

# %% [markdown]
# **What do you see, and why?** How does each network's accuracy change from
# day 1 to day 8 of a chunk?
#
# <details><summary>Answer</summary>
#
# The stateless network is nearly blind on the first days of every chunk and
# gets better as it reads on: on day 1 it has seen one day of weather, on day 8
# eight, like notebook 12's window. The stateful network is about as good on
# day 1 as on day 8, because it arrives with the memory of all the days
# before: its state carries a running estimate of the stock across the cut.
#
# </details>
#
# ## 5. Take the memory away
#
# What did the stateful network learn: to read the weather, or to *count*? We copy
# its weights into a stateless network and test again. Same weights, but every
# chunk starts from $h_0 = 0$.

# %%
amnesiac = build(stateful=False)
amnesiac.set_weights(stateful.get_weights())
amnesiac_by_position = accuracy_by_position(amnesiac)
print(f"stateful weights without the carried state: {amnesiac_by_position.mean():.3f}")
print("by position:", np.round(amnesiac_by_position, 3))
print("stateless:  ", np.round(stateless_by_position, 3))

# %% [markdown]
# **What do you see, and why?** Compare these accuracies by position with the
# two curves above.
#
# <details><summary>Answer</summary>
#
# Without the carried state, the stateful network's weights are poor on the
# first days of a chunk, about as poor as the stateless network there. Its
# weights expect a state that summarises the past; from a blank
# state its first days are guesses, and it never learned to make the best of
# a short history, because in training it never had to. Later in the chunk it
# recovers, as it rebuilds the state from the days it reads.
#
# </details>
#
# ## When to use a stateful RNN
#
# - **Yes:** one long series (sensor logs, text, audio) that is too long to
#   backpropagate through in one piece, where what happened long ago still matters.
# - **No:** many independent, short sequences (sentences to classify, one
#   patient each): there is no "continuation" to carry a state into. Use ordinary
#   layers and shuffle.
# - **Careful:** a stateful model predicts with the batch size it was built with;
#   to serve one stream at a time, build it again with `batch_shape=(1, None, 3)`
#   and `set_weights` from the trained one.
#
# ## What to try next
#
# - Set `CHUNK = 2` and `CHUNK = 32`. Which of the two networks cares?
# - Forget `ResetState` or pass `shuffle=True` to the stateful `fit`: what happens
#   to the training curve and the test accuracy?
# - Replace `SimpleRNN` with `keras.layers.GRU`: it learns the count faster.
#
# ## Checks

# %%
assert stateful_accuracy >= MIN_ACCURACY, f"stateful test accuracy {stateful_accuracy:.3f} < {MIN_ACCURACY}"
assert stateful_accuracy >= stateless_accuracy + MIN_GAIN, (
    f"the stateful network ({stateful_accuracy:.3f}) should beat the stateless one "
    f"({stateless_accuracy:.3f}) by {MIN_GAIN}")
assert demo.tolist() == [[0, 1, 2], [6, 7, 8], [3, 4, 5], [9, 10, 11]], f"to_batches gave {demo.tolist()}"
assert stateful.get_layer("rnn").stateful, "the network in `stateful` must be built with stateful=True"
print("All checks passed.")
