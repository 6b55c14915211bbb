"""`make bench` group `arm64`: the arm64 images beside the amd64 ones, the emulated smoke subset, and
the two-architecture bundle (one stick for Intel and Apple laptops).

Needs the arm64 CPU image (`dlab build --platform linux/arm64`, emulated here); figures are informative.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import figure

ROOT = Path(__file__).resolve().parents[1]
DLAB = [sys.executable, str(ROOT / "scripts" / "dlab")]
GB = 1e9


def missing(name, unit, note):
    return {"name": name, "median": None, "unit": unit, "target": None, "met": None, "note": note}


def size_of(ref):
    result = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", ref], capture_output=True, text=True)
    return int(result.stdout) / GB if result.returncode == 0 else None


def image_sizes(images):
    rows = []
    for flavor in images.FLAVORS:
        for arch in ("amd64", "arm64"):
            name = f"image size {flavor} {arch}"
            if arch not in images.FLAVORS[flavor].architectures:
                rows.append(missing(name, "GB", f"not made (docker/requirements/{flavor}.in says why)"))
                continue
            ref = images.arch_tag(flavor, arch)
            size = size_of(ref)
            rows.append(figure(name, [size], "GB", None, "uncompressed") if size is not None
                        else missing(name, "GB", f"{ref} not built (`dlab build --flavor {flavor} --platform linux/{arch}`)"))
    return rows


def timed(command, env=None):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {(result.stdout + result.stderr).strip()[-500:]}")
    return time.perf_counter() - started


def emulated_smoke(runs):
    """The emulated smoke subset of tests/image/test_arm64.py (the image built, cached)."""
    python = ROOT / ".venv" / "bin" / "python"
    times = [timed([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests/image/test_arm64.py")])
             for _ in range(runs)]
    return figure("emulated arm64 smoke subset", times, "s", None, "one lab: token, seeding, imports, a tiny fit")


def two_arch_bundle(images, runs):
    refs = [images.arch_tag("cpu", arch) for arch in ("amd64", "arm64")]
    absent = [ref for ref in refs if size_of(ref) is None]
    if absent:
        note = f"{', '.join(absent)} not built"
        return [missing("two-architecture bundle (cpu)", "GB", note), missing("two-architecture bundle time", "s", note)]
    sizes, times = [], []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            out = os.path.join(folder, f"bundle-{run}.tar")
            times.append(timed([*DLAB, "bundle", out, "--platform", "all", "--flavor", "cpu", "--no-wheels",
                                "--allow-missing"]))
            sizes.append(os.path.getsize(out) / GB)
            os.remove(out)
    images_gb = sum(size_of(ref) for ref in refs)
    return [figure("two-architecture bundle (cpu)", sizes, "GB", None, f"images {images_gb:.2f} GB uncompressed"),
            figure("two-architecture bundle time", times, "s", None, "docker save + gzip of both, no wheels")]


def rows(runs):
    sys.path.insert(0, str(ROOT / "scripts"))
    from dlab import images

    return [*image_sizes(images), emulated_smoke(1), *two_arch_bundle(images, runs)]
