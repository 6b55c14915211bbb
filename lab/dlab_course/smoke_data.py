"""Write small smoke data with real signal, laid out like the real assets.

    python -m dlab_course.smoke_data OUTDIR [--no-weights]

then use KERAS_HOME=OUTDIR/keras DLAB_DATA=OUTDIR/data. Everything is made here
from a fixed seed (no network): MNIST-shaped digits from scikit-learn's bundled
8x8 digits, ten learnable colour-and-shape classes in the CIFAR-10 layout, an
untrained EfficientNetB0 in the weights file's place, eight synthetic faces and
a generated text.
"""

import argparse
import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np

from . import data

SEED = 1234
FACE_PEOPLE = 8
FACE_SPLIT = {"train": 40, "val": 10, "test": 10}  # images per person


def _shift_into(canvas_size, image, rng, jitter):
    """Place image in a zero canvas, centred, moved by up to jitter pixels."""
    canvas = np.zeros((canvas_size, canvas_size), dtype=np.float32)
    h, w = image.shape
    top = (canvas_size - h) // 2 + rng.integers(-jitter, jitter + 1)
    left = (canvas_size - w) // 2 + rng.integers(-jitter, jitter + 1)
    canvas[top:top + h, left:left + w] = image
    return canvas


def make_mnist(rng):
    """MNIST-shaped (uint8 [N,28,28], labels uint8) from scikit-learn's 1797 bundled 8x8 digits."""
    import cv2
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = rng.permutation(len(digits.target))
    test_idx, train_idx = order[:297], order[297:]

    def render(indices, copies, jitter):
        xs, ys = [], []
        for _ in range(copies):
            for i in indices:
                big = cv2.resize(digits.images[i].astype(np.float32) / 16.0, (20, 20), interpolation=cv2.INTER_LINEAR)
                xs.append(_shift_into(28, big, rng, jitter))
                ys.append(digits.target[i])
        x = np.clip(np.stack(xs) * 255.0, 0, 255).astype(np.uint8)
        return x, np.asarray(ys, dtype=np.uint8)

    x_train, y_train = render(train_idx, 2, 2)
    x_test, y_test = render(test_idx, 1, 1)
    return (x_train, y_train), (x_test, y_test)


CIFAR_PALETTE = [(220, 40, 40), (40, 200, 60), (40, 80, 220), (230, 210, 40), (200, 60, 200),
                 (40, 200, 210), (240, 140, 30), (130, 70, 30), (250, 250, 250), (20, 20, 20)]


def _cifar_image(label, rng):
    import cv2

    background = rng.integers(60, 180, size=3)
    img = np.ones((32, 32, 3), dtype=np.float32) * background
    color = tuple(float(c) for c in CIFAR_PALETTE[label])
    cx, cy = rng.integers(11, 22, size=2)
    r = int(rng.integers(6, 10))
    shape = label % 5
    if shape == 0:
        cv2.circle(img, (int(cx), int(cy)), r, color, -1)
    elif shape == 1:
        cv2.rectangle(img, (int(cx - r), int(cy - r)), (int(cx + r), int(cy + r)), color, -1)
    elif shape == 2:
        img[::4, :] = color
    elif shape == 3:
        img[:, ::4] = color
    else:
        cv2.line(img, (int(cx - r), int(cy)), (int(cx + r), int(cy)), color, 3)
        cv2.line(img, (int(cx), int(cy - r)), (int(cx), int(cy + r)), color, 3)
    img += rng.normal(0, 12, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_cifar10(rng, per_class_train=200, per_class_test=50):
    """Ten learnable classes (colour and shape), uint8 [N,32,32,3], labels [N,1]."""
    def split(per_class):
        labels = np.repeat(np.arange(10), per_class)
        rng.shuffle(labels)
        x = np.stack([_cifar_image(int(k), rng) for k in labels])
        return x, labels.astype(np.uint8).reshape(-1, 1)

    return split(per_class_train), split(per_class_test)


def write_cifar10(keras_home, train, test, batches=5):
    """The Keras 3.6+ cache: datasets/cifar-10-batches-py-target{,_archive}."""
    datasets = Path(keras_home) / "datasets"
    folder = datasets / data.CIFAR_DIR / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)

    def dump(name, x, y):
        batch = {b"batch_label": name.encode(), b"labels": [int(v) for v in y.ravel()],
                 b"data": x.transpose(0, 3, 1, 2).reshape(len(x), -1).copy(),
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(len(x))]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))

    (x_train, y_train), (x_test, y_test) = train, test
    for i, (xs, ys) in enumerate(zip(np.array_split(x_train, batches), np.array_split(y_train, batches)), 1):
        dump(f"data_batch_{i}", xs, ys)
    dump("test_batch", x_test, y_test)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    meta = {b"label_names": [n.encode() for n in names], b"num_cases_per_batch": len(x_train) // batches, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=4))
    with tarfile.open(datasets / data.CIFAR_ARCHIVE, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")


def _face(person, rng):
    """One 64x64 RGB face of a synthetic person: stable traits plus pose, light and noise."""
    import cv2

    traits = np.random.default_rng(1000 + person)
    skin = traits.integers(90, 230, size=3).astype(float)
    hair = traits.integers(0, 255, size=3).astype(float)
    face_w, face_h = int(traits.integers(14, 21)), int(traits.integers(19, 25))
    eye_gap, eye_size = int(traits.integers(5, 10)), int(traits.integers(2, 4))
    hair_h = int(traits.integers(4, 14))
    mouth_w = int(traits.integers(3, 10))

    img = np.ones((64, 64, 3), dtype=np.float32) * rng.integers(40, 200, size=3)
    cx, cy = 32 + int(rng.integers(-4, 5)), 34 + int(rng.integers(-4, 5))
    scale = rng.uniform(0.9, 1.1)
    fw, fh = int(face_w * scale), int(face_h * scale)
    cv2.ellipse(img, (cx, cy - fh + hair_h // 2), (fw + 2, hair_h + 4), 0, 0, 360, tuple(hair), -1)
    cv2.ellipse(img, (cx, cy), (fw, fh), 0, 0, 360, tuple(skin), -1)
    for side in (-1, 1):
        cv2.circle(img, (cx + side * eye_gap, cy - fh // 4), eye_size, (30.0, 30.0, 30.0), -1)
    cv2.line(img, (cx - mouth_w, cy + fh // 2), (cx + mouth_w, cy + fh // 2), (120.0, 30.0, 40.0), 2)
    img *= rng.uniform(0.8, 1.2)
    img += rng.normal(0, 8, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_faces(rng):
    """Dict like data.load_faces(): a learnable eight-person set, stratified by person."""
    out = {}
    for split, per_person in FACE_SPLIT.items():
        labels = np.repeat(np.arange(FACE_PEOPLE), per_person)
        rng.shuffle(labels)
        out[f"x_{split}"] = np.stack([_face(int(k), rng) for k in labels])
        out[f"y_{split}"] = labels.astype(np.int64)
    out["names"] = [f"Synthetic Person {chr(ord('A') + i)}" for i in range(FACE_PEOPLE)]
    return out


def write_faces(path, faces, source="synthetic smoke data"):
    """Write the faces HDF5 file (the layout assets.py prepare writes for LFW)."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for split in data.FACE_SPLITS:
            f.create_dataset(f"x_{split}", data=faces[f"x_{split}"], compression="gzip")
            f.create_dataset(f"y_{split}", data=faces[f"y_{split}"])
        f.create_dataset("names", data=np.array(faces["names"], dtype=h5py.string_dtype()))
        f.attrs["source"] = source


BOOK_WORDS = {
    "who": ["the rabbit", "the queen", "alice", "the hatter", "the cat", "the duchess", "the king"],
    "did": ["ran", "walked", "laughed", "cried", "sang", "looked", "shouted", "whispered"],
    "where": ["into the garden", "down the hole", "across the hall", "under the table", "by the river"],
    "when": ["at once", "after tea", "in the morning", "before dinner", "all day long"],
}


def make_book(rng, sentences=4000):
    """A generated text with learnable structure (a small grammar), about 200 kB."""
    lines = []
    for i in range(sentences):
        who, did = rng.choice(BOOK_WORDS["who"]), rng.choice(BOOK_WORDS["did"])
        where, when = rng.choice(BOOK_WORDS["where"]), rng.choice(BOOK_WORDS["when"])
        sentence = f"{who} {did} {where} {when}." if i % 3 else f"'oh dear,' said {who}, and {did} {where}."
        lines.append(sentence[0].upper() + sentence[1:])
    paragraphs = [" ".join(lines[i:i + 5]) for i in range(0, len(lines), 5)]
    return "\n\n".join(paragraphs) + "\n"


def write_backbone(path, images):
    """An untrained EfficientNetB0 (no top) where the ImageNet weights go, in legacy HDF5.

    Its last batch norm is calibrated on the given images (uint8 [N,96,96,3]) so that
    the pooled features have unit scale: untrained, they would be around 1e-6.
    """
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=(96, 96, 3))
    top_bn = model.get_layer("top_bn")
    inputs = keras.Model(model.input, top_bn.input).predict(images.astype("float32"), verbose=0)
    mean = inputs.mean(axis=(0, 1, 2))
    var = np.maximum(inputs.var(axis=(0, 1, 2)), 1e-24)
    gamma = np.sqrt(var + top_bn.epsilon) / np.sqrt(var)
    top_bn.set_weights([gamma, np.zeros_like(mean), mean, var])
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def calibration_images(faces, cifar_train, count=64):
    """A mix of smoke faces and CIFAR images at the backbone's default 96x96."""
    import cv2

    half = count // 2
    mixed = list(faces["x_train"][:half]) + list(cifar_train[0][:half])
    return np.stack([cv2.resize(img, (96, 96), interpolation=cv2.INTER_LINEAR) for img in mixed])


def write_all(out, weights=True):
    out = Path(out)
    rng = np.random.default_rng(SEED)
    keras_home, data_dir = out / "keras", out / "data"
    (keras_home / "datasets").mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = make_mnist(rng)
    np.savez_compressed(keras_home / "datasets" / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    cifar_train, cifar_test = make_cifar10(rng)
    write_cifar10(keras_home, cifar_train, cifar_test)
    faces = make_faces(rng)
    write_faces(data_dir / "faces.h5", faces)
    (data_dir / "book.txt").write_text(make_book(rng), encoding="utf-8")
    if weights:
        write_backbone(keras_home / "models" / "efficientnetb0_notop.h5", calibration_images(faces, cifar_train))
    return keras_home, data_dir


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dlab_course.smoke_data", description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder to write keras/ and data/ into")
    parser.add_argument("--no-weights", action="store_true", help="skip the EfficientNetB0 file (no Keras import)")
    args = parser.parse_args(argv)
    try:
        keras_home, data_dir = write_all(args.out, weights=not args.no_weights)
    except OSError as exc:
        print(f"error: cannot write smoke data into {args.out}: {exc}", file=sys.stderr)
        print("fix: choose a folder you can write to", file=sys.stderr)
        return 2
    print(f"smoke data written; use: KERAS_HOME={keras_home} DLAB_DATA={data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
