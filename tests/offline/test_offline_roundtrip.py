"""The lab from a USB stick: bundle, remove the image, load with the bundled launcher, run it offline.

The bundle is loaded once for this module (fixture `loaded`); the tag is removed at its end."""

import json
import os
import re
import subprocess

import pytest

from tests.offline import SMALL_PINS
from tests.support.images import image_id
from tests.support.runner import LAB_URL, dlab, docker
from tests.support.wait import http_get

pytestmark = [pytest.mark.engine, pytest.mark.network, pytest.mark.slow, pytest.mark.timeout(3600)]


def test_bundle_holds_image_course_launcher_and_checksums(bundled, unpacked, cpu_container):
    """The bundle holds the image, every rendered notebook, the launcher and README; `sha256sum -c` agrees."""
    manifest = json.loads((unpacked / "MANIFEST.json").read_text())
    assert [i["ref"] for i in manifest["images"]] == [bundled["ref"]]
    assert manifest["images"][0]["id"] == bundled["id"]
    assert manifest["images"][0]["file"] in manifest["parts"]
    shipped = cpu_container.run(["-c", "cd /opt/dlab/course && ls exercises/*.ipynb solutions/*.ipynb"],
                                entrypoint="sh", network_mode="none").split()
    assert shipped and sorted(shipped) == sorted(n for n in manifest["course"] if n.endswith(".ipynb"))
    assert (unpacked / "scripts" / "dlab" / "__main__.py").is_file() and (unpacked / "README.txt").is_file()
    check = subprocess.run(["sha256sum", "--check", "--ignore-missing", "--quiet", "SHA256SUMS"],
                           cwd=unpacked, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert re.search(rf"saving {re.escape(bundled['ref'])}: \d+%", bundled["output"]), "no progress shown"


def test_bundle_prints_the_sha256_to_hand_out(bundled):
    """`dlab bundle` ends with the whole file's sha256 and the `dlab load --expect` line that checks it."""
    import hashlib

    digest = hashlib.sha256()
    with open(bundled["path"], "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    assert f"sha256 of the bundle: {digest.hexdigest()}" in bundled["output"]
    assert f"dlab load --expect {digest.hexdigest()} {bundled['path'].name}" in bundled["output"]


def test_load_prints_what_it_loaded_and_the_next_command(loaded):
    """`dlab load` brings back the removed tag as the same image ID and prints the next command."""
    assert image_id(loaded["ref"]) == loaded["id"]
    assert "all " in loaded["load_output"] and "parts match" in loaded["load_output"]
    assert "matches the one you were given" in loaded["load_output"]
    assert f"loaded {loaded['ref']}" in loaded["load_output"]
    assert f"dlab up --image {loaded['ref']}" in loaded["load_output"]


def test_loaded_image_runs_checks_and_keeps_working_with_its_network_cut(loaded, unpacked, tmp_path, labs):
    """From the loaded image: `dlab up` answers, `dlab check` passes, and the lab runs a notebook with no network."""
    launcher = unpacked / "scripts" / "dlab"
    name = labs.name()
    work = tmp_path / "work"
    up = dlab("up", "--no-browser", "--image", loaded["ref"], "--name", name, "--work", str(work), launcher=launcher)
    match = LAB_URL.search(up.stdout)
    assert up.returncode == 0 and match, up.stdout + up.stderr
    port, token = match.groups()
    assert http_get(f"http://127.0.0.1:{port}/api/status?token={token}").status == 200

    check = dlab("check", "--image", loaded["ref"], "--work", str(tmp_path / "check"), launcher=launcher)
    assert check.returncode == 0, check.stdout + check.stderr
    assert " 0 failed" in check.stdout

    from dlab.isolation import network_name
    from dlab.places import caller

    container = caller().container(name)  # the engine-wide name of this user's lab
    docker("network", "disconnect", network_name(), container)
    routes = labs.exec(name, ["cat", "/proc/net/route"]).output.strip().splitlines()
    assert len(routes) == 1, f"the container still has routes: {routes}"
    labs.exec(name, ["/usr/local/bin/healthcheck"])
    labs.exec(name, ["jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", "/tmp/setup-check-offline.ipynb",
                     "work/course/solutions/00-setup-check.ipynb"], timeout=600)
    assert (work / "course" / "solutions" / "00-setup-check.ipynb").is_file()



def run_offline(tracked, ref, work, command, timeout):
    """Run command in the image under --network none as the calling user, the work folder mounted; its log."""
    return tracked.run(command, image=ref, network_mode="none", user=f"{os.getuid()}:{os.getgid()}",
                       volumes={str(work): {"bind": "/home/jovyan/work", "mode": "rw"}}, timeout=timeout)


def test_smoke_checks_pass_with_network_none(loaded, tmp_path, cpu_container):
    """lab/smoke (imports, devices, a Keras fit, HDF5, OpenCV, a kernel) passes in the loaded image under --network none."""
    work = tmp_path / "work"
    work.mkdir()
    logs = run_offline(cpu_container, loaded["ref"], work,
                       ["python", "-m", "pytest", "/opt/dlab/smoke", "-q", "-p", "no:cacheprovider"], timeout=900)
    assert " passed" in logs and " failed" not in logs


# The whole course runs offline in tests/course/test_execution.py on the built image; the loaded one has the
# same image ID (checked when it is loaded), so here a few notebooks prove the loaded copy runs offline too.
OFFLINE_NOTEBOOKS = "00 04 dp"


def test_course_smoke_run_with_network_none(loaded, tmp_path, cpu_container):
    """Course notebooks run in smoke mode, on smoke data made inside, in the loaded image under --network none."""
    work = tmp_path / "work"
    work.mkdir()
    script = ("python -m dlab_course.smoke_data /tmp/smoke && KERAS_HOME=/tmp/smoke/keras DLAB_DATA=/tmp/smoke/data "
              f"python -m dlab_course.run --smoke --out /home/jovyan/work/runs {OFFLINE_NOTEBOOKS}")
    logs = run_offline(cpu_container, loaded["ref"], work, ["bash", "-c", script], timeout=3000)
    results = json.loads((work / "runs" / "results.json").read_text())
    failed = [f"{r['number']}: {r['message'][:300]}" for r in results if not r["ok"]]
    assert len(results) == len(OFFLINE_NOTEBOOKS.split()) and not failed, "notebooks failed offline:\n" + "\n".join(failed) + logs[-2000:]


def test_pip_installs_from_the_wheelhouse_offline(loaded, unpacked, cpu_container):
    """`pip install --no-index --find-links` from the bundle's wheels works under --network none."""
    wheels = unpacked / "wheels"
    assert sorted(p.name.split("-")[0] for p in wheels.glob("*.whl")) == sorted(SMALL_PINS)
    logs = cpu_container.run(["python", "-m", "pip", "install", "--no-index", "--find-links", "/wheels", "--target", "/tmp/t",
                              *SMALL_PINS], image=loaded["ref"], network_mode="none",
                             volumes={str(wheels): {"bind": "/wheels", "mode": "ro"}})
    assert "Successfully installed" in logs


def test_partial_wheelhouse_is_recorded(bundled, unpacked):
    """Pins with no wheel in --wheels-from are listed in the manifest and named in the output."""
    manifest = json.loads((unpacked / "MANIFEST.json").read_text())
    missing = manifest["wheels"]["missing"]
    assert missing and not any(m.split("==")[0] in SMALL_PINS for m in missing)
    assert any(m.startswith("tensorflow") for m in missing)
    assert f"{len(missing)} locked packages have no wheel" in bundled["output"]
    assert (unpacked / "wheels" / "cpu-amd64.lock").is_file()
