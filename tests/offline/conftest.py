"""Offline classroom fixtures: throwaway image tags, one bundle per session, a registry on 127.0.0.1.

The shared images (dlab:<version>-cpu, dlab:cpu) are never removed or re-tagged: every test works on
a tag of its own that did not exist before, and removes only that tag.
"""

import io
import os
import re
import shutil
import socket
import subprocess
import tarfile

import pytest

from offline_helpers import ROOT, SMALL_PINS, dlab, docker, fresh_tag, image_id, remove_tag


@pytest.fixture(autouse=True, scope="session")
def debian_docker_client():
    """Debian's docker client (the one in /usr/local/bin cannot build)."""
    if os.path.exists("/usr/bin/docker"):
        os.environ["PATH"] = "/usr/bin:" + os.environ.get("PATH", "")


@pytest.fixture(scope="session")
def version():
    return (ROOT / "VERSION").read_text().strip()


@pytest.fixture(scope="session")
def tiny_images(version, tmp_path_factory):
    """make(text): a new image of a few bytes in the lab's repository (`docker import` of one file); all removed at the end."""
    made = []

    def make(text="tiny"):
        folder = tmp_path_factory.mktemp("tiny")
        with tarfile.open(folder / "root.tar", "w") as tar:
            info = tarfile.TarInfo("hello.txt")
            data = f"{text}\n".encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        ref = fresh_tag("tiny", version)
        docker("import", str(folder / "root.tar"), ref)
        made.append(ref)
        return ref

    yield make
    for ref in made:
        remove_tag(ref)


@pytest.fixture(scope="session")
def small_wheels(tmp_path_factory):
    """A folder with the wheels of two small pins of cpu-amd64.lock (pip download from PyPI, hashes checked)."""
    from dlab import wheels

    folder = tmp_path_factory.mktemp("wheels")
    lock = folder / "small.lock"
    chosen = [line for line in (ROOT / "docker/requirements/cpu-amd64.lock").read_text().split("\n") if line]
    blocks, keep = [], False
    for line in chosen:
        if not line.startswith((" ", "#")):
            keep = line.split("==")[0] in SMALL_PINS
        if keep and not line.lstrip().startswith("#"):
            blocks.append(line)
    lock.write_text("\n".join(blocks) + "\n")
    command = [*wheels.pip_command(), "download", "--quiet", "--require-hashes", "--no-deps", "--only-binary=:all:",
               "-r", str(lock), "-d", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lock.unlink()
    assert len(list(folder.glob("*.whl"))) == len(SMALL_PINS)
    return folder


@pytest.fixture(scope="session")
def bundled(cpu_image, version, small_wheels, tmp_path_factory):
    """`dlab bundle` of a throwaway tag of the cpu image; the tag is removed again before the tests."""
    ref = fresh_tag("bundle", version)
    docker("tag", cpu_image, ref)
    out = tmp_path_factory.mktemp("stick") / "dlab-classroom.tar"
    try:
        result = dlab("bundle", str(out), "--image", ref, "--allow-missing", "--wheels-from", str(small_wheels))
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        remove_tag(ref)
    yield {"path": out, "ref": ref, "id": image_id(cpu_image), "output": result.stdout}
    remove_tag(ref)


@pytest.fixture(scope="session")
def unpacked(bundled, tmp_path_factory):
    """The bundle unpacked as a teacher would (`tar -xf`): launcher, course, wheels."""
    folder = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(bundled["path"]) as tar:
        tar.extractall(folder, members=[m for m in tar.getmembers() if "/images/" not in m.name])
    return folder / "dlab-bundle"


@pytest.fixture(scope="module")
def loaded(bundled, unpacked):
    """The bundle loaded by the launcher that came in it, checked against the sha256 `dlab bundle` printed, once per
    module; the loaded tag is removed afterwards."""
    assert image_id(bundled["ref"]) is None
    expect = re.search(r"sha256 of the bundle: ([0-9a-f]{64})", bundled["output"])[1]
    result = dlab("load", "--expect", expect, str(bundled["path"]), launcher=unpacked / "scripts" / "dlab")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield dict(bundled, load_output=result.stdout)
    finally:
        remove_tag(bundled["ref"])


@pytest.fixture
def registry(tmp_path):
    """`dlab registry start` on a free port of 127.0.0.1; stopped afterwards."""
    if not (shutil.which("docker-registry") or shutil.which("registry")):
        pytest.skip("Debian's docker-registry is not installed (apt-get install -y docker-registry)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "registry"
    result = dlab("registry", "start", "--port", str(port), "--data", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    yield {"address": f"127.0.0.1:{port}", "data": data}
    dlab("registry", "stop", "--data", str(data))
