# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Data preparation: images to HDF5
#
# **Goal.** Turn a folder tree of image files into one compact HDF5 file with
# a training, a validation and a test split, and read it back in batches.
# The faces set of notebooks 09–11 was made with the same steps when the lab
# image was built (`dlab_course/assets.py` reads the Labeled Faces in the Wild
# photos straight from their archive with OpenCV, crops and resizes them, and
# writes them with h5py). Only its split is simpler: LFW holds no near-duplicate
# photos, so each person's photos are split at random there.
#
# Image data sets usually arrive as thousands of files in one folder per class:
#
# ```
# faces/
#   George_W_Bush/0001_a.jpg
#   George_W_Bush/0001_b.jpg
#   Colin_Powell/0002_a.jpg
#   ...
# ```
#
# Opening thousands of small files in every epoch is slow, sizes differ, and the
# split has to be decided once and kept. So we do the work once:
#
# 1. **scan** the tree: one row per file with its class and its *group*;
# 2. **read** each image with OpenCV and resize it to one size;
# 3. **split** by group, so near-duplicates never sit on both sides of the split;
# 4. **write** the arrays into an HDF5 file with h5py, one image at a time;
# 5. **read back** in batches, without loading the whole file.

# %% tags=["parameters"] smoke={"MAX_PER_PERSON": 8, "BATCH_SIZE": 16} untrained={"SPLIT_BY": "file"}
IMAGE_DIR = ""         # a tree IMAGE_DIR/<class>/<photo>_<variant>.jpg; empty: make one from the course faces
WORK_DIR = "dp-work"   # where the made-up tree and the HDF5 file are written
SIZE = 64              # every image is resized to SIZE x SIZE pixels
MAX_PER_PERSON = 0     # 0: every photo; N: at most N photos per person (quick runs)
VAL_FRACTION = 0.15    # share of the groups for validation
TEST_FRACTION = 0.15   # share of the groups for the test set
SPLIT_BY = "group"     # "file": split the files at random instead, and see what the checks say
BATCH_SIZE = 64
SEED = 0

# %%
import time
from pathlib import Path

import cv2
import h5py
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

from dlab_course import data

work = Path(WORK_DIR)
work.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(SEED)
print("OpenCV", cv2.__version__, "| h5py", h5py.__version__, "| HDF5", h5py.version.hdf5_version)

# %% [markdown]
# ## 0. A folder tree to work on
#
# If you have your own images, set `IMAGE_DIR` in the parameters cell to a
# folder with one subfolder per class. Otherwise we make a realistic tree from
# the course faces: each face becomes a *photo*, saved as a JPEG at a random
# size (`_a`), together with a zoomed-in crop of the same photo (`_b`), the
# kind of near-duplicate that scraped data sets are full of.

# %%
def make_image_tree(root, max_per_person=0, seed=0):
    """Write the course faces as root/<name>/<photo>_<a|b>.jpg; return root."""
    faces = data.load_faces()
    images = np.concatenate([faces["x_train"], faces["x_val"], faces["x_test"]])
    labels = np.concatenate([faces["y_train"], faces["y_val"], faces["y_test"]])
    local = np.random.default_rng(seed)
    photo = 0
    for label, name in enumerate(faces["names"]):
        folder = Path(root) / name.replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        chosen = np.flatnonzero(labels == label)
        if max_per_person:
            chosen = chosen[:max_per_person]
        for i in chosen:
            photo += 1
            bgr = cv2.cvtColor(images[i], cv2.COLOR_RGB2BGR)
            side = int(local.integers(80, 161))
            cv2.imwrite(str(folder / f"{photo:05d}_a.jpg"), cv2.resize(bgr, (side, side), interpolation=cv2.INTER_CUBIC))
            m = bgr.shape[0] // 10  # crop a margin of 10 % on each side
            crop = bgr[m:-m, m:-m]
            cv2.imwrite(str(folder / f"{photo:05d}_b.jpg"), cv2.resize(crop, (side, side), interpolation=cv2.INTER_CUBIC))
    return Path(root)


if IMAGE_DIR:
    image_dir = Path(IMAGE_DIR)
else:
    image_dir = work / "faces-tree"
    if image_dir.exists():
        print("reusing the tree made earlier; delete the folder to make it again")
    else:
        make_image_tree(image_dir, MAX_PER_PERSON, SEED)
print("images under", image_dir)

# %% [markdown]
# ## 1. Scan the tree
#
# One row per file: its path, its class (the folder name) and its group. Here
# the group is the photo number before the underscore: `00017_a.jpg` and
# `00017_b.jpg` are two versions of photo 17. In other data sets the group is
# the patient, the recording session, the video or the camera: whatever makes
# two files more alike than two random files of the same class.

# %%
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def scan_tree(root):
    """Return a DataFrame with path, name, label and group, one row per image file."""
    rows = []
    names = sorted(d.name for d in Path(root).iterdir() if d.is_dir())
    for label, name in enumerate(names):
        for path in sorted((Path(root) / name).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                rows.append({"path": str(path), "name": name, "label": label,
                             "group": f"{name}/{path.stem.split('_')[0]}"})
    return pd.DataFrame(rows), names


files, names = scan_tree(image_dir)
print(len(files), "files,", files["group"].nunique(), "groups,", len(names), "classes")
files.head()

# %%
ax = files["name"].value_counts().loc[names].plot.barh(figsize=(6, 3))
ax.set_xlabel("files")
ax.set_title("files per class")
plt.show()

# %% [markdown]
# ## 2. Read one image with OpenCV
#
# Three traps:
#
# * `cv2.imread` returns **`None`** for a missing or broken file instead of
#   raising an error. Check it, or the crash comes much later and far away.
# * OpenCV stores colour as **BGR**; matplotlib and Keras expect RGB.
#   `cv2.cvtColor(img, cv2.COLOR_BGR2RGB)` swaps the channels.
# * `cv2.resize` takes the size as **(width, height)**. To shrink, use
#   `interpolation=cv2.INTER_AREA`, which averages pixels instead of skipping them.
#
# **Exercise.** Complete `load_image`: read the file, check it, convert to RGB
# and resize to `size x size`.
#
# <details><summary>Hint</summary>
#
# `cv2.imread(str(path), cv2.IMREAD_COLOR)` gives an array or `None`; raise an
# `OSError` naming the path when it is `None`. Then `cv2.cvtColor(..., cv2.COLOR_BGR2RGB)`
# and `cv2.resize(..., (size, size), interpolation=cv2.INTER_AREA)`.
#
# </details>

# %%
def load_image(path, size):
    """Read an image file as a uint8 RGB array of shape [size, size, 3]."""
    ### BEGIN SOLUTION  read the file, stop with an error when reading failed, put the colour channels in RGB order, shrink it
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot read image {path}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    ### END SOLUTION


first = files.iloc[0]
raw = cv2.imread(first["path"])
img = load_image(first["path"], SIZE)
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
axes[0].imshow(raw)
axes[0].set_title(f"imread as is (BGR) {raw.shape[1]}x{raw.shape[0]}")
axes[1].imshow(raw[..., ::-1])
axes[1].set_title("BGR -> RGB")
axes[2].imshow(img)
axes[2].set_title(f"resized {SIZE}x{SIZE}")
for a in axes:
    a.axis("off")
plt.show()
assert img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8

# %% [markdown]
# ## 3. Split by group
#
# A random split of the *files* puts `00017_a.jpg` into training and
# `00017_b.jpg` into the test set. The network has then seen the test photo;
# the test score measures memory, not generalisation, and it is too good.
#
# So we split the *groups*: every file of one group goes to the same split.
# scikit-learn's `GroupShuffleSplit` does this. We use it twice: first test
# versus the rest, then validation versus training inside the rest. The
# fractions are fractions of the groups, so the file counts come out close to
# them, not exactly.
#
# **Exercise.** Complete `split_by_group` so that it returns three index arrays
# (rows of `table`) for training, validation and test.
#
# <details><summary>Hint</summary>
#
# `GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)` has a
# method `.split(X, groups=groups)`; `next(...)` of it gives two arrays of row
# numbers, the rest and the test rows. Split the rest the same way, with
# `groups[rest]`: its row numbers then count within `rest`, so map them back with
# `rest[...]`. Of the rest, the validation share is `val_fraction / (1 - test_fraction)`.
#
# </details>

# %%
def split_by_group(table, val_fraction, test_fraction, seed=0):
    """Return (train, val, test) row indices of table; no group is in two of them."""
    groups = table["group"].to_numpy()
    ### BEGIN SOLUTION  first set the test groups apart, then the validation groups from what is left
    outer = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    rest, test = next(outer.split(table, groups=groups))
    inner = GroupShuffleSplit(n_splits=1, test_size=val_fraction / (1 - test_fraction), random_state=seed)
    train, val = next(inner.split(rest, groups=groups[rest]))
    train, val = rest[train], rest[val]
    ### END SOLUTION
    return train, val, test


by_group = dict(zip(["train", "val", "test"], split_by_group(files, VAL_FRACTION, TEST_FRACTION, SEED)))
for split, rows in by_group.items():
    print(f"{split:5s} {len(rows):5d} files  {files['group'].iloc[rows].nunique():5d} groups")


# %% [markdown]
# How much would a naive split of the files leak? Count the test groups that
# also have a file in training:

# %%
def leaked_groups(table, train_rows, test_rows):
    """Number of groups that have files on both sides."""
    return len(set(table["group"].iloc[train_rows]) & set(table["group"].iloc[test_rows]))


def split_at_random(table, val_fraction, test_fraction, seed=0):
    """Return (train, val, test) row indices of a random split of the files, groups ignored."""
    order = np.random.default_rng(seed).permutation(len(table))
    n_test, n_val = round(test_fraction * len(table)), round(val_fraction * len(table))
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]


at_random = dict(zip(["train", "val", "test"], split_at_random(files, VAL_FRACTION, TEST_FRACTION, SEED)))
for name, chosen in (("random split of files:", at_random), ("split by group:", by_group)):
    print(f"{name:23s}{leaked_groups(files, chosen['train'], chosen['test']):4d} of "
          f"{files['group'].iloc[chosen['test']].nunique()} test groups also in training")
splits = by_group if SPLIT_BY == "group" else at_random
print("the HDF5 file gets the split by", SPLIT_BY)

# %% [markdown]
# **What do you see, and why?** How many test groups leak with the random split,
# and what would that do to a test score?
#
# <details><summary>Answer</summary>
#
# Most of them. Each photo has two files; when one of them is drawn for the test
# set, the other lands in training with a probability of about 70 %, the training
# share. A network that has seen `00017_a.jpg` recognises `00017_b.jpg` without
# knowing anything about faces in general, so the test score would be too good:
# it would measure memory, not generalisation. The split by group leaks nothing.
#
# </details>

# %% [markdown]
# ## 4. Write the HDF5 file
#
# An HDF5 file holds named, typed n-dimensional arrays (*datasets*) and small
# attributes, and h5py shows them like numpy arrays. We create each dataset
# with its final shape first and then fill it one image at a time, so the whole
# set never has to fit into memory. Options worth knowing:
#
# * `chunks=(1, SIZE, SIZE, 3)` stores each image as one block, so reading a
#   few images reads only those blocks;
# * `compression="gzip"` shrinks the file; images decode a little slower;
# * strings (the class names) need `h5py.string_dtype()`.
#
# Do not expect a smaller file than the JPEGs: JPEG throws details away, while
# the HDF5 file keeps the decoded pixels exactly. What we win is one file,
# one image size, a fixed split, and no decoding and resizing in every epoch.
#
# We write each split in a **random order**, once. The files were sorted by
# class; written that way, any run of neighbouring images would hold one
# person only. Shuffled once on disk, every contiguous slice is already a
# well-mixed batch (section 5 shows why that matters).
#
# The layout is the one `data.load_faces()` reads: `x_<split>` (uint8, N x
# SIZE x SIZE x 3), `y_<split>` (integer labels) and `names`.
#
# **Exercise.** Inside the loop, fill `x` and `y` for one split from the files.
#
# <details><summary>Hint</summary>
#
# `enumerate(rows)` gives the slot `i` in the split and the row of `table`; the
# file is `table["path"].iloc[row]`, read by `load_image` of section 2 into `x[i]`.
# The labels can go in all at once: `y[:] = ...` with the label column at `rows`.
#
# </details>

# %%
def write_h5(path, table, splits, names, size):
    """Write the images of each split into path as x_<split>, y_<split>, plus names."""
    with h5py.File(path, "w") as f:
        f.create_dataset("names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
        f.attrs["size"] = size
        for split, rows in splits.items():
            n = len(rows)
            x = f.create_dataset(f"x_{split}", shape=(n, size, size, 3), dtype="uint8",
                                 chunks=(1, size, size, 3), compression="gzip")
            y = f.create_dataset(f"y_{split}", shape=(n,), dtype="int64")
            ### BEGIN SOLUTION  each image of the split into its own slot, read as in section 2; then the labels
            for i, row in enumerate(rows):
                x[i] = load_image(table["path"].iloc[row], size)
            y[:] = table["label"].to_numpy()[rows]
            ### END SOLUTION


# shuffle each split once, so that the file on disk is in random order
splits = {split: rng.permutation(rows) for split, rows in splits.items()}
h5_path = work / "faces.h5"
start = time.perf_counter()
write_h5(h5_path, files, splits, names, SIZE)
print(f"wrote {h5_path} in {time.perf_counter() - start:.1f} s")

tree_bytes = sum(Path(p).stat().st_size for p in files["path"])
print(f"folder tree: {tree_bytes / 1e6:.2f} MB in {len(files)} files; HDF5: {h5_path.stat().st_size / 1e6:.2f} MB in one file")
with h5py.File(h5_path, "r") as f:
    for key, dataset in f.items():
        print(f"{key:8s} {str(dataset.shape):22s} {dataset.dtype}")


# %% [markdown]
# ## 5. Read it back in batches
#
# Slicing an h5py dataset reads only that part from disk: `f["x_train"][0:64]`
# loads 64 images, not the whole set. A contiguous slice is one fast read.
# A list of scattered indices, `f["x_train"][[3, 17, 40]]`, also works (the
# indices must be increasing), but h5py selects them one by one, which is
# slow.
#
# Since the file is already in random order, we get shuffled training cheaply:
# read contiguous slices and shuffle the **order of the slices** in every
# epoch (and the images inside a slice, in memory).
#
# **Exercise.** Complete `batches`: a generator that yields `(x, y)` for one
# split, each image exactly once per pass.
#
# <details><summary>Hint</summary>
#
# `x[start:start + batch_size]` reads one slice from the file (the last one may be
# shorter), and the same slice of `y` its labels. When shuffling, draw one order
# with `local.permutation(len(labels))` and apply it to both. `yield` the pair.
#
# </details>

# %%
def batches(path, split, batch_size, shuffle=True, seed=0):
    """Yield (images, labels) batches of one split of an HDF5 file, each image once."""
    local = np.random.default_rng(seed)
    with h5py.File(path, "r") as f:
        x, y = f[f"x_{split}"], f[f"y_{split}"]
        starts = np.arange(0, len(y), batch_size)
        if shuffle:
            starts = local.permutation(starts)
        for start in starts:
            ### BEGIN SOLUTION  one contiguous slice of images and labels; when shuffling, the same new order for both
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            if shuffle:
                inside = local.permutation(len(yb))
                xb, yb = xb[inside], yb[inside]
            yield xb, yb
            ### END SOLUTION


xb, yb = next(batches(h5_path, "train", BATCH_SIZE, seed=SEED))
first_batch_labels = yb
print("one batch:", xb.shape, xb.dtype, "labels", yb[:12])
cols = min(8, len(xb))
fig, axes = plt.subplots(2, cols, figsize=(1.6 * cols, 3.8), squeeze=False)
for ax, image, label in zip(axes.ravel(), xb, yb):
    ax.imshow(image)
    ax.set_title(names[label][:12], fontsize=8)
for ax in axes.ravel():
    ax.axis("off")
plt.show()

# %% [markdown]
# How fast is it? Reading the training split from the JPEG files (decode and
# resize every time), from the HDF5 file with scattered indices, and from the
# HDF5 file in contiguous slices:

# %%
train_paths = files["path"].to_numpy()[splits["train"]]
start = time.perf_counter()
from_files = np.stack([load_image(p, SIZE) for p in train_paths])
t_files = time.perf_counter() - start

start = time.perf_counter()
with h5py.File(h5_path, "r") as f:
    order = rng.permutation(len(f["y_train"]))
    for s in range(0, len(order), BATCH_SIZE):
        f["x_train"][np.sort(order[s:s + BATCH_SIZE])]
t_scattered = time.perf_counter() - start

start = time.perf_counter()
seen, labels_seen = 0, []
for xb, yb in batches(h5_path, "train", BATCH_SIZE, seed=SEED):
    seen += len(xb)
    labels_seen.append(yb)
t_slices = time.perf_counter() - start
labels_seen = np.concatenate(labels_seen)

speeds = {"JPEG files": len(from_files) / t_files,
          "HDF5, scattered indices": len(from_files) / t_scattered,
          "HDF5, contiguous slices": seen / t_slices}
for how, speed in speeds.items():
    print(f"{how:25s} {speed:10.0f} images/s")

# %% [markdown]
# A Keras model takes such a generator directly, or wrap it in
# `tf.data.Dataset.from_generator` or a `keras.utils.PyDataset` to add
# prefetching. For a set this small, `data.load_faces()` simply loads all
# of it into memory. It reads `$DLAB_DATA/faces.h5`, so pointing `DLAB_DATA`
# at our folder makes the course loader read the file we just wrote:

# %%
import os

course_data = os.environ.get("DLAB_DATA")
os.environ["DLAB_DATA"] = str(work)
try:
    ours = data.load_faces()
finally:
    if course_data is None:
        del os.environ["DLAB_DATA"]
    else:
        os.environ["DLAB_DATA"] = course_data
print({key: getattr(value, "shape", len(value)) for key, value in ours.items()})

# %% [markdown]
# ## Checks

# %%
with h5py.File(h5_path, "r") as f:
    stored_names = [n.decode() if isinstance(n, bytes) else n for n in f["names"][...]]
    x_train_h5 = f["x_train"][...]
    y_train_h5 = f["y_train"][...]
    sizes = {split: len(f[f"y_{split}"]) for split in splits}

all_rows = np.concatenate(list(splits.values()))
assert sorted(all_rows) == list(range(len(files))), "every file is in exactly one split"
for a, b in [("train", "val"), ("train", "test"), ("val", "test")]:
    assert leaked_groups(files, splits[a], splits[b]) == 0, f"a group is in both {a} and {b}"
assert sizes == {split: len(rows) for split, rows in splits.items()}
assert stored_names == names
assert ours["names"] == names and len(ours["y_test"]) == len(splits["test"]), "data.load_faces() reads our file"
assert np.array_equal(x_train_h5, from_files), "the HDF5 images equal the images read from the files"
assert np.array_equal(y_train_h5, files["label"].to_numpy()[splits["train"]])
assert len(np.unique(first_batch_labels)) > 1, "a batch mixes several people"
assert seen == len(splits["train"]), "one pass of batches sees every training image once"
assert np.array_equal(np.bincount(labels_seen, minlength=len(names)),
                      np.bincount(y_train_h5, minlength=len(names)))
print("all checks passed")

# %% [markdown]
# ## What to try next
#
# * Point `IMAGE_DIR` at a folder of your own photos (one subfolder per class)
#   and train the network of notebook 10 on the file you get.
# * Leave out `compression="gzip"`, or use `compression="lzf"`: compare file
#   size and reading speed.
# * Try `chunks=(64, SIZE, SIZE, 3)`: reading sorted random indices now touches
#   many more bytes than it uses. When is that a good trade?
# * Set `SPLIT_BY = "file"` and run everything again: which check fails? Then
#   train notebook 09's network on both files and compare the test scores.
#   Which one would you believe?
# * Keep the aspect ratio: pad the shorter side (`cv2.copyMakeBorder`) before
#   resizing instead of stretching the image.
