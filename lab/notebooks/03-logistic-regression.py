# %% [markdown]
# # 03 · Logistic regression: the Challenger O-rings
#
# **Goal.** Predict a *probability* instead of a number, and learn the loss that
# goes with it, the **cross-entropy**: first computed by hand in NumPy, then
# minimised by a Keras model.
#
# **The story.** On 28 January 1986 the space shuttle *Challenger* broke up 73
# seconds after launch: a rubber O-ring sealing a joint of a solid rocket booster
# had failed in the cold. The forecast for the launch was 31 °F (−0.6 °C), far
# colder than any launch before. The night before, engineers argued about whether
# the cold mattered. Here are the 23 earlier launches: the temperature, and whether
# the O-rings showed damage (`failure` = 1). What would a model have said?

# %% tags=["parameters"] smoke={"EPOCHS": 60} untrained={"SHUFFLE_LABELS": true}
LEARNING_RATE = 1.0  # step size of gradient descent (on standardised temperatures)
EPOCHS = 300  # gradient-descent steps, one per epoch on all 23 launches
MAX_LOSS = 0.5  # the final cross-entropy must be below this (section 2 says why)
MIN_P_31F = 0.95  # the fitted model must give at least this failure probability at 31 °F
LAUNCH_F = 31.0  # temperature forecast for the Challenger launch
SHUFFLE_LABELS = False  # True: shuffle the outcomes among the launches, so temperature tells nothing

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from dlab_course import data

keras.utils.set_random_seed(3)

# %% [markdown]
# ## 1. The data

# %%
launches = data.load_challenger()
temperature = launches["temperature_f"].to_numpy("float32")
failure = launches["failure"].to_numpy("float32")
if SHUFFLE_LABELS:
    failure = np.random.default_rng(0).permutation(failure)
print(f"{len(launches)} launches, {int(failure.sum())} with O-ring damage, "
      f"temperatures {temperature.min():.0f}-{temperature.max():.0f} °F")

fig, ax = plt.subplots(figsize=(6, 2.8))
jitter = np.random.default_rng(0).uniform(-0.04, 0.04, len(failure))
ax.scatter(temperature, failure + jitter, s=25, alpha=0.7)
ax.axvline(LAUNCH_F, color="tab:red", linestyle="--", label=f"Challenger launch, {LAUNCH_F:.0f} °F")
ax.set(xlabel="launch temperature (°F)", ylabel="O-ring damage", yticks=[0, 1], xlim=(25, 85))
ax.legend(loc="center left")
plt.show()

# %% [markdown]
# ## 2. The model and its loss
#
# A straight line $a t + b$ of the temperature $t$ can be any number; a
# probability must lie between 0 and 1. The **logistic** (sigmoid) function
# squashes one into the other:
#
# $$ \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad
#    p(t) = P(\text{failure} \mid t) = \sigma(a t + b). $$
#
# How good is a choice of $a, b$? The model gives each launch a probability for
# what really happened: $p_i$ if it failed, $1 - p_i$ if not. A good model makes
# the observed outcomes likely, so we maximise the product of these probabilities,
# or equivalently minimise the mean negative log of them, the **binary
# cross-entropy**:
#
# $$ L(a, b) = -\frac{1}{N} \sum_{i=1}^{N} \Big[ y_i \log p_i + (1 - y_i) \log (1 - p_i) \Big]. $$
#
# A confident wrong answer ($p_i \to 0$ for a failure) costs without limit; a coin
# flip ($p_i = 0.5$ everywhere) costs $\log 2 \approx 0.693$. A model that ignores
# the temperature and only knows that 7 of the 23 launches had damage ($p_i = 7/23$
# everywhere) does better, about 0.61. Anything that has learned how damage depends
# on temperature must beat that: our check at the end asks for a loss below 0.5.
#
# **Your turn:** write the cross-entropy in NumPy. Clip the probabilities into
# $[\epsilon, 1 - \epsilon]$ first, so that $\log 0$ never happens.
#
# <details><summary>Hint</summary>
#
# `np.clip(p, eps, 1 - eps)` keeps the probabilities inside the interval; `np.log`
# and `np.mean` work element by element on whole arrays, so the formula above is
# one line. Return a Python `float`.
#
# </details>


# %%
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cross_entropy(y, p, eps=1e-7):
    """Mean binary cross-entropy of outcomes y (0/1) under predicted probabilities p."""
    ### BEGIN SOLUTION  keep p away from 0 and 1 by eps, then average the formula above over the launches
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    ### END SOLUTION


guesses = {"coin flip (a=0, b=0)": (0.0, 0.0), "a guess (a=-0.1, b=6)": (-0.1, 6.0),
           "the published fit (a=-0.2322, b=15.043)": (-0.2322, 15.043)}
for name, (a, b) in guesses.items():
    print(f"{name:42s} loss {cross_entropy(failure, sigmoid(a * temperature + b)):.4f}")

# %% [markdown]
# **What do you see, and why?** Even the published fit, the best straight line,
# has a loss well above 0. Why can no choice of $a$ and $b$ bring it to 0?
#
# <details><summary>Answer</summary>
#
# A loss of 0 needs $p_i = 1$ for every damaged launch and $p_i = 0$ for every
# other one, so a temperature that separates the two kinds. There is none: damage
# was seen between 53 and 75 °F, launches without damage between 66 and 81 °F.
# Where they overlap, the best the model can do is a probability in between, and
# each of those costs something.
#
# </details>
#
# Keras has the same loss built in; our version should agree with it.

# %%
a, b = guesses["the published fit (a=-0.2322, b=15.043)"]
ours = cross_entropy(failure, sigmoid(a * temperature + b))
theirs = float(keras.losses.binary_crossentropy(failure, sigmoid(a * temperature + b).astype("float32")))
print(f"ours {ours:.5f}, Keras {theirs:.5f}")

# %% [markdown]
# Here is the loss for every slope and intercept. The good values lie along a long,
# thin diagonal valley: because all temperatures are near 70 °F, a change of the
# slope $a$ must be undone by a change of $b \approx -70\,a$. Gradient descent
# hates such valleys (notebook 02), so before fitting we **standardise** the input,
# $z = (t - \bar t) / s_t$: mean 0, standard deviation 1.

# %%
slopes = np.linspace(-0.6, 0.2, 81)
intercepts = np.linspace(-15.0, 40.0, 81)
loss_grid = np.array([[cross_entropy(failure, sigmoid(a * temperature + b)) for a in slopes] for b in intercepts])
fig, ax = plt.subplots(figsize=(5, 3.8))
shade = ax.contourf(slopes, intercepts, np.log(loss_grid), levels=30, cmap="viridis")
ax.plot(-0.2322, 15.043, "r*", markersize=12, label="published fit")
ax.set(xlabel="slope a (per °F)", ylabel="intercept b", title="log cross-entropy")
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# ## 3. Fit with Keras
#
# Logistic regression is a one-unit `Dense` layer with a sigmoid activation. A
# `Normalization` layer in front standardises the temperature inside the model
# (`adapt` measures the mean and variance), so the model still takes degrees
# Fahrenheit. We train with plain gradient descent on all 23 launches at once.
#
# **Your turn:** build the model: `keras.Input` with shape `(1,)`, then `normalize`,
# then a `Dense` layer with one unit and a sigmoid. Compile it with the
# binary cross-entropy loss and `keras.optimizers.SGD(learning_rate=LEARNING_RATE)`.
#
# <details><summary>Hint</summary>
#
# `keras.Sequential([...])` takes the three in a list; the layer is
# `keras.layers.Dense(1, activation="sigmoid")`. Then
# `model.compile(optimizer=..., loss="binary_crossentropy")`.
#
# </details>

# %%
normalize = keras.layers.Normalization()
normalize.adapt(temperature[:, None])
print(f"mean {normalize.mean.numpy().item():.2f} °F, standard deviation "
      f"{np.sqrt(normalize.variance.numpy().item()):.2f} °F")

### BEGIN SOLUTION  the three parts in order as one model, then choose its loss and its optimiser
model = keras.Sequential([keras.Input(shape=(1,)), normalize, keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE), loss="binary_crossentropy")
### END SOLUTION

launch_data = tf.data.Dataset.from_tensor_slices((temperature[:, None], failure)).batch(len(failure))
fit = model.fit(launch_data, epochs=EPOCHS, shuffle=False, verbose=0)
final_loss = cross_entropy(failure, model.predict(temperature[:, None], verbose=0)[:, 0])
print(f"loss after {EPOCHS} epochs: {final_loss:.4f}")

# %% [markdown]
# The model learned $\sigma(w z + c)$ on the standardised $z$. Substituting
# $z = (t - \bar t)/s_t$ gives back slope and intercept in degrees:
# $a = w / s_t$, $b = c - w \bar t / s_t$. They should be close to the published fit.

# %%
w, c = (v.item() for v in model.layers[-1].get_weights())
mean_t, sd_t = normalize.mean.numpy().item(), np.sqrt(normalize.variance.numpy().item())
slope, intercept = w / sd_t, c - w * mean_t / sd_t
p_launch = model.predict(np.array([[LAUNCH_F]], dtype="float32"), verbose=0).item()
print(f"a = {slope:.4f} per °F, b = {intercept:.3f}   (published: -0.2322, 15.043)")
print(f"each degree colder multiplies the odds of damage by {np.exp(-slope):.2f}")
print(f"P(O-ring damage at {LAUNCH_F:.0f} °F) = {p_launch:.4f}")

# %%
grid = np.linspace(25, 85, 200, dtype="float32")
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
left.plot(fit.history["loss"])
left.axhline(MAX_LOSS, color="gray", linestyle=":", label=f"limit {MAX_LOSS}")
left.set(xlabel="epoch", ylabel="cross-entropy", title="training loss")
left.legend()
right.scatter(temperature, failure + jitter, s=25, alpha=0.7, label="launches")
right.plot(grid, model.predict(grid[:, None], verbose=0)[:, 0], color="black", label="model p(t)")
right.axvline(LAUNCH_F, color="tab:red", linestyle="--")
right.plot(LAUNCH_F, p_launch, "o", color="tab:red", label=f"p({LAUNCH_F:.0f} °F) = {p_launch:.3f}")
right.set(xlabel="launch temperature (°F)", ylabel="P(O-ring damage)", title="the fitted model")
right.legend(loc="center right")
plt.show()

# %% [markdown]
# **A word of caution.** 31 °F is 22 degrees colder than any launch in the data:
# the model *extrapolates*, and its near-certainty there comes from the shape of
# the sigmoid, not from evidence at that temperature. Still, every launch below
# 65 °F had damaged O-rings; the data did point at the danger.
#
# ## What to try next
#
# - Remove `normalize` from the model (keep `keras.Input`) and fit again: with the
#   same learning rate the loss goes wild; with a small one it crawls. The valley above
#   tells you why.
# - Fit with `loss="mse"` instead of cross-entropy: is the curve different? Which
#   loss punishes a confident wrong answer more?
# - Set `SHUFFLE_LABELS = True`: the outcomes are shuffled among the launches.
#   What loss does the fit reach now, and why close to 0.61?
# - How sure is the slope? Refit on bootstrap samples of the 23 launches
#   (`np.random.default_rng().integers(0, 23, 23)` as indices) and plot the spread of
#   the curves at 31 °F.
#
# ## Checks

# %%
assert abs(cross_entropy(np.array([1.0, 0.0]), np.array([0.5, 0.5])) - np.log(2)) < 1e-6, \
    "a coin flip should cost log 2"
assert abs(ours - theirs) < 1e-4, f"your cross-entropy {ours:.5f} differs from Keras' {theirs:.5f}"
assert final_loss < MAX_LOSS, (f"the fitted loss {final_loss:.3f} is not below {MAX_LOSS}: "
                               f"the model has not learned how damage depends on temperature")
assert slope < 0, "the model should say: colder means more O-ring damage"
assert p_launch > MIN_P_31F, f"P(damage at {LAUNCH_F} °F) = {p_launch:.3f}, expected above {MIN_P_31F}"
print(f"All checks passed: loss {final_loss:.3f} (limit {MAX_LOSS}), "
      f"P(damage at {LAUNCH_F:.0f} °F) = {p_launch:.3f}.")
