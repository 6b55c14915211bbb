"""Which NVIDIA driver a CUDA release needs: NVIDIA's table kept as data."""

from __future__ import annotations

from typing import Literal

Verdict = Literal["ok", "compat", "old", "unknown"]

# The CUDA release the cuda flavor carries (nvidia-cuda-runtime-cu12 in docker/requirements/cuda-amd64.lock).
IMAGE_CUDA = "12.9"
# The NCCL the lock pins and the image leaves out (docker/trim-packages): what `pip install` brings back.
NCCL = "2.32.3"

# CUDA release -> minimum driver (Linux x86_64, Windows), from the "CUDA Toolkit and
# Corresponding Driver Versions" table of NVIDIA's CUDA Toolkit release notes (GA releases).
TOOLKIT_DRIVERS = {
    "12.9": ("575.51.03", "576.02"),
    "12.8": ("570.26", "570.65"),
    "12.6": ("560.28.03", "560.76"),
    "12.5": ("555.42.02", "555.85"),
    "12.4": ("550.54.14", "551.61"),
    "12.3": ("545.23.06", "545.84"),
    "12.2": ("535.54.03", "536.25"),
    "12.1": ("530.30.02", "531.14"),
    "12.0": ("525.60.13", "527.41"),
    "11.8": ("520.61.05", "520.06"),
}

# Minor-version compatibility: a CUDA major release runs on the driver of its .0 release,
# without the features that need the newer driver (PTX JIT of newer code among them).
MINOR_COMPAT_DRIVERS = {
    "12": ("525.60.13", "527.41"),
    "11": ("450.80.02", "452.39"),
}


def parse_version(text: str) -> tuple[int, ...]:
    """'550.54.14' -> (550, 54, 14); anything unreadable -> ()."""
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError:
        return ()


def driver_verdict(driver: str, cuda: str = IMAGE_CUDA, windows: bool = False) -> tuple[Verdict, str]:
    """(verdict, the driver the full release needs).

    Windows drivers (and WSL2, whose nvidia-smi reports the Windows driver) use the second column.
    """
    column = 1 if windows else 0
    full = TOOLKIT_DRIVERS[cuda][column]
    compat = MINOR_COMPAT_DRIVERS[cuda.split(".")[0]][column]
    have = parse_version(driver)
    if not have:
        return "unknown", full
    if have >= parse_version(full):
        return "ok", full
    if have >= parse_version(compat):
        return "compat", full
    return "old", compat
