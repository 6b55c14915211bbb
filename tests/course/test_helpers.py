"""The notebooks' helper package on the host: offline loaders and smoke data with signal."""


import numpy as np
import pytest

from dlab_course import data, render, smoke_data
from tests.support.paths import ROOT

MANIFEST = render.load_manifest(ROOT / "lab" / "course.toml")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Smoke data (without the weights file) and the env that points the loaders at it."""
    out = tmp_path_factory.mktemp("smoke")
    keras_home, data_dir = smoke_data.write_all(out, weights=False)
    return {"KERAS_HOME": str(keras_home), "DLAB_DATA": str(data_dir)}


@pytest.fixture
def use(monkeypatch):
    def apply(env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    return apply


@pytest.mark.parametrize("loader, asset", [
    (data.load_mnist, "mnist"), (data.load_cifar10, "cifar10"), (data.load_faces, "faces"),
    (data.load_book, "book"), (data.backbone, "efficientnetb0"),
])
def test_missing_asset_names_it_and_says_how_to_get_it(loader, asset, use, tmp_path):
    """A loader whose file is absent raises AssetMissing naming the asset, the path and both ways to get it."""
    use({"KERAS_HOME": str(tmp_path / "keras"), "DLAB_DATA": str(tmp_path / "data")})
    with pytest.raises(data.AssetMissing) as caught:
        loader()
    message = str(caught.value)
    assert f"'{asset}'" in message and str(tmp_path) in message
    assert "make image" in message and "dlab load" in message


def test_loader_paths_match_the_manifest():
    """Each asset's dest in course.toml is where the loaders look (keras/ under KERAS_HOME, data/ under DLAB_DATA)."""
    dests = {a["name"]: a["dest"] for a in MANIFEST["assets"]}
    assert dests["mnist"] == "keras/datasets/mnist.npz"
    assert dests["cifar10"] == f"keras/datasets/{data.CIFAR_DIR}"
    assert dests["efficientnetb0"] == "keras/models/efficientnetb0_notop.h5"
    assert dests["faces"] == "data/faces.h5"
    assert dests["book"] == "data/book.txt"
    for asset in MANIFEST["assets"]:
        assert ("sha256" in asset) != ("md5" in asset), f"{asset['name']}: exactly one of sha256/md5"
        assert set(asset["notebooks"]) <= {e["number"] for e in MANIFEST["notebooks"]}


def test_smoke_mnist_is_shaped_like_keras_mnist_and_learnable(smoke, use):
    """Smoke MNIST has Keras' shapes and dtypes, and a linear model beats chance by far."""
    from sklearn.linear_model import LogisticRegression

    use(smoke)
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.dtype == np.uint8 and x_train.shape[1:] == (28, 28) and y_train.dtype == np.uint8
    assert y_train.ndim == 1 and set(y_train) == set(range(10)) and x_train.max() > 200
    model = LogisticRegression(max_iter=300).fit(x_train.reshape(len(x_train), -1) / 255, y_train)
    assert model.score(x_test.reshape(len(x_test), -1) / 255, y_test) > 0.7


def test_smoke_cifar10_is_shaped_like_keras_cifar10_and_learnable(smoke, use):
    """Smoke CIFAR-10 has Keras' shapes and dtypes, and 100 labels suffice to beat chance by far."""
    from sklearn.ensemble import RandomForestClassifier

    use(smoke)
    (x_train, y_train), (x_test, y_test) = data.load_cifar10()
    assert x_train.shape[1:] == (32, 32, 3) and y_train.shape == (len(x_train), 1) and x_train.dtype == np.uint8
    few = np.concatenate([np.where(y_train.ravel() == k)[0][:10] for k in range(10)])
    model = RandomForestClassifier(100, random_state=0).fit(x_train[few].reshape(100, -1), y_train[few].ravel())
    assert model.score(x_test.reshape(len(x_test), -1), y_test.ravel()) > 0.5


def test_smoke_faces_have_the_faces_layout_and_are_learnable(smoke, use):
    """Smoke faces: 8 names, 64x64 RGB uint8, every person in every split, and learnable."""
    from sklearn.linear_model import LogisticRegression

    use(smoke)
    faces = data.load_faces()
    assert len(faces["names"]) == 8
    for split in ("train", "val", "test"):
        assert faces[f"x_{split}"].shape[1:] == (64, 64, 3) and faces[f"x_{split}"].dtype == np.uint8
        assert set(faces[f"y_{split}"]) == set(range(8))
    flat = lambda x: x.reshape(len(x), -1) / 255
    model = LogisticRegression(max_iter=500).fit(flat(faces["x_train"]), faces["y_train"])
    assert model.score(flat(faces["x_val"]), faces["y_val"]) > 0.5


def test_smoke_book_is_text_with_structure(smoke, use):
    """The smoke book is plain text long enough for a character model, from a small alphabet."""
    use(smoke)
    text = data.load_book()
    assert len(text) > 50_000 and len(set(text)) < 60


def test_smoke_backbone_loads_and_gives_unit_scale_features(tmp_path, use):
    """The smoke weights file loads as EfficientNetB0 and its pooled features are not vanishing."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(16, 96, 96, 3)).astype(np.uint8)
    smoke_data.write_backbone(tmp_path / "keras" / "models" / "efficientnetb0_notop.h5", images)
    use({"KERAS_HOME": str(tmp_path / "keras")})
    model = data.backbone((64, 64, 3))
    features = model.predict(images[:, :64, :64].astype("float32"), verbose=0)
    assert features.shape == (16, 1280) and features.std() > 0.01


def test_challenger_has_the_23_launches():
    """23 launches, 7 with O-ring distress, and the published logistic fit (15.043, -0.2322)."""
    frame = data.load_challenger()
    assert len(frame) == 23 and frame["failure"].sum() == 7
    assert frame["temperature_f"].min() == 53 and frame["temperature_f"].max() == 81
    x, y = frame["temperature_f"].to_numpy(), frame["failure"].to_numpy()
    X, w = np.c_[np.ones_like(x), x], np.zeros(2)
    for _ in range(30):  # Newton's method for the maximum-likelihood fit
        p = 1 / (1 + np.exp(-X @ w))
        w += np.linalg.solve(X.T @ (X * (p * (1 - p))[:, None]), X.T @ (y - p))
    assert w == pytest.approx([15.0429, -0.23216], abs=1e-3)


def test_ice_cream_series_follows_the_rule():
    """Stock falls only on sunny days and comes back only three days after a cloudy day."""
    weather, in_stock = data.ice_cream(3000, seed=3)
    assert set(weather) == {0, 1, 2} and abs(np.mean(weather == 0) - 1 / 3) < 0.05
    assert in_stock[:1].tolist() == [1]  # two units at the start, at most one sold
    for day in range(1, len(weather)):
        if in_stock[day - 1] == 1 and in_stock[day] == 0:
            assert weather[day] == 0, "ran out on a day that was not sunny"
        if in_stock[day - 1] == 0 and in_stock[day] == 1:
            assert day >= 3 and weather[day - 3] == 1, "restocked without a cloudy day three days earlier"
    again, _ = data.ice_cream(3000, seed=3)
    assert (again == weather).all()


def test_one_hot():
    """one_hot gives float rows with a single 1 at each label."""
    assert data.one_hot([0, 2], 3).tolist() == [[1, 0, 0], [0, 0, 1]]
