"""Fetching assets: a real HTTP server on 127.0.0.1 serves files the test makes; assets.py runs standalone."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from tests.support.paths import ROOT

ASSETS_PY = ROOT / "lab" / "dlab_course" / "assets.py"


class Files(BaseHTTPRequestHandler):
    """Serves self.server.files; honours Range; a path in server.break_once is cut in half once."""

    protocol_version = "HTTP/1.0"

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("Range")))
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        ranged = self.headers.get("Range")
        if ranged and ranged.startswith("bytes=") and self.path not in self.server.ignore_range:
            start = int(ranged[len("bytes="):].split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        rest = body[start:]
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        if self.path in self.server.break_once:
            self.server.break_once.discard(self.path)
            self.wfile.write(rest[: len(rest) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the connection drops mid-file
            return
        self.wfile.write(rest)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    httpd.files, httpd.requests, httpd.break_once, httpd.ignore_range = {}, [], set(), set()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def standalone(tmp_path):
    """assets.py copied alone, as the Dockerfile runs it (no package beside it)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    shutil.copy(ASSETS_PY, folder / "assets.py")
    return folder / "assets.py"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def write_manifest(path, assets):
    lines = []
    for asset in assets:
        lines.append("[[assets]]")
        for key, value in asset.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def run_assets(script, *args, env=None):
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def fetch(script, tmp_path, manifest, *extra):
    return run_assets(script, "fetch", "--manifest", str(manifest), "--cache", str(tmp_path / "cache"),
                      "--root", str(tmp_path / "root"), "--timeout", "5", *extra)


def record(tmp_path):
    return json.loads((tmp_path / "root" / "assets.json").read_text())


def leftovers(tmp_path):
    return sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "cache").rglob("*") if p.is_file())


def test_fetch_installs_a_verified_file_and_records_it(server, standalone, tmp_path):
    """A file whose sha256 matches lands at ROOT/<dest>, writable by all, and assets.json lists it present."""
    payload = os.urandom(300_000)
    server.files["/mnist.npz"] = payload
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "mnist", "url": server.url + "/mnist.npz", "sha256": sha256(payload), "size": len(payload),
         "dest": "keras/datasets/mnist.npz"}])
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "root" / "keras" / "datasets" / "mnist.npz"
    assert installed.read_bytes() == payload
    assert installed.stat().st_mode & 0o777 == 0o666
    assert record(tmp_path) == {"present": ["mnist"], "missing": []}
    assert "mnist: sha256 verified" in result.stdout


def test_fetch_from_a_mirror_on_this_machine_goes_through_no_proxy(server, standalone, tmp_path, tripwire):
    """With every proxy variable at a tripwire, a file served on 127.0.0.1 is fetched direct: the tripwire sees nothing."""
    payload = os.urandom(1000)
    server.files["/local.bin"] = payload
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "local", "url": server.url + "/local.bin", "sha256": sha256(payload), "dest": "data/local.bin"}])
    result = run_assets(standalone, "fetch", "--manifest", str(manifest), "--cache", str(tmp_path / "cache"),
                        "--root", str(tmp_path / "root"), "--timeout", "5", env=tripwire.env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "root" / "data" / "local.bin").read_bytes() == payload and tripwire.requests == []


def test_fetch_shows_progress(server, standalone, tmp_path):
    """The download prints progress lines with percent and size."""
    payload = os.urandom(2_000_000)
    server.files["/big.bin"] = payload
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "big", "url": server.url + "/big.bin", "sha256": sha256(payload), "dest": "data/big.bin"}])
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stdout.splitlines() if line.startswith("big: ") and "% (" in line]
    assert len(progress) >= 5 and progress[-1].startswith("big: 100% (2.0 of 2.0 MB)")


def test_fetch_resumes_a_broken_download(server, standalone, tmp_path):
    """A connection dropped mid-file is resumed with an HTTP Range request and the result verifies."""
    payload = os.urandom(1_000_000)
    server.files["/cut.bin"] = payload
    server.break_once.add("/cut.bin")
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "cut", "url": server.url + "/cut.bin", "sha256": sha256(payload), "dest": "data/cut.bin"}])
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "root" / "data" / "cut.bin").read_bytes() == payload
    ranges = [r for path, r in server.requests if path == "/cut.bin"]
    assert ranges[0] is None and ranges[1] == "bytes=500000-", ranges
    assert "cut: resuming at 0.5 MB" in result.stdout
    assert leftovers(tmp_path) == ["cache/cut/cut.bin"]


def test_fetch_resumes_a_part_left_by_an_earlier_build(server, standalone, tmp_path):
    """A .part file from an interrupted earlier run is continued, not downloaded again."""
    payload = os.urandom(400_000)
    server.files["/late.bin"] = payload
    part = tmp_path / "cache" / "late" / "late.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(payload[:100_000])
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "late", "url": server.url + "/late.bin", "sha256": sha256(payload), "dest": "data/late.bin"}])
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0, result.stderr
    assert server.requests == [("/late.bin", "bytes=100000-")]
    assert (tmp_path / "root" / "data" / "late.bin").read_bytes() == payload


def test_fetch_refuses_a_wrong_hash_and_leaves_no_partial_file(server, standalone, tmp_path):
    """A download with the wrong sha256 is deleted, named with expected and actual hash, and recorded missing."""
    payload = b"not the file you are looking for" * 1000
    server.files["/evil.bin"] = payload
    expected = "0" * 64
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "weights", "url": server.url + "/evil.bin", "sha256": expected, "dest": "keras/models/w.h5"}])
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0
    line = next(line for line in result.stdout.splitlines() if "MISSING" in line)
    assert line.startswith("weights: MISSING: sha256 mismatch")
    assert f"expected {expected}, got {sha256(payload)}" in line
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "root" / "keras" / "models" / "w.h5").exists()
    missing = record(tmp_path)["missing"]
    assert [m["name"] for m in missing] == ["weights"] and "sha256 mismatch" in missing[0]["reason"]


def test_fetch_checks_md5_where_upstream_publishes_only_md5(server, standalone, tmp_path):
    """An asset pinned by md5 is verified with md5."""
    payload = os.urandom(50_000)
    server.files["/w.h5"] = payload
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "w", "url": server.url + "/w.h5", "md5": hashlib.md5(payload).hexdigest(), "dest": "keras/models/w.h5"}])
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0 and "w: md5 verified" in result.stdout


def test_unreachable_asset_is_recorded_missing_and_build_goes_on(server, standalone, tmp_path):
    """An asset that cannot be fetched is named, recorded missing, and the others still install (exit 0)."""
    payload = os.urandom(10_000)
    server.files["/ok.bin"] = payload
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "gone", "url": server.url + "/gone.bin", "sha256": "1" * 64, "dest": "data/gone.bin"},
        {"name": "ok", "url": server.url + "/ok.bin", "sha256": sha256(payload), "dest": "data/ok.bin"}])
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0
    assert "assets missing from this build: gone" in result.stdout
    rec = record(tmp_path)
    assert rec["present"] == ["ok"]
    assert rec["missing"][0]["name"] == "gone" and "HTTP 404" in rec["missing"][0]["reason"]


def test_strict_fetch_fails_when_an_asset_is_missing(server, standalone, tmp_path):
    """With --strict a missing asset makes fetch exit 1 with an error and a fix line."""
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "gone", "url": server.url + "/gone.bin", "sha256": "1" * 64, "dest": "data/gone.bin"}])
    result = fetch(standalone, tmp_path, manifest, "--strict")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and lines[1].startswith("fix: ")


def test_cached_download_is_reused(server, standalone, tmp_path):
    """A verified file already in the cache is installed without a request."""
    payload = os.urandom(20_000)
    server.files["/c.bin"] = payload
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "c", "url": server.url + "/c.bin", "sha256": sha256(payload), "dest": "data/c.bin"}])
    assert fetch(standalone, tmp_path, manifest).returncode == 0
    shutil.rmtree(tmp_path / "root")
    server.requests.clear()
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0 and server.requests == []
    assert (tmp_path / "root" / "data" / "c.bin").read_bytes() == payload


def test_unknown_asset_name_is_a_usage_error(server, standalone, tmp_path):
    """--only with a name not in the manifest exits 2 and lists the names."""
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "a", "url": server.url + "/a", "sha256": "1" * 64, "dest": "data/a"}])
    result = fetch(standalone, tmp_path, manifest, "--only", "b")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: no asset named b in " + str(manifest), "fix: choose from: a"]


def test_unreadable_ca_bundle_is_a_usage_error(server, standalone, tmp_path):
    """A --cafile that cannot be read exits 2 with what to do."""
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "a", "url": server.url + "/a", "sha256": "1" * 64, "dest": "data/a"}])
    result = fetch(standalone, tmp_path, manifest, "--cafile", str(tmp_path / "nope.pem"))
    assert result.returncode == 2 and "fix: pass --cafile" in result.stderr


def test_book_is_extracted_from_its_archive_and_checked(server, standalone, tmp_path):
    """A member asset installs one file from the archive, verified by its own sha256."""
    text = b"CHAPTER I\r\nDown the Rabbit-Hole\r\n" * 100
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg-1.0/tests/testdata/alice29.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    server.files["/pkg-1.0.tar.gz"] = buffer.getvalue()
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "book", "url": server.url + "/pkg-1.0.tar.gz", "sha256": sha256(buffer.getvalue()), "dest": "data/book.txt",
         "install": "member", "member": "pkg-1.0/tests/testdata/alice29.txt", "member_sha256": sha256(text)}])
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0, result.stdout
    assert (tmp_path / "root" / "data" / "book.txt").read_bytes() == text
    from dlab_course import data
    os.environ["DLAB_DATA"] = str(tmp_path / "root" / "data")
    try:
        assert data.load_book().startswith("CHAPTER I\nDown the Rabbit-Hole\n")
    finally:
        del os.environ["DLAB_DATA"]


def cifar_archive(tmp_path):
    from dlab_course import smoke_data

    rng = np.random.default_rng(0)
    keras_home = tmp_path / "made"
    smoke_data.write_cifar10(keras_home, *smoke_data.make_cifar10(rng, per_class_train=5, per_class_test=2))
    return (keras_home / "datasets" / "cifar-10-batches-py-target_archive").read_bytes()


def test_cifar_is_laid_out_as_keras_expects(server, standalone, tmp_path):
    """CIFAR-10 lands where Keras 3.6+ get_file looks: it finds it offline, and data.load_cifar10 reads it."""
    archive = cifar_archive(tmp_path)
    server.files["/cifar-10-python.tar.gz"] = archive
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "cifar10", "url": server.url + "/cifar-10-python.tar.gz", "sha256": sha256(archive),
         "dest": "keras/datasets/cifar-10-batches-py-target", "install": "keras-cifar10"}])
    result = fetch(standalone, tmp_path, manifest)
    assert result.returncode == 0, result.stdout
    keras_home = tmp_path / "root" / "keras"
    folder = keras_home / "datasets" / "cifar-10-batches-py-target"
    assert all(p.stat().st_mode & 0o002 for p in [folder, *folder.rglob("*")]), "not writable by the notebook user"
    server.shutdown()  # from here on nothing may be downloaded
    # the very call keras.datasets.cifar10.load_data() makes, with this archive's hash
    probe = (
        "import keras, sys\n"
        "from keras.utils import get_file\n"
        f"p = get_file(fname='cifar-10-batches-py-target', origin='http://127.0.0.1:9/x', extract=True, file_hash='{sha256(archive)}')\n"
        "print(p)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "KERAS_HOME": str(keras_home)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(keras_home / "datasets" / "cifar-10-batches-py-target")
    from dlab_course import data
    os.environ["KERAS_HOME"] = str(keras_home)
    try:
        (x_train, y_train), (x_test, y_test) = data.load_cifar10()
    finally:
        del os.environ["KERAS_HOME"]
    assert x_train.shape == (50, 32, 32, 3) and y_train.shape == (50, 1) and x_test.shape == (20, 32, 32, 3)


def lfw_archive(people):
    """A small LFW-shaped archive: lfw_funneled/<Name>/<Name>_0001.jpg, 250x250 JPEGs."""
    import cv2

    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for person, count in people.items():
            for i in range(count):
                image = np.full((250, 250, 3), rng.integers(0, 255, size=3), dtype=np.uint8)
                ok, jpeg = cv2.imencode(".jpg", image)
                info = tarfile.TarInfo(f"lfw_funneled/{person}/{person}_{i + 1:04d}.jpg")
                info.size = len(jpeg)
                tar.addfile(info, io.BytesIO(jpeg.tobytes()))
    return buffer.getvalue()


def test_prepare_builds_faces_from_the_lfw_archive(server, standalone, tmp_path):
    """prepare turns the LFW archive into faces.h5: the 8 people with most images, 64x64 RGB, split per person."""
    people = {f"Person_{chr(65 + i)}": 30 - 2 * i for i in range(9)}  # Person_I has fewest: left out
    archive = lfw_archive(people)
    server.files["/lfw.tgz"] = archive
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "faces", "url": server.url + "/lfw.tgz", "sha256": sha256(archive), "dest": "data/faces.h5",
         "install": "build-faces"}])
    assert fetch(standalone, tmp_path, manifest).returncode == 0
    assert record(tmp_path)["present"] == []
    result = run_assets(standalone, "prepare", "--manifest", str(manifest), "--cache", str(tmp_path / "cache"),
                        "--root", str(tmp_path / "root"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert record(tmp_path) == {"present": ["faces"], "missing": []}
    from dlab_course import data
    os.environ["DLAB_DATA"] = str(tmp_path / "root" / "data")
    try:
        faces = data.load_faces()
    finally:
        del os.environ["DLAB_DATA"]
    assert faces["names"] == [f"Person {chr(65 + i)}" for i in range(8)]
    assert faces["x_train"].shape[1:] == (64, 64, 3) and faces["x_train"].dtype == np.uint8
    total = sum(len(faces[f"y_{s}"]) for s in ("train", "val", "test"))
    assert total == sum(list(people.values())[:8])
    for split in ("train", "val", "test"):
        assert set(faces[f"y_{split}"]) == set(range(8)), f"every person in {split}"


def test_prepare_records_faces_missing_without_the_archive(standalone, tmp_path):
    """Without the LFW download, prepare records faces as missing and says why."""
    manifest = write_manifest(tmp_path / "course.toml", [
        {"name": "faces", "url": "http://127.0.0.1:9/lfw.tgz", "sha256": "1" * 64, "dest": "data/faces.h5",
         "install": "build-faces"}])
    result = run_assets(standalone, "prepare", "--manifest", str(manifest), "--cache", str(tmp_path / "cache"),
                        "--root", str(tmp_path / "root"))
    assert result.returncode == 0
    missing = record(tmp_path)["missing"]
    assert missing[0]["name"] == "faces" and "not fetched" in missing[0]["reason"]
