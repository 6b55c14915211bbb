"""`dlab check`: the smoke checks inside a fresh container, a table, JUnit XML, an honest exit code."""

import xml.etree.ElementTree as ET

import pytest

from tests.support.images import image_args
from tests.support.proxy import Tripwire
from tests.support.runner import dlab

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1200)]


@pytest.mark.slow
def test_check_passes_on_the_cpu_flavor(tmp_path, cpu_image):
    """On the CPU image every check passes (missing assets only flagged); JUnit XML lands in the work folder;
    with every proxy variable at a tripwire, nothing goes through a proxy."""
    work = tmp_path / "work"
    tripwire = Tripwire()
    try:
        result = dlab("check", "--flavor", "cpu", "--work", str(work), *image_args(cpu_image), env=tripwire.env)
    finally:
        tripwire.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert tripwire.requests == []
    assert result.stdout.splitlines()[-1].split(",")[1].strip() == "0 failed"
    for check in ("imports and versions", "tensorflow sees the asked gpus", "tiny keras fit",
                  "hdf5 write and read", "opencv operation", "kernel runs a cell"):
        row = next(line for line in result.stdout.splitlines() if line.startswith(check))
        assert row.split()[len(check.split())] == "pass", row
    cases = ET.parse(work / "dlab-check.xml").getroot().iter("testcase")
    assert {c.get("name") for c in cases} >= {"test_tiny_keras_fit", "test_kernel_runs_a_cell"}


def test_check_with_gpus_the_engine_refuses(tmp_path, cpu_image, fake_gpu_host):
    """`dlab check --gpus all` where the engine gives no GPU: a clear failure, not a CPU run."""
    result = dlab("check", "--gpus", "all", "--work", str(tmp_path / "work"), env=fake_gpu_host(toolkit=True))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error: the Docker engine refused GPUs: could not select device driver" in result.stderr
    assert not (tmp_path / "work" / "dlab-check.xml").exists()


@pytest.mark.slow
def test_gpu_asked_and_none_seen_names_the_cause(cpu_container):
    """The device check, told a GPU was given while TensorFlow sees none, fails and names the likely cause."""
    logs = cpu_container.run(
        ["python", "-m", "pytest", "/opt/dlab/smoke/test_devices.py", "-p", "no:cacheprovider", "-q"],
        environment={"DLAB_EXPECT_GPUS": "0"}, expect_exit=1,
    )
    assert "GPU 0 asked, TensorFlow sees none. Likely cause: no NVIDIA device in the container" in logs
    assert "this is the CPU image" in logs
