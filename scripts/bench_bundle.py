"""`make bench` group `bundle`: bundle size against image size, bundle time and load time (medians).

Works on a throwaway tag of the cpu image (never on dlab:<version>-cpu itself), bundles it without the
wheelhouse (that is a download, not our speed), loads it back after removing the tag.
"""

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import figure

ROOT = Path(__file__).resolve().parents[1]
DLAB = [sys.executable, str(ROOT / "scripts" / "dlab")]
GB = 1e9


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True)


def timed(*args):
    started = time.perf_counter()
    result = subprocess.run([*DLAB, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`dlab {args[0]}` failed: {result.stderr.strip()}")
    return time.perf_counter() - started


def rows(runs):
    sys.path.insert(0, str(ROOT / "scripts"))
    from dlab import images

    source = images.versioned_tag("cpu")
    try:
        image_size = int(docker("image", "inspect", "-f", "{{.Size}}", source).stdout) / GB
    except subprocess.CalledProcessError:
        return [{"name": "bundle (cpu)", "median": None, "unit": "GB", "target": None, "met": None,
                 "note": f"{source} not built"}]
    ref = f"{images.REPOSITORY}:bench-{secrets.token_hex(4)}-{images.version()}-cpu"  # bundles carry dlab:... tags only
    sizes, bundle_times, load_times = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            out = os.path.join(folder, f"bundle-{run}.tar")
            docker("tag", source, ref)
            try:
                bundle_times.append(timed("bundle", out, "--image", ref, "--no-wheels", "--allow-missing"))
            finally:
                docker("image", "rm", "--no-prune", ref)
            sizes.append(os.path.getsize(out) / GB)
            try:
                load_times.append(timed("load", out))
            finally:
                subprocess.run(["docker", "image", "rm", "--no-prune", ref], capture_output=True)
            os.remove(out)
    return [
        figure("bundle size (cpu, no wheels)", sizes, "GB", None, f"image {image_size:.2f} GB uncompressed"),
        figure("bundle size / image size", [s / image_size for s in sizes], "x", 0.5, "gzip level 3"),
        figure("dlab bundle time (cpu, no wheels)", bundle_times, "s", 120.0, "docker save + gzip + sha256, the file's read back"),
        figure("dlab load time (cpu)", load_times, "s", 60.0, "checksums and the image's index (one read, gunzip) + docker load, layers already in the engine"),
    ]


if __name__ == "__main__":
    import json

    sys.path.insert(0, str(ROOT / "scripts"))
    print(json.dumps(rows(int(sys.argv[1]) if len(sys.argv) > 1 else 1), indent=2))
