"""Offline classroom fixtures: throwaway image tags, one bundle per session, a registry on 127.0.0.1.

The shared images (dlab:<version>-cpu, dlab:cpu) are never removed or re-tagged: every test works on
a tag of its own that did not exist before, and removes only that tag.
"""

import io
import json
import re
import shutil
import socket
import subprocess
import tarfile

import pytest

from tests.offline import SMALL_PINS
from tests.support.images import fresh_tag, image_id, remove_tag
from tests.support.paths import ROOT
from tests.support.proxy import network_env
from tests.support.runner import dlab, docker


@pytest.fixture(scope="session")
def tiny_images(tmp_path_factory):
    """make(text): a new image of a few bytes in the lab's repository (`docker import` of one file); all removed at the end."""
    made = []

    def make(text="tiny"):
        folder = tmp_path_factory.mktemp("tiny")
        with tarfile.open(folder / "root.tar", "w") as tar:
            info = tarfile.TarInfo("hello.txt")
            data = f"{text}\n".encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        ref = fresh_tag("tiny")
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
    # PyPI: the real network, not the suite's tripwire proxy
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=network_env())
    assert result.returncode == 0, result.stderr
    lock.unlink()
    assert len(list(folder.glob("*.whl"))) == len(SMALL_PINS)
    return folder


@pytest.fixture(scope="session")
def bundled(cpu_image, small_wheels, tmp_path_factory):
    """`dlab bundle` of a throwaway tag of the cpu image; the tag is removed again before the tests."""
    ref = fresh_tag("bundle")
    docker("tag", cpu_image, ref)
    out = tmp_path_factory.mktemp("stick") / "dlab-classroom.tar"
    try:
        result = dlab("bundle", str(out), "--image", ref, "--allow-missing", "--wheels-from", str(small_wheels),
                      timeout=1800)
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
    result = dlab("load", "--expect", expect, str(bundled["path"]), launcher=unpacked / "scripts" / "dlab", timeout=1800)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield dict(bundled, load_output=result.stdout)
    finally:
        remove_tag(bundled["ref"])


def start_registry(data, listen, port):
    """`dlab registry start`; its state (registry.json) with the address it serves at."""
    if not (shutil.which("docker-registry") or shutil.which("registry")):
        pytest.skip("Debian's docker-registry is not installed (apt-get install -y docker-registry)")
    result = dlab("registry", "start", "--listen", listen, "--port", str(port), "--data", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    state = json.loads((data / "registry.json").read_text())
    return dict(state, address=f"{listen}:{port}", host=listen, data=data)


@pytest.fixture
def registry(tmp_path, port):
    """`dlab registry start` on the test's reserved port of 127.0.0.1; stopped afterwards."""
    state = start_registry(tmp_path / "registry", "127.0.0.1", port)
    yield state
    dlab("registry", "stop", "--data", str(state["data"]))


def lan_address():
    """This machine's address on its default route (a UDP connect sends nothing), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture
def lan_registry(tmp_path, port):
    """`dlab registry start --listen` this machine's non-loopback address, as for the classroom's Wi-Fi."""
    host = lan_address()
    if host is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    state = start_registry(tmp_path / "registry", host, port)
    yield state
    dlab("registry", "stop", "--data", str(state["data"]))
