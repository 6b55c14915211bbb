# %% [markdown]
# # 02 · Linear regression with a slider
#
# **Goal.** Understand what "training a model" means on the smallest model there
# is, a straight line: a *loss* measures how wrong the model is, and *gradient
# descent* turns the knobs (the parameters) in the direction that makes the loss
# smaller. First you turn the knobs yourself, with sliders; then TensorFlow does it
# for you with `tf.GradientTape`; finally Keras does the whole job in three lines.
#
# **The model.** For an input $x$ the line predicts $\hat y = a x + b$, with slope
# $a$ and intercept $b$. On $N$ points $(x_i, y_i)$ its loss is the **mean squared
# error**
#
# $$ \mathrm{MSE}(a, b) = \frac{1}{N} \sum_{i=1}^{N} \left( a x_i + b - y_i \right)^2 . $$

# %% tags=["parameters"] smoke={"STEPS": 100, "EPOCHS": 100} untrained={"LEARNING_RATE": 0.0, "STEPS": 5, "EPOCHS": 5}
N_POINTS = 50  # points in the data set
SEED = 0  # seed of the random data: change it for another data set
LEARNING_RATE = 0.02  # step size of gradient descent
STEPS = 500  # gradient-descent steps with GradientTape
EPOCHS = 300  # epochs of the Keras fit (one step per epoch on all the points)
MAX_MSE = 69.3  # the final MSE must be below this (the older course reached 69.3)

# %%
import io

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import display

keras.utils.set_random_seed(SEED)

# %% [markdown]
# ## 1. The data
#
# We make the data ourselves, so we know the truth: $y = 1.65\,x + 3.8$ plus
# Gaussian noise with standard deviation 8. No line can explain the noise, so even
# the true line has an MSE of about $8^2 = 64$.

# %%
TRUE_SLOPE, TRUE_INTERCEPT, NOISE_SD = 1.65, 3.8, 8.0
rng = np.random.default_rng(SEED)
x = rng.uniform(-10, 10, N_POINTS).astype("float32")
y = (TRUE_SLOPE * x + TRUE_INTERCEPT + rng.normal(0, NOISE_SD, N_POINTS)).astype("float32")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.scatter(x, y, s=15)
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title(f"{N_POINTS} noisy points")
plt.show()

# %% [markdown]
# ## 2. Fit by hand
#
# Move the sliders. The left plot shows the line and its errors (the residuals,
# red); the right plot shows the loss for every slope and intercept, darker is
# better, with your choice as a white cross. Try to get the MSE as low as you can.
# Notice that the loss reacts much more to the slope than to the intercept: a
# step of 0.5 in $a$ costs far more than a step of 0.5 in $b$. (Why? Each $x_i$
# multiplies $a$, and here $|x_i|$ goes up to 10.)


# %%
def mse(a, b):
    """Mean squared error of the line y = a x + b on the data (NumPy)."""
    return float(np.mean((a * x + b - y) ** 2))


slopes = np.linspace(-1.0, 4.0, 101)
intercepts = np.linspace(-10.0, 15.0, 101)
loss_grid = np.array([[mse(a, b) for a in slopes] for b in intercepts])

slope_slider = widgets.FloatSlider(value=0.0, min=-1.0, max=4.0, step=0.05, description="slope a")
intercept_slider = widgets.FloatSlider(value=0.0, min=-10.0, max=15.0, step=0.1, description="intercept b")
loss_readout = widgets.HTML()
picture = widgets.Image(format="png")
for widget, name in [(slope_slider, "slope"), (intercept_slider, "intercept"),
                     (loss_readout, "mse-readout"), (picture, "line-plot")]:
    widget.add_class(f"dlab-{name}")  # names the browser test finds them by


def show_line(change=None):
    """Show the MSE of the sliders' line, and draw the line and the loss landscape."""
    a, b = slope_slider.value, intercept_slider.value
    loss_readout.value = f"<b>MSE = {mse(a, b):.1f}</b>"
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    grid = np.linspace(-10, 10, 2)
    left.vlines(x, y, a * x + b, color="tab:red", linewidth=0.8)
    left.scatter(x, y, s=12)
    left.plot(grid, a * grid + b, color="black")
    left.set(xlabel="x", ylabel="y", ylim=(y.min() - 15, y.max() + 15), title=f"y = {a:.2f} x + {b:.1f}")
    right.imshow(np.log(loss_grid), origin="lower", aspect="auto", cmap="viridis",
                 extent=(slopes[0], slopes[-1], intercepts[0], intercepts[-1]))
    right.plot(a, b, "wx", markersize=12, mew=3)
    right.set(xlabel="slope a", ylabel="intercept b", title="log MSE")
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")
    plt.close(fig)
    picture.value = png.getvalue()  # the image widget updates in place


slope_slider.observe(show_line, names="value")
intercept_slider.observe(show_line, names="value")
show_line()
display(widgets.VBox([slope_slider, intercept_slider, loss_readout, picture]))

# %% [markdown]
# ## 3. Gradient descent
#
# Instead of guessing, follow the slope of the loss downhill. The **gradient**
# $\nabla \mathrm{MSE} = \left(\frac{\partial \mathrm{MSE}}{\partial a},
# \frac{\partial \mathrm{MSE}}{\partial b}\right)$ points uphill, so each step
# moves the parameters a little against it:
#
# $$ a \leftarrow a - \eta \frac{\partial \mathrm{MSE}}{\partial a}, \qquad
#    b \leftarrow b - \eta \frac{\partial \mathrm{MSE}}{\partial b}, $$
#
# with the **learning rate** $\eta$. Here the derivatives are easy
# ($\frac{\partial \mathrm{MSE}}{\partial b} = \frac{2}{N}\sum_i (a x_i + b - y_i)$),
# but for a network with millions of parameters nobody writes them by hand.
# TensorFlow does: whatever you compute inside a `tf.GradientTape` block is
# recorded, and `tape.gradient(loss, [a, b])` works the derivatives out backwards
# through the recording (*automatic differentiation*).
#
# **Your turn:** complete one training step. Compute the loss inside the tape,
# ask the tape for the gradients, and move each variable with `assign_sub`.
#
# <details><summary>Hint</summary>
#
# Open the tape with `with tf.GradientTape() as tape:` and compute `loss` inside
# it, as the MSE above but with TensorFlow operations (`tf.reduce_mean`).
# `tape.gradient(loss, [a, b])` then returns both derivatives at once, and
# `a.assign_sub(LEARNING_RATE * ...)` moves `a` against its own.
#
# </details>

# %%
a = tf.Variable(0.0)
b = tf.Variable(0.0)
x_tf, y_tf = tf.constant(x), tf.constant(y)


def train_step():
    ### BEGIN SOLUTION  record the loss on a tape, ask it for the two derivatives, step each variable against its own
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((a * x_tf + b - y_tf) ** 2)
    grad_a, grad_b = tape.gradient(loss, [a, b])
    a.assign_sub(LEARNING_RATE * grad_a)
    b.assign_sub(LEARNING_RATE * grad_b)
    ### END SOLUTION
    return loss


history = {"loss": [], "a": [], "b": []}
for step in range(STEPS):
    history["a"].append(a.numpy())
    history["b"].append(b.numpy())
    history["loss"].append(train_step().numpy())
final_mse = mse(a.numpy(), b.numpy())
print(f"after {STEPS} steps: a = {a.numpy():.3f}, b = {b.numpy():.3f}, MSE = {final_mse:.2f}")

# %% [markdown]
# **What do you see, and why?** Look at the loss curve and at the path of the
# parameters on the loss landscape below: which of the two is found first?
#
# <details><summary>Answer</summary>
#
# The loss falls fast at first, then slowly: the slope is found within a few
# steps, the intercept takes much longer. On the loss landscape you see why: the
# loss is steep in $a$ and flat in $b$, so the path first moves almost only in
# $a$, then creeps along the flat floor of the valley in $b$. One learning rate
# has to suit both directions, and the steep one sets the limit.
#
# </details>

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
left.plot(history["loss"])
left.set(xlabel="step", ylabel="MSE", yscale="log", title="training loss")
right.contourf(slopes, intercepts, np.log(loss_grid), levels=30, cmap="viridis")
right.plot(history["a"], history["b"], "w.-", markersize=3)
right.plot(TRUE_SLOPE, TRUE_INTERCEPT, "r*", markersize=12, label="true line")
right.set(xlabel="slope a", ylabel="intercept b", title="the path of gradient descent")
right.legend(loc="lower right")
plt.show()

# %% [markdown]
# For a straight line there is also a closed-form answer, *least squares*
# (`np.polyfit`). Gradient descent should land on it: that is how we know it works.
# Note that even the best line is not the true line: 50 noisy points do not pin it
# down exactly.

# %%
best_a, best_b = np.polyfit(x, y, deg=1)
best_mse = mse(best_a, best_b)
print(f"least squares:    a = {best_a:.3f}, b = {best_b:.3f}, MSE = {best_mse:.2f}")
print(f"gradient descent: a = {a.numpy():.3f}, b = {b.numpy():.3f}, MSE = {final_mse:.2f}")
print(f"true line:        a = {TRUE_SLOPE:.3f}, b = {TRUE_INTERCEPT:.3f}, MSE = {mse(TRUE_SLOPE, TRUE_INTERCEPT):.2f}")

# %% [markdown]
# ## 4. The same with Keras
#
# A straight line is a `Dense` layer with one input and one output: its *kernel*
# is $a$, its *bias* is $b$. Keras writes the training loop for us: `compile`
# chooses the loss and the optimiser (plain gradient descent is `SGD`), `fit`
# runs the steps. Each pass over the data is an *epoch*. We hand the data over as
# a `tf.data.Dataset` in one batch of all 50 points, so an epoch is one step on all
# of them, as in our loop. (Larger models take many steps per epoch on small
# *mini-batches*: notebook 04. `fit` also takes NumPy arrays, but for many tiny
# epochs a dataset made once is much faster.)

# %%
model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE), loss="mse")
points = tf.data.Dataset.from_tensor_slices((x[:, None], y)).batch(N_POINTS)
fit = model.fit(points, epochs=EPOCHS, shuffle=False, verbose=0)
kernel, bias = model.layers[0].get_weights()
keras_mse = mse(kernel.item(), bias.item())
print(f"Keras: a = {kernel.item():.3f}, b = {bias.item():.3f}, MSE = {keras_mse:.2f}")

# %% [markdown]
# ## What to try next
#
# - Set `LEARNING_RATE` to 0.001, then 0.05: too small crawls, too large
#   oscillates and blows up. Where is the edge, and why is it where the valley is
#   steepest?
# - Move the data to the right: `x = rng.uniform(0, 20, ...)`. Gradient descent gets
#   much slower. Why? (Look at the shape of the valley.) Subtracting the mean of $x$
#   first fixes it: that is why we *standardise* inputs.
# - Put `@tf.function` above `def train_step():` (notebook 01) and time the loop
#   with `%%time` before and after.
# - Replace `SGD` by `keras.optimizers.Adam(learning_rate=0.5)` in the Keras model.
#
# ## Checks

# %%
assert final_mse < MAX_MSE, f"gradient descent ended at MSE {final_mse:.1f}, not below {MAX_MSE}"
assert final_mse < 1.05 * best_mse + 1.0, f"MSE {final_mse:.1f} is far from the least-squares {best_mse:.1f}"
assert history["loss"][-1] < history["loss"][0], "the loss did not go down"
assert keras_mse < MAX_MSE, f"the Keras model ended at MSE {keras_mse:.1f}, not below {MAX_MSE}"
print(f"All checks passed: MSE {final_mse:.1f} (gradient descent), {keras_mse:.1f} (Keras), "
      f"limit {MAX_MSE}.")
