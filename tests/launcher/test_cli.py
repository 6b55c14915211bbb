"""The command line itself: help, error format, Python 3.9, standard library only."""

import ast
import sys
from pathlib import Path

import pytest

from launcher_helpers import ROOT, dlab
from dlab import check, cli, cuda, probe

PACKAGE = ROOT / "scripts" / "dlab"
MINE = ["__main__", "cli", "probe", "plan", "act", "engine", "cuda", "up", "instances", "check", "doctor", "bench_launcher"]


def test_help_lists_the_commands():
    """`dlab --help` lists up, down, status, logs, check and doctor."""
    result = dlab("--help")
    assert result.returncode == 0
    for command in ("up", "down", "status", "logs", "check", "doctor"):
        assert f"    {command}" in result.stdout


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


@pytest.mark.parametrize("name", MINE)
def test_launcher_parses_as_python_39(name):
    """Every launcher module is Python 3.9 syntax (students' hosts may be old)."""
    source = (PACKAGE / f"{name}.py").read_text()
    ast.parse(source, feature_version=(3, 9))


@pytest.mark.parametrize("name", MINE)
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


def test_cuda_table_matches_the_lock():
    """The CUDA release the driver check assumes is the one the cuda lock pins."""
    lock = (ROOT / "docker" / "requirements" / "cuda.lock").read_text()
    pinned = next(line for line in lock.splitlines() if line.startswith("nvidia-cuda-runtime-cu12=="))
    assert pinned.split("==")[1].startswith(cuda.IMAGE_CUDA + ".")


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


def test_missing_command_module_is_skipped(monkeypatch):
    """A command module not written yet (say `bundle`) leaves the other commands working."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("up", "not_written_yet"))
    parser = cli.build_parser()
    assert parser.parse_args(["up"]).func
