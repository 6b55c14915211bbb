# %% [markdown]
# # 15 · Unsupervised features in 2D
#
# **Goal.** Look at a data set *without its labels* and see its structure: squeeze
# each image into a point in the plane and check whether images of the same class
# land close together. We compare two ways of squeezing, **PCA** and **t-SNE**, on
# two kinds of input, **raw pixels** and **features of a pretrained CNN**, for
# MNIST digits and CIFAR-10 photos.
#
# The labels are used only to colour the points afterwards, never to compute them.
# What you will see is the lesson of the last days in one picture: for photos,
# pixels are a poor description, and a network trained on ImageNet gives a much
# better one, even for classes it was never trained on.

# %% tags=["parameters"] smoke={"PER_CLASS": 30, "IMAGE_SIZE": 32, "TSNE_STEPS": 500, "MIN_MNIST_SCORE": 0.5, "MIN_CIFAR_SCORE": 0.4, "MIN_FEATURE_GAIN": null} untrained={"SHUFFLE_LABELS": true, "PER_CLASS": 20, "TSNE_STEPS": 250}
PER_CLASS = 100  # images per class and data set (10 classes each)
IMAGE_SIZE = 96  # side the images are resized to for the CNN
PERPLEXITY = 30  # t-SNE: roughly, how many neighbours each point cares about
TSNE_STEPS = 1000  # t-SNE: gradient steps (at least 250)
MIN_MNIST_SCORE = 0.7  # 5-NN accuracy in the t-SNE map of raw MNIST pixels must reach this (chance 0.1)
MIN_CIFAR_SCORE = 0.4  # ... and in the t-SNE map of CIFAR-10 CNN features
MIN_FEATURE_GAIN = 0.1  # CNN features must beat raw pixels on CIFAR-10 by this much (None: not checked)
SHUFFLE_LABELS = False  # True: shuffle the labels after sampling, so that no map can show the classes

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from dlab_course import data

keras.utils.set_random_seed(0)
CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# %% [markdown]
# ## 1. Two small, balanced samples
#
# t-SNE's cost grows with the square of the number of points, so we take
# `PER_CLASS` images of each class from the training sets.


# %%
def balanced_sample(x, y, per_class, seed=0):
    """`per_class` random examples of each class, shuffled: (x, y)."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y).ravel()
    picks = np.concatenate([rng.choice(np.flatnonzero(y == k), per_class, replace=False) for k in np.unique(y)])
    rng.shuffle(picks)
    return x[picks], y[picks]


(mnist_x, mnist_y), _ = data.load_mnist()
(cifar_x, cifar_y), _ = data.load_cifar10()
mnist_x, mnist_y = balanced_sample(mnist_x, mnist_y, PER_CLASS)
cifar_x, cifar_y = balanced_sample(cifar_x, cifar_y, PER_CLASS)
if SHUFFLE_LABELS:  # an experiment: every image keeps its pixels but gets a random one of the labels
    mnist_y, cifar_y = np.random.default_rng(1).permutation(mnist_y), np.random.default_rng(2).permutation(cifar_y)
print("MNIST", mnist_x.shape, " CIFAR-10", cifar_x.shape)

fig, axes = plt.subplots(2, 10, figsize=(12, 2.8))
for k in range(10):
    axes[0, k].imshow(mnist_x[mnist_y == k][0], cmap="gray")
    axes[1, k].imshow(cifar_x[cifar_y == k][0])
    axes[1, k].set_title(CIFAR_NAMES[k], fontsize=8)
for ax in axes.ravel():
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. PCA by hand
#
# Principal component analysis finds the directions in which the data varies most.
# With the data centred, $\tilde X = X - \bar x$ ($n$ rows, $d$ columns), the
# singular value decomposition $\tilde X = U S V^\top$ gives them as the rows of
# $V^\top$, sorted by the singular values $s_1 \ge s_2 \ge \dots$. The 2-D map is
# the projection onto the first two, $\tilde X V_{:, :2}$, and the share of the
# variance it keeps is $(s_1^2 + s_2^2) / \sum_i s_i^2$.
#
# PCA is *linear*: it can only rotate and flatten, never bend.
#
# **Your turn:** complete `pca_2d`.
#
# <details><summary>Hint</summary>
#
# `centred = x - x.mean(axis=0)`; `_, s, vt = np.linalg.svd(centred,
# full_matrices=False)`; the points are `centred @ vt[:2].T`, the share is the
# sum of the first two `s ** 2` over the sum of all.
#
# </details>


# %%
def pca_2d(x):
    """Project the rows of x onto its first two principal components: (points [n, 2], variance share)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    ### BEGIN SOLUTION  centre every column, decompose, project onto the two leading directions; the variance share follows from the singular values
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    points = centred @ vt[:2].T
    share = (s[:2] ** 2).sum() / (s ** 2).sum()
    ### END SOLUTION
    return points, share


mnist_pca, mnist_share = pca_2d(mnist_x / 255.0)
reference = PCA(2).fit(mnist_x.reshape(len(mnist_x), -1) / 255.0)
print(f"our PCA keeps {mnist_share:.1%} of the variance, scikit-learn's {reference.explained_variance_ratio_.sum():.1%}")

# %% [markdown]
# ## 3. t-SNE, and a number for "well separated"
#
# t-SNE (van der Maaten & Hinton, 2008) does not project; it *places* the points.
# It turns distances in the original space into neighbour probabilities (points
# close to $x_i$ are likely neighbours of $x_i$, with a width set by the
# *perplexity*), then moves the 2-D points until their neighbour probabilities
# match. It keeps neighbourhoods, not distances: cluster sizes and the gaps between
# clusters in a t-SNE map mean little.
#
# To compare maps with a number, we ask: how often is a point's class the majority
# class of its 5 nearest neighbours *in the map*? (5-fold cross-validated 5-NN
# accuracy; chance is 0.1.)


# %%
def tsne_2d(x):
    """A 2-D t-SNE map of the rows of x."""
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    tsne = TSNE(2, perplexity=min(PERPLEXITY, len(x) // 4), max_iter=TSNE_STEPS, init="pca", random_state=0)
    with threadpool_limits(1, user_api="openmp"):  # its threads crawl when the CPU is shared
        return tsne.fit_transform(x)


def neighbour_score(points, labels):
    """Cross-validated 5-nearest-neighbour accuracy of the labels in the 2-D map."""
    return cross_val_score(KNeighborsClassifier(5), points, labels, cv=5).mean()


def scatter(ax, points, labels, title):
    """Points coloured by class, with the class number at each class's median."""
    ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=8)
    for k in range(10):
        cx, cy = np.median(points[labels == k], axis=0)
        ax.text(cx, cy, str(k), fontsize=12, weight="bold", ha="center", va="center",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", alpha=0.7, lw=0))
    ax.set_title(f"{title}\n5-NN accuracy {neighbour_score(points, labels):.2f}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


mnist_tsne = tsne_2d(mnist_x / 255.0)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
scatter(axes[0], mnist_pca, mnist_y, f"MNIST pixels, PCA ({mnist_share:.0%} of variance)")
scatter(axes[1], mnist_tsne, mnist_y, "MNIST pixels, t-SNE")
plt.show()

# %% [markdown]
# **What do you see, and why?** Compare the two MNIST maps. Which digits
# does each method keep apart, and which does it mix?
#
# <details><summary>Answer</summary>
#
# On digits, raw pixels already carry the classes: t-SNE separates most of
# them into islands without ever seeing a label, while PCA's two straight
# directions leave them overlapping, with only the most different digits (0
# and 1, which differ in how much ink they have and where) at opposite ends.
# Two directions of 784 keep only a small share of the variance; t-SNE keeps
# neighbourhoods instead, and neighbours in pixel space are mostly the same
# digit. The digits t-SNE still mixes are the ones that are written alike:
# 4 and 9, 3, 5 and 8.
#
# </details>
#
# Now the photos.

# %%
cifar_pca, cifar_share = pca_2d(cifar_x / 255.0)
cifar_tsne = tsne_2d(cifar_x / 255.0)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
scatter(axes[0], cifar_pca, cifar_y, f"CIFAR-10 pixels, PCA ({cifar_share:.0%} of variance)")
scatter(axes[1], cifar_tsne, cifar_y, "CIFAR-10 pixels, t-SNE")
plt.show()

# %% [markdown]
# ## 4. Features of a pretrained CNN
#
# `data.backbone()` is EfficientNetB0 trained on ImageNet (1.3 million photos, 1000
# classes) with its classifier cut off: for each image it returns the 1280 numbers
# its last layer computes, averaged over the image. It takes RGB images with values
# 0..255 of the size we build it for and does its own normalisation.
#
# **Your turn:** complete `cnn_features`: make the images RGB (MNIST is grey:
# repeat the channel 3 times), resize them to `IMAGE_SIZE` with
# `tf.image.resize`, and run the backbone in batches with `predict`.
#
# <details><summary>Hint</summary>
#
# `np.asarray(images, dtype=np.float32)`; if its `ndim` is 3, `np.repeat(x[...,
# None], 3, axis=-1)`; `tf.image.resize(x, (IMAGE_SIZE, IMAGE_SIZE)).numpy()`;
# `backbone.predict(x, batch_size=64, verbose=0)`.
#
# </details>

# %%
backbone = data.backbone(input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
print(f"backbone: {backbone.count_params():,} parameters, output {backbone.output_shape}")


def cnn_features(images):
    """Backbone features [n, 1280] of uint8 images [n, h, w] or [n, h, w, 3]."""
    ### BEGIN SOLUTION  grey images get three equal colour channels; enlarge every image to the size the network is built for, then let it run over them in batches
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = np.repeat(x[..., None], 3, axis=-1)
    x = tf.image.resize(x, (IMAGE_SIZE, IMAGE_SIZE)).numpy()
    return backbone.predict(x, batch_size=64, verbose=0)
    ### END SOLUTION


mnist_features = cnn_features(mnist_x)
cifar_features = cnn_features(cifar_x)
print("features:", mnist_features.shape, cifar_features.shape)

# %% [markdown]
# ## 5. All eight maps
#
# Same images, same methods; only the description of each image changes.

# %%
maps = {
    ("MNIST", "pixels", "PCA"): (mnist_pca, mnist_y),
    ("MNIST", "pixels", "t-SNE"): (mnist_tsne, mnist_y),
    ("CIFAR-10", "pixels", "PCA"): (cifar_pca, cifar_y),
    ("CIFAR-10", "pixels", "t-SNE"): (cifar_tsne, cifar_y),
}
for name, features, labels in [("MNIST", mnist_features, mnist_y), ("CIFAR-10", cifar_features, cifar_y)]:
    maps[name, "CNN features", "PCA"] = (pca_2d(features)[0], labels)
    maps[name, "CNN features", "t-SNE"] = (tsne_2d(features), labels)

fig, axes = plt.subplots(2, 4, figsize=(18, 9))
for ax, ((name, kind, method), (points, labels)) in zip(axes.ravel(), maps.items()):
    scatter(ax, points, labels, f"{name} {kind}, {method}")
plt.tight_layout()
plt.show()

scores = {key: neighbour_score(points, labels) for key, (points, labels) in maps.items()}
print(f"{'':30s}{'PCA':>8s}{'t-SNE':>8s}")
for name in ["MNIST", "CIFAR-10"]:
    for kind in ["pixels", "CNN features"]:
        print(f"{name + ' ' + kind:30s}{scores[name, kind, 'PCA']:8.2f}{scores[name, kind, 't-SNE']:8.2f}")

# %% [markdown]
# **What do you see, and why?** Compare the CIFAR-10 maps from pixels with
# those from CNN features, and the MNIST maps from pixels with those from CNN
# features.
#
# <details><summary>Answer</summary>
#
# On CIFAR-10, pixels mostly encode colour and brightness: sky and sea put
# airplanes and ships together, green backgrounds put frogs and deer together,
# and the classes are mixed. The CNN features, trained for other photos, pull
# many classes apart, and the animals often end up on one side, the vehicles
# on the other: the network describes *what* is in the photo. This is why
# transfer learning works (notebooks 11 and 16). On MNIST the difference is
# much smaller: the digits are already well described by their pixels, so
# there is little left to gain, and features made for photos of objects meet
# small grey digits blown up to three channels.
#
# </details>
#
# ## What to try next
#
# - t-SNE beats PCA everywhere; but PCA is exact, fast, and can map *new* points,
#   t-SNE cannot. A common recipe: PCA to 50 dimensions, then t-SNE.
# - Change `PERPLEXITY` to 5 and to 100. Does the picture change its story?
# - Colour the CIFAR-10 feature map by "animal vs vehicle" instead of the class.
# - Try `IMAGE_SIZE = 224`, the size EfficientNetB0 was trained at.
#
# ## Checks

# %%
mnist_pixels_score = scores["MNIST", "pixels", "t-SNE"]
cifar_pixels_score = scores["CIFAR-10", "pixels", "t-SNE"]
cifar_features_score = scores["CIFAR-10", "CNN features", "t-SNE"]
assert mnist_pixels_score >= MIN_MNIST_SCORE, f"MNIST pixels t-SNE: 5-NN {mnist_pixels_score:.2f} < {MIN_MNIST_SCORE}"
assert cifar_features_score >= MIN_CIFAR_SCORE, f"CIFAR-10 features t-SNE: 5-NN {cifar_features_score:.2f} < {MIN_CIFAR_SCORE}"
if MIN_FEATURE_GAIN is None:  # smoke data ships an untrained backbone: its features have nothing to gain
    print("feature gain not checked: the backbone's weights are not the ImageNet ones")
else:
    assert cifar_features_score >= cifar_pixels_score + MIN_FEATURE_GAIN, (
        f"CIFAR-10: CNN features ({cifar_features_score:.2f}) should beat pixels ({cifar_pixels_score:.2f}) by {MIN_FEATURE_GAIN}")
assert abs(mnist_share - reference.explained_variance_ratio_.sum()) < 1e-6, "pca_2d's variance share differs from scikit-learn's"
assert np.allclose(np.abs(mnist_pca), np.abs(reference.transform(mnist_x.reshape(len(mnist_x), -1) / 255.0)), atol=1e-6), \
    "pca_2d's points differ from scikit-learn's (up to sign)"
assert mnist_features.shape == (len(mnist_x), 1280), f"MNIST features have shape {mnist_features.shape}"
print("All checks passed.")
