# %% [markdown]
# # 14 · A character-level language model
#
# **Goal.** Train an LSTM to predict the next character of a book, one character
# at a time, and let it write. On the way: how to turn text into training
# examples, how many parameters an LSTM has and why, how to measure a language
# model in *bits per character*, and what the *temperature* of sampling does.
#
# **The idea.** A language model gives the probability of the next character
# given the ones before, $p(c_{t+1} \mid c_1, \dots, c_t)$. Train it with the
# cross-entropy of the true next character, at every position of the text. Once
# trained, it can *generate*: sample a character from $p$, append it, repeat.

# %% tags=["parameters"] smoke={"N_CHARS": 40000, "SEQ_LEN": 40, "UNITS": 64, "EPOCHS": 3, "GENERATE": 120, "MAX_LOSS_RATIO": 0.8} untrained={"LEARNING_RATE": 0.0, "EPOCHS": 1, "GENERATE": 10}
N_CHARS = 2_000_000  # characters of the book to use (all of it if the book is shorter)
SEQ_LEN = 100  # characters per training sequence
EMBED = 32  # size of the character embedding
UNITS = 256  # LSTM units
EPOCHS = 30  # training epochs
BATCH = 64  # sequences per batch
LEARNING_RATE = 0.005  # Adam; 0 leaves the network as it was initialised
GENERATE = 400  # characters to generate per temperature
MAX_LOSS_RATIO = 0.6  # validation bits/char must be below this fraction of the unigram entropy (section 6)

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from dlab_course import data

keras.utils.set_random_seed(0)

# %% [markdown]
# ## 1. The book

# %%
text = data.load_book()[:N_CHARS]
chars = sorted(set(text))
vocab = len(chars)
char_to_id = {c: i for i, c in enumerate(chars)}
encoded = np.array([char_to_id[c] for c in text], dtype=np.int32)
print(f"{len(text):,} characters, {vocab} distinct")
print(repr(text[:300]))

# %% [markdown]
# ## 2. The bar to beat: character frequencies
#
# A model that ignores all context can at best predict every character with its
# overall frequency $p_c$. Its average loss is the **entropy** of the character
# distribution,
#
# $$H = -\sum_c p_c \log_2 p_c \quad \text{bits per character}.$$
#
# A uniform guess over the vocabulary costs $\log_2(\text{vocab})$ bits. Every bit
# below $H$ that our LSTM reaches, it owes to context.
#
# **Your turn:** compute `unigram_bits`, the entropy of the character frequencies
# in `encoded`, in bits.
#
# <details><summary>Hint</summary>
#
# `np.bincount(encoded, minlength=vocab)` counts each character id; divide by
# the length for the frequencies. Leave out zero frequencies ($0 \log 0 = 0$,
# but `np.log2(0)` is `-inf`), then sum `-p * np.log2(p)`.
#
# </details>

# %%
### BEGIN SOLUTION  how often each character occurs, as shares of the text; then the entropy formula above, over the characters that do occur
p = np.bincount(encoded, minlength=vocab) / len(encoded)
p = p[p > 0]
unigram_bits = float(-np.sum(p * np.log2(p)))
### END SOLUTION
print(f"uniform guess: {np.log2(vocab):.2f} bits/char, character frequencies: {unigram_bits:.2f} bits/char")

# %% [markdown]
# ## 3. Training examples
#
# We cut the text into non-overlapping pieces of `SEQ_LEN + 1` characters. The
# input is the first `SEQ_LEN`, the target the same piece shifted by one: at
# every position the network sees a character and must predict the next.
#
# ```
# input : T h e _ c a
# target: h e _ c a t
# ```
#
# The last 10 % of the text is held out for validation.

# %%
n_seq = (len(encoded) - 1) // SEQ_LEN
inputs = encoded[:n_seq * SEQ_LEN].reshape(n_seq, SEQ_LEN)
targets = encoded[1:n_seq * SEQ_LEN + 1].reshape(n_seq, SEQ_LEN)
n_val = max(1, n_seq // 10)
x_train, y_train = inputs[:-n_val], targets[:-n_val]
x_val, y_val = inputs[-n_val:], targets[-n_val:]
print("train", x_train.shape, " validation", x_val.shape)
print("input :", repr("".join(chars[i] for i in x_train[0, :30])))
print("target:", repr("".join(chars[i] for i in y_train[0, :30])))

# %% [markdown]
# ## 4. The network
#
# - `Embedding(vocab, EMBED)`: each character id becomes a learned vector of
#   `EMBED` numbers (the same as one-hot times a weight matrix, but cheaper).
# - `LSTM(UNITS, return_sequences=True)`: reads the sequence and outputs its
#   state at every position.
# - `Dense(vocab)`: a score (logit) for every possible next character. The
#   softmax is folded into the loss (`from_logits=True`), which is numerically safer.

# %%
def build(batch_shape=(None, None), stateful=False):
    """Embedding -> LSTM -> Dense logits over the vocabulary."""
    return keras.Sequential([
        keras.Input(batch_shape=batch_shape, dtype="int32"),
        keras.layers.Embedding(vocab, EMBED, name="embedding"),
        keras.layers.LSTM(UNITS, return_sequences=True, stateful=stateful, name="lstm"),
        keras.layers.Dense(vocab, name="logits"),
    ])


model = build()
model.summary()

# %% [markdown]
# ## 5. Counting an LSTM's parameters
#
# An LSTM cell keeps a cell state $c_t$ and an output $h_t$ and has four gates:
# input $i$, forget $f$, candidate $g$ and output $o$. Each gate is a small dense
# layer over the input $x_t$ (size $m$) and the previous output $h_{t-1}$
# (size $n$):
#
# $$
# \begin{aligned}
# i_t &= \sigma(x_t W_i + h_{t-1} U_i + b_i) &\qquad f_t &= \sigma(x_t W_f + h_{t-1} U_f + b_f)\\
# g_t &= \tanh(x_t W_g + h_{t-1} U_g + b_g) & o_t &= \sigma(x_t W_o + h_{t-1} U_o + b_o)\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t & h_t &= o_t \odot \tanh(c_t)
# \end{aligned}
# $$
#
# The forget gate decides what to keep of the old memory, the input gate how much
# of the candidate to write; because $c_t$ is updated by addition, gradients
# survive many more steps than in a simple RNN.
#
# **Your turn:** from this, write the number of parameters of our LSTM layer
# (input size $m$ = `EMBED`, $n$ = `UNITS`) as a formula, without asking Keras.
#
# <details><summary>Hint</summary>
#
# Count one gate first: its $W$ has $m \times n$ entries, its $U$ has
# $n \times n$, its $b$ has $n$. The cell state and the output add no weights
# of their own.
#
# </details>

# %%
### BEGIN SOLUTION  add up the weights of one gate from the equations, then count the gates
lstm_params = 4 * (EMBED * UNITS + UNITS * UNITS + UNITS)
### END SOLUTION
keras_lstm_params = model.get_layer("lstm").count_params()
print(f"formula: {lstm_params:,}   Keras: {keras_lstm_params:,}")
print(f"of the whole model's {model.count_params():,} parameters")

# %% [markdown]
# ## 6. Training
#
# The loss is the cross-entropy in *nats* (natural log); dividing by $\ln 2$ gives
# bits per character, comparable with the entropy above.

# %%
model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
history = model.fit(x_train, y_train, validation_data=(x_val, y_val),
                    batch_size=BATCH, epochs=EPOCHS, verbose=2)
val_bits = min(history.history["val_loss"]) / np.log(2)
print(f"best validation loss: {val_bits:.2f} bits/char (character frequencies: {unigram_bits:.2f})")

# %% [markdown]
# **The threshold of the checks.** An untrained network costs about
# $\log_2(\text{vocab})$ bits per character, one that learned only the
# character frequencies `unigram_bits` (about 4.4 for the book). A character
# LSTM of this size reaches about 2 bits on English text: context pays for more
# than half of the bits. `MAX_LOSS_RATIO = 0.6` asks for at least 40 % fewer
# bits than the frequencies: a network that learned spelling passes, one that
# learned only which letters are common fails. With tens of thousands of
# validation characters, the measurement itself is precise to a few hundredths
# of a bit.

# %%
epochs = np.arange(1, len(history.history["loss"]) + 1)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(epochs, np.array(history.history["loss"]) / np.log(2), "o-", label="train")
ax.plot(epochs, np.array(history.history["val_loss"]) / np.log(2), "o-", label="validation")
ax.axhline(unigram_bits, color="grey", linestyle="--", label="character frequencies")
ax.set_xlabel("epoch")
ax.set_ylabel("bits per character")
ax.legend()
plt.show()

# %% [markdown]
# ## 7. Temperature
#
# To generate, we sample the next character from the model's distribution. The
# **temperature** $T$ reshapes it before sampling:
#
# $$p_i^{(T)} = \frac{\exp(z_i / T)}{\sum_j \exp(z_j / T)}$$
#
# where $z$ are the logits. $T = 1$ is the model's own distribution; $T < 1$
# sharpens it (safer, more repetitive text; $T \to 0$ always picks the most likely
# character); $T > 1$ flattens it (more surprising, more mistakes).
#
# **Your turn:** write `with_temperature`, which turns the logits into the
# distribution $p^{(T)}$ at a given temperature; `sample` below then draws one
# character id from it. Subtract the maximum before `np.exp` to avoid
# overflow: it cancels in the fraction.
#
# <details><summary>Hint</summary>
#
# Divide the logits (as `float64`) by the temperature, subtract `z.max()`,
# take `np.exp`, and divide by the sum.
#
# </details>


# %%
def with_temperature(logits, temperature):
    """The distribution softmax(logits / temperature) as a float64 array."""
    ### BEGIN SOLUTION  scale the scores by the temperature, shift them so the largest is zero, exponentiate and normalise
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max()
    p = np.exp(z)
    return p / p.sum()
    ### END SOLUTION


def sample(logits, temperature, rng):
    """One character id drawn from softmax(logits / temperature)."""
    p = with_temperature(logits, temperature)
    return int(rng.choice(len(p), p=p))


# %% [markdown]
# What the model expects after a prompt, at four temperatures:

# %%
start = text.find(". ", len(text) // 2) + 2  # a sentence from the middle of the book
prompt = text[start:start + 40]
prompt_logits = keras.ops.convert_to_numpy(model(encoded[None, start:start + len(prompt)]))[0, -1]
top = np.argsort(prompt_logits)[::-1][:12]
temperatures = [0.2, 0.5, 1.0, 1.5]
fig, axes = plt.subplots(1, len(temperatures), figsize=(14, 3), sharey=True)
for ax, temperature in zip(axes, temperatures):
    labels = ["␣" if chars[i] == " " else repr(chars[i])[1:-1] for i in top]
    ax.bar(labels, with_temperature(prompt_logits, temperature)[top])
    ax.set_title(f"T = {temperature}")
axes[0].set_ylabel("probability")
fig.suptitle(f"next character after ...{prompt[-25:]!r}")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 8. Writing
#
# Generating with the training model would re-read the whole context for every
# new character. Better: the trick from notebook 13. We build the same network
# *stateful*, for a batch of one sequence of one character, copy the trained
# weights, feed the prompt once, and then feed each sampled character back in:
# the LSTM's state carries the context.


# %%
def generate(prompt, length, temperature, seed=0):
    """The prompt followed by `length` characters sampled from the model."""
    rng = np.random.default_rng(seed)
    writer = build(batch_shape=(1, 1), stateful=True)
    writer.set_weights(model.get_weights())
    step = tf.function(lambda x: writer(x, training=False))
    out = list(prompt)
    for c in prompt[:-1]:
        step(tf.constant([[char_to_id[c]]]))
    current = char_to_id[prompt[-1]]
    for _ in range(length):
        logits = step(tf.constant([[current]])).numpy()[0, -1]
        current = sample(logits, temperature, rng)
        out.append(chars[current])
    return "".join(out)


samples = {}
for temperature in [0.2, 0.5, 1.0]:
    samples[temperature] = generate(prompt, GENERATE, temperature)
    print(f"--- temperature {temperature} ---")
    print(samples[temperature])
    print()

# %% [markdown]
# **What do you see, and why?** Compare the three texts: spelling, repetition,
# surprise.
#
# <details><summary>Answer</summary>
#
# At $T = 0.2$ the text is spelled well but repeats itself, often falling into
# a loop of the same few words: sampling nearly always takes the most likely
# character, and once a phrase makes itself the most likely continuation, it
# comes back again and again. At $T = 1$ the text is the model's honest
# distribution: more varied, with invented words and broken spelling wherever
# the model was unsure. $T = 0.5$ sits in between and usually reads best. The
# model is the same in all three: temperature only changes how we draw from
# it.
#
# </details>

# %% [markdown]
# ## What to try next
#
# - Train longer, or with `UNITS = 512`; stack two LSTM layers. Where does the
#   validation loss stop improving, and what does the text look like then?
# - Replace the LSTM with `keras.layers.GRU` (3 gates) or `SimpleRNN` (no gates):
#   count their parameters first, then compare the validation bits per character.
# - Try temperature 0.01 and 3.0. Why does a very low temperature often get stuck
#   in a loop?
# - Prompt with a phrase of your own (only characters from `chars`).
#
# ## Checks

# %%
greedy = [sample(np.array([0.0, 3.0, 1.0]), 0.01, np.random.default_rng(i)) for i in range(20)]
assert val_bits < MAX_LOSS_RATIO * unigram_bits, (
    f"validation {val_bits:.2f} bits/char is not below {MAX_LOSS_RATIO} x {unigram_bits:.2f} (character frequencies)")
assert lstm_params == keras_lstm_params, f"the formula gives {lstm_params}, Keras counts {keras_lstm_params}"
assert abs(with_temperature(np.array([1.0, 2.0, 3.0]), 1.0).sum() - 1) < 1e-9, "probabilities must sum to 1"
assert np.allclose(with_temperature(np.array([1.0, 2.0, 3.0]), 0.5), with_temperature(np.array([2.0, 4.0, 6.0]), 1.0)), \
    "the temperature divides the logits"
assert set(greedy) == {1}, "at a temperature near 0, sampling must pick the largest logit"
assert 0 < unigram_bits <= np.log2(vocab) + 1e-9, f"unigram entropy {unigram_bits:.2f} is not in (0, log2 vocab]"
assert all(len(s) == len(prompt) + GENERATE for s in samples.values()), "generated text has the wrong length"
print("All checks passed.")
