"""`dlab doctor`: a tick or a cross per prerequisite, and the fix for each cross."""

import pytest

from dlab.doctor import findings
from dlab.images import default_image
from tests.support.hosts import load_host, recorded_image
from tests.support.runner import dlab


def verdicts(host, **overrides):
    facts = load_host(host, **overrides)
    return {f.name: f for f in findings(facts, compose="2.29.7", port=8888, version="0.1.0")}


# recorded host -> (the finding, its status, words in its detail)
VERDICTS = {
    "gpu-no-toolkit": ("GPU support in the engine", "fail", "no NVIDIA runtime"),
    "toolkit-old-driver": ("driver new enough for CUDA", "fail", "470.256.02"),
    "two-gpus": ("driver new enough for CUDA", "ok", "580.82.07"),
    "no-gpu": ("host GPUs", "skip", "no NVIDIA GPU"),
    "apple-silicon": ("host GPUs", "skip", "macOS"),
    "driver-broken": ("host GPUs", "fail", "couldn't communicate with the NVIDIA driver"),
    "port-taken": ("port 8888 free", "warn", "next free port"),
    "arm64-gpu": ("cuda image", "skip", "none is made for linux/arm64"),
}


@pytest.mark.parametrize("host", VERDICTS)
def test_doctor_verdicts_over_recorded_hosts(host):
    """Each recorded host gets the right tick, cross or dash for its GPUs, driver, runtime and port."""
    name, status, words = VERDICTS[host]
    found = verdicts(host)[name]
    assert found.status == status and words in found.detail
    assert status != "fail" or found.fix


def test_doctor_flags_a_missing_image_with_how_to_build_it():
    """No CPU image: a cross and the build command."""
    found = verdicts("no-gpu", images={})["cpu image"]
    assert found.status == "fail" and "dlab build --flavor cpu" in found.fix


@pytest.mark.engine
def test_doctor_on_this_host():
    """On this engine: CLI, daemon and socket ticked, no GPU (dash), the summary line last."""
    result = dlab("doctor")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✓ docker CLI")
    assert any(l.startswith("✓ Docker daemon reachable") for l in lines)
    assert any(l.startswith("– host GPUs: no NVIDIA GPU") for l in lines)
    assert "problem" in lines[-1]
    assert result.returncode == (0 if lines[-1].startswith("0 problems") else 1)


def test_doctor_with_a_dead_daemon(tmp_path):
    """DOCKER_HOST at a dead socket: the daemon gets a cross and the way to start it."""
    result = dlab("doctor", env={"DOCKER_HOST": f"unix://{tmp_path}/dead.sock"})
    assert result.returncode == 1
    assert "✗ Docker daemon reachable" in result.stdout and "systemctl start docker" in result.stdout


@pytest.mark.engine
def test_doctor_asks_the_engine_about_gpus(fake_gpu_host):
    """Stand-in GPUs and toolkit on PATH: the engine's real refusal still gets the cross."""
    result = dlab("doctor", env=fake_gpu_host(toolkit=True))
    assert "✓ host GPUs: 0: NVIDIA RTX A5000, 1: NVIDIA RTX A5000; driver 580.82.07" in result.stdout
    assert "✗ GPU support in the engine: a test container was refused: could not select device driver" in result.stdout
    assert result.returncode == 1


def test_doctor_says_how_labs_are_kept_apart():
    """The engine kind, the isolated network, the proxy variables seen, and the firewall note for --public."""
    found = verdicts("no-gpu", proxies=("http_proxy", "HTTPS_PROXY"), rootless=True, lab_network="absent")
    assert "rootless Docker" in found["how labs run"].detail
    assert found["labs kept apart"].status == "ok" and "inter-container traffic off" in found["labs kept apart"].detail
    assert "http_proxy, HTTPS_PROXY set" in found["proxy variables"].detail and "127.0.0.1" in found["proxy variables"].detail
    assert "ufw" in found["--public"].detail
    podman = verdicts("no-gpu", engine_name="podman", rootless=True)
    assert "--userns=keep-id" in podman["how labs run"].detail


@pytest.mark.engine
def test_doctor_names_the_proxy_variables_it_sees():
    """On this host with proxy variables at a tripwire: doctor lists them, says dlab ignores them for 127.0.0.1, sends nothing."""
    from tests.support.proxy import Tripwire

    tripwire = Tripwire()
    try:
        result = dlab("doctor", env=tripwire.env)
    finally:
        tripwire.close()
    line = next(l for l in result.stdout.splitlines() if "proxy variables" in l)
    assert "http_proxy" in line and "HTTPS_PROXY" in line and "never" in line
    assert tripwire.requests == []


def test_doctor_shows_the_engines_and_the_images_architecture():
    """The daemon line names the engine's architecture, the image line the image's."""
    found = verdicts("no-gpu", images={default_image("cpu"): recorded_image("image-inspect")})
    assert "linux/amd64" in found["Docker daemon reachable"].detail
    assert found["cpu image"].status == "ok" and "linux/amd64" in found["cpu image"].detail


def test_doctor_flags_an_image_the_engine_could_only_emulate():
    """An arm64 image on an amd64 engine: a cross, and how to build one for this engine."""
    found = verdicts("no-gpu", images={default_image("cpu"): recorded_image("image-inspect-arm64")})["cpu image"]
    assert found.status == "fail" and "built for linux/arm64" in found.detail and "emulated" in found.detail
    assert "dlab build --flavor cpu" in found.fix
