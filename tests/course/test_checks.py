"""Notebook 00's product check on the host: it accepts what a TF32 GPU computes."""

import json
import os
import re
import subprocess
import sys

import nbformat

from tests.support.paths import ROOT

SETUP = ROOT / "lab" / "notebooks" / "00-setup-check.py"


def printed(nb):
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_setup_check_accepts_tf32_rounded_inputs(tmp_path):
    """At full size, a product of inputs rounded to TF32's 10 mantissa bits (and to 9, a margin) passes 00's check."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lab"), "KERAS_HOME": str(tmp_path / "keras"), "DLAB_DATA": str(tmp_path / "data")}
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "dlab_course.run", "--set", "CHECK_BITS=9", "--out", str(out), "00"],
                            capture_output=True, text=True, timeout=600, env=env)
    record = json.loads((out / "results.json").read_text())[0]
    assert result.returncode == 0 and record["ok"], record["message"] + result.stderr[-2000:]
    text = printed(nbformat.read(record["output"], as_version=4))
    tolerance = float(re.search(r"^TOLERANCE = (\S+)$", SETUP.read_text(), re.M).group(1))
    errors = {int(bits): float(value) for bits, value in re.findall(r"inputs with +(\d+) mantissa bits.*error (\S+)", text)}
    assert set(errors) >= {23, 10, 9, 7}, text
    assert errors[9] < tolerance and errors[10] < tolerance, f"TF32 errors {errors} against the tolerance {tolerance}"
    assert errors[23] < errors[10] < errors[7], f"the error should grow as bits are dropped: {errors}"
