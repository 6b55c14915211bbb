"""The command line itself: help, error format, Python 3.9, standard library only."""

import ast
import glob
import os
import shutil
import subprocess
import sys

import pytest

from dlab import check, cli, cuda, probe
from tests.support.paths import LAUNCHER, ROOT
from tests.support.runner import dlab

PACKAGE = ROOT / "scripts" / "dlab"
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py"))
COMMANDS = ("up", "down", "status", "logs", "check", "doctor", "build", "bundle", "load", "registry", "hub")
# What `dlab --help` must not load: each costs milliseconds (OpenSSL, compression, XML, threads) it does not need.
EXPENSIVE = ("hashlib", "ssl", "urllib.request", "http.client", "tarfile", "xml.etree.ElementTree",
             "concurrent.futures", "secrets", "webbrowser", "socket", "platform")


def test_help_lists_the_commands():
    """`dlab --help` lists every command: up, down, status, logs, check, doctor, build, bundle, load, registry, hub."""
    result = dlab("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"    {command}" in result.stdout


def modules_loaded_by(*args):
    """The modules `python3 scripts/dlab ARGS` imports (python -X importtime lists them on stderr)."""
    result = subprocess.run([sys.executable, "-X", "importtime", str(LAUNCHER), *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    """`dlab <command> --help` answers for every command (argparse's % formatting holds)."""
    result = dlab(command, "--help")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: dlab {command}"), result.stderr


def test_help_loads_no_expensive_module():
    """`dlab --help` answers without loading OpenSSL, tarfile, HTTP, XML, threads: each command imports them when it runs."""
    loaded = modules_loaded_by("--help")
    assert "dlab.cli" in loaded and "dlab.bundle" in loaded  # the probe sees the launcher's own imports
    assert not loaded & set(EXPENSIVE), f"`dlab --help` loads {sorted(loaded & set(EXPENSIVE))}"


def test_bad_flag_gives_two_lines_and_exit_2():
    """An unknown flag: `error:` and `fix:` on stderr, exit 2, no usage dump."""
    result = dlab("up", "--flavour", "cpu")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith("error: ")
    assert result.stderr.splitlines()[1].startswith("fix: ")


def test_unknown_flavor_is_refused():
    """`--flavor gpu` is refused with the flavors there are."""
    result = dlab("up", "--flavor", "gpu", "--no-browser")
    assert result.returncode == 2 and "invalid choice: 'gpu'" in result.stderr


@pytest.mark.parametrize("port", ["0", "65536", "-1"])
def test_port_out_of_range_is_refused(port):
    """A port outside 1-65535 stops `dlab up` before it touches anything."""
    result = dlab("up", f"--port={port}", "--no-browser", "--work", "/nonexistent/never-made")
    assert result.returncode == 2 and "out of range" in result.stderr


def test_public_without_token_is_refused():
    """`--public` without `--token`: refused, with how to make a token."""
    result = dlab("up", "--public", "--no-browser")
    assert result.returncode == 2 and "--public" in result.stderr and "token_hex" in result.stderr


@pytest.mark.parametrize("name", MODULES)
def test_launcher_parses_as_python_39(name):
    """Every launcher module is Python 3.9 syntax (students' hosts may be old)."""
    source = (PACKAGE / f"{name}.py").read_text()
    ast.parse(source, feature_version=(3, 9))


@pytest.mark.parametrize("name", MODULES)
def test_launcher_imports_only_the_standard_library(name):
    """No pip install for students: the launcher imports the standard library and itself only."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots = [node.module.split(".")[0]]
        else:
            continue
        for root in roots:
            assert root in sys.stdlib_module_names or root == "dlab", f"{name}.py imports {root}"


def python39():
    """A real Python 3.9: on PATH, or one that pyenv installed."""
    candidates = [shutil.which("python3.9"), *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9")))]
    for python in filter(None, candidates):  # a pyenv shim on PATH may not run
        if subprocess.run([python, "-c", "import sys; assert sys.version_info[:2] == (3, 9)"], capture_output=True).returncode == 0:
            return python
    pytest.skip("no Python 3.9 here (the syntax test above still holds every module to 3.9)")


def test_launcher_runs_on_python_39(tmp_path):
    """A real Python 3.9 imports every launcher module, shows `dlab --help`, and refuses a bad flag in two lines."""
    python = python39()
    names = ", ".join(f"dlab.{name}" for name in MODULES if name != "__main__")
    imported = subprocess.run([python, "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r}); import {names}"],
                              capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    assert subprocess.run([python, str(LAUNCHER), "--help"], capture_output=True, text=True).returncode == 0
    refused = subprocess.run([python, str(LAUNCHER), "up", "--port", "0", "--no-browser", "--work", str(tmp_path / "w")],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and refused.stderr.startswith("error: port 0 is out of range"), refused.stderr


def test_cuda_table_matches_the_lock():
    """The CUDA release the driver check assumes, and the NCCL dlab up names, are those the cuda lock pins."""
    lock = (ROOT / "docker" / "requirements" / "cuda-amd64.lock").read_text()
    pinned = next(line for line in lock.splitlines() if line.startswith("nvidia-cuda-runtime-cu12=="))
    assert pinned.split("==")[1].startswith(cuda.IMAGE_CUDA + ".")
    assert f"nvidia-nccl-cu12=={cuda.NCCL} " in lock


@pytest.mark.parametrize(
    "driver, windows, verdict",
    [("580.82.07", False, "ok"), ("550.54.14", False, "compat"), ("470.256.02", False, "old"),
     ("576.02", True, "ok"), ("526.98", True, "old"), ("", False, "unknown")],
)
def test_driver_verdicts(driver, windows, verdict):
    """The driver table: new enough, compatibility mode, or too old, per OS column."""
    assert cuda.driver_verdict(driver, windows=windows)[0] == verdict


def test_nvidia_smi_output_is_parsed():
    """Two GPUs from nvidia-smi's CSV: indices, names, memory, driver."""
    gpus, driver = probe.parse_nvidia_smi("0, NVIDIA A100-SXM4-40GB, GPU-aa, 40960, 550.54.14\n"
                                          "1, NVIDIA A100-SXM4-40GB, GPU-bb, 40960, 550.54.14\n")
    assert [g.index for g in gpus] == [0, 1] and gpus[1].memory_mib == 40960 and driver == "550.54.14"


def test_junit_report_becomes_rows(tmp_path):
    """`dlab check` turns pytest's JUnit XML into pass / FAIL / flagged rows."""
    report = tmp_path / "r.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="test_a" name="test_one" time="0.5"/>'
        '<testcase classname="test_a" name="test_two" time="1.0"><failure message="boom">trace</failure></testcase>'
        '<testcase classname="test_b" name="test_three" time="0"><skipped message="missing assets: x"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert check.results(report) == [
        ("one", "pass", "0.5s", ""), ("two", "FAIL", "1.0s", "boom"), ("three", "flagged", "0.0s", "missing assets: x"),
    ]


def test_every_command_module_is_listed():
    """Each module that defines a command (add_parser) is in cli.COMMANDS, the one visible list."""
    defining = {name for name in MODULES if "\ndef add_parser(" in (PACKAGE / f"{name}.py").read_text()}
    assert {module.__name__.split(".")[-1] for module in cli.COMMANDS} == defining
