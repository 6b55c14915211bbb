"""The hub image: built from the locks, with the very jupyterhub the lab image runs."""

import hashlib
import json
import re

import pytest

from tests.support.paths import ROOT
from tests.support.runner import docker

pytestmark = pytest.mark.timeout(1200)  # the first test may build the hub image

REQUIREMENTS = ROOT / "docker" / "requirements"


def pinned(lock_text, name):
    found = re.search(rf"^{re.escape(name)}==(\S+)", lock_text, re.M)
    return found and found.group(1)


def test_hub_lock_pins_the_labs_jupyterhub():
    """hub/requirements.lock and every lab lock (each flavor, each architecture) pin one and the same jupyterhub."""
    locks = [ROOT / "hub" / "requirements.lock", *sorted(REQUIREMENTS.glob("cpu-*.lock")), *sorted(REQUIREMENTS.glob("cuda-*.lock"))]
    versions = {lock.name: pinned(lock.read_text(), "jupyterhub") for lock in locks}
    assert len(versions) >= 3 and len(set(versions.values())) == 1 and None not in versions.values(), versions


def test_hub_lock_is_made_from_its_inputs():
    """The hub lock records the hash of hub/requirements.in (scripts/lock hub writes it), so the build trusts it."""
    lock = (ROOT / "hub" / "requirements.lock").read_text()
    expected = hashlib.sha256((ROOT / "hub" / "requirements.in").read_bytes()).hexdigest()
    assert lock.splitlines()[0] == f"# inputs-sha256: {expected}"
    assert all("--hash=sha256:" in block for block in re.split(r"\n(?=[a-z])", lock.split("\n", 2)[2]) if "==" in block)


def test_proxy_lock_has_integrity_hashes():
    """Every npm package of the proxy is pinned with an integrity hash."""
    lock = json.loads((ROOT / "hub" / "proxy" / "package-lock.json").read_text())
    packages = {path: meta for path, meta in lock["packages"].items() if path}
    assert "node_modules/configurable-http-proxy" in packages
    assert all(meta.get("integrity", "").startswith("sha512-") for meta in packages.values())


@pytest.mark.engine
def test_hub_and_lab_images_run_the_same_jupyterhub(hub_image, cpu_image):
    """`jupyterhub --version` in the hub image equals jupyterhub in the lab image, and the label says so."""
    hub = docker("run", "--rm", "--network", "none", hub_image, "jupyterhub", "--version").stdout.strip()
    lab = docker("run", "--rm", "--network", "none", "-e", "DLAB_SEED=0", cpu_image, "python", "-c",
                 "import jupyterhub; print(jupyterhub.__version__)").stdout.strip()
    label = docker("image", "inspect", hub_image, "-f", '{{index .Config.Labels "org.dlab.jupyterhub"}}').stdout.strip()
    assert hub == lab == label, (hub, lab, label)


@pytest.mark.engine
def test_hub_image_runs_the_locked_proxy(hub_image):
    """configurable-http-proxy in the hub image is the version package-lock.json pins, on Debian's Node."""
    lock = json.loads((ROOT / "hub" / "proxy" / "package-lock.json").read_text())
    want = lock["packages"]["node_modules/configurable-http-proxy"]["version"]
    out = docker("run", "--rm", "--network", "none", hub_image, "sh", "-c",
                 "configurable-http-proxy --version && node --version && dpkg-query -W -f '${Version}' nodejs").stdout
    assert out.split()[0] == want, out


@pytest.mark.engine
@pytest.mark.slow
def test_hub_image_travels_in_a_bundle(hub_image, tmp_path):
    """`dlab bundle` writes the hub image into a checked archive and `dlab load` brings it back, same image."""
    import uuid

    from dlab import images
    from tests.hub.hub_helpers import dlab

    ref = f"{images.REPOSITORY}:hubbundle-{uuid.uuid4().hex[:8]}-hub"  # a bundle carries tags of the dlab repository only
    docker("tag", hub_image, ref)
    want = docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()
    out = tmp_path / "hub.tar"
    try:
        made = dlab("bundle", str(out), "--image", ref, "--no-wheels")
        assert made.returncode == 0, made.stdout + made.stderr
        docker("image", "rm", "--no-prune", ref)
        loaded = dlab("load", str(out))
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        assert docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip() == want
        assert "dlab hub up" in loaded.stdout
    finally:
        docker("image", "rm", "--no-prune", ref, check=False)
