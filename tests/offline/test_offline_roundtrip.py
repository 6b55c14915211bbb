"""The lab from a USB stick: bundle, remove the image, load with the bundled launcher, run it offline.

The bundle is loaded once for this module (fixture `loaded`); the tag is removed at its end."""

import json
import os
import re
import secrets
import subprocess
import urllib.request

import pytest

from offline_helpers import SMALL_PINS, dlab, docker, image_id

pytestmark = pytest.mark.timeout(3600)
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-zA-Z_-]+)")


def test_bundle_holds_image_course_launcher_and_checksums(bundled, unpacked, cpu_image):
    """The bundle holds the image, every rendered notebook, the launcher and README; `sha256sum -c` agrees."""
    manifest = json.loads((unpacked / "MANIFEST.json").read_text())
    assert [i["ref"] for i in manifest["images"]] == [bundled["ref"]]
    assert manifest["images"][0]["id"] == bundled["id"]
    assert manifest["images"][0]["file"] in manifest["parts"]
    shipped = docker("run", "--rm", "--network", "none", "--entrypoint", "sh", cpu_image, "-c",
                     "cd /opt/dlab/course && ls exercises/*.ipynb solutions/*.ipynb").stdout.split()
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


def test_loaded_image_runs_checks_and_keeps_working_with_its_network_cut(loaded, unpacked, tmp_path):
    """From the loaded image: `dlab up` answers, `dlab check` passes, and the lab runs a notebook with no network."""
    launcher = unpacked / "scripts" / "dlab"
    name = f"dlabtest-{secrets.token_hex(4)}"
    work = tmp_path / "work"
    up = dlab("up", "--no-browser", "--image", loaded["ref"], "--name", name, "--work", str(work), launcher=launcher)
    try:
        match = URL.search(up.stdout)
        assert up.returncode == 0 and match, up.stdout + up.stderr
        port, token = match.groups()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=10) as reply:
            assert reply.status == 200

        check = dlab("check", "--image", loaded["ref"], "--work", str(tmp_path / "check"), launcher=launcher)
        assert check.returncode == 0, check.stdout + check.stderr
        assert " 0 failed" in check.stdout

        from dlab.isolation import network_name
        from dlab.places import caller

        container = caller().container(name)  # the engine-wide name of this user's lab
        docker("network", "disconnect", network_name(), container)
        routes = docker("exec", container, "cat", "/proc/net/route").stdout.strip().splitlines()
        assert len(routes) == 1, f"the container still has routes: {routes}"
        assert docker("exec", container, "/usr/local/bin/healthcheck", check=False).returncode == 0
        run = docker("exec", container, "jupyter", "nbconvert", "--to", "notebook", "--execute",
                     "--output", "/tmp/setup-check-offline.ipynb", "work/course/solutions/00-setup-check.ipynb",
                     check=False, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        dlab("down", "--purge", name)
    assert (work / "course" / "solutions" / "00-setup-check.ipynb").is_file()



def run_offline(ref, work, *command, timeout):
    """`docker run --network none` as the calling user, the work folder mounted; the finished process."""
    return docker("run", "--rm", "--network", "none", "--user", f"{os.getuid()}:{os.getgid()}",
                  "-v", f"{work}:/home/jovyan/work", ref, *command, check=False, timeout=timeout)


def test_smoke_checks_pass_with_network_none(loaded, tmp_path):
    """lab/smoke (imports, devices, a Keras fit, HDF5, OpenCV, a kernel) passes in the loaded image under --network none."""
    work = tmp_path / "work"
    work.mkdir()
    result = run_offline(loaded["ref"], work, "python", "-m", "pytest", "/opt/dlab/smoke", "-q",
                         "-p", "no:cacheprovider", timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


# The whole course runs offline in tests/course/test_execution.py on the built image; the loaded one has the
# same image ID (checked when it is loaded), so here a few notebooks prove the loaded copy runs offline too.
OFFLINE_NOTEBOOKS = "00 04 dp"


def test_course_smoke_run_with_network_none(loaded, tmp_path):
    """Course notebooks run in smoke mode, on smoke data made inside, in the loaded image under --network none."""
    work = tmp_path / "work"
    work.mkdir()
    script = ("python -m dlab_course.smoke_data /tmp/smoke && KERAS_HOME=/tmp/smoke/keras DLAB_DATA=/tmp/smoke/data "
              f"python -m dlab_course.run --smoke --out /home/jovyan/work/runs {OFFLINE_NOTEBOOKS}")
    result = run_offline(loaded["ref"], work, "bash", "-c", script, timeout=3000)
    results = json.loads((work / "runs" / "results.json").read_text())
    failed = [f"{r['number']}: {r['message'][:300]}" for r in results if not r["ok"]]
    assert len(results) == len(OFFLINE_NOTEBOOKS.split()) and not failed, "notebooks failed offline:\n" + "\n".join(failed) + result.stdout[-2000:]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_pip_installs_from_the_wheelhouse_offline(loaded, unpacked):
    """`pip install --no-index --find-links` from the bundle's wheels works under --network none."""
    wheels = unpacked / "wheels"
    assert sorted(p.name.split("-")[0] for p in wheels.glob("*.whl")) == sorted(SMALL_PINS)
    result = docker("run", "--rm", "--network", "none", "-v", f"{wheels}:/wheels:ro", loaded["ref"],
                    "python", "-m", "pip", "install", "--no-index", "--find-links", "/wheels", "--target", "/tmp/t",
                    *SMALL_PINS, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully installed" in result.stdout


def test_partial_wheelhouse_is_recorded(bundled, unpacked):
    """Pins with no wheel in --wheels-from are listed in the manifest and named in the output."""
    manifest = json.loads((unpacked / "MANIFEST.json").read_text())
    missing = manifest["wheels"]["missing"]
    assert missing and not any(m.split("==")[0] in SMALL_PINS for m in missing)
    assert any(m.startswith("tensorflow") for m in missing)
    assert f"{len(missing)} locked packages have no wheel" in bundled["output"]
    assert (unpacked / "wheels" / "cpu-amd64.lock").is_file()
