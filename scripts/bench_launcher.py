"""Launcher timings for `make bench`: `dlab up` until the URL is printed (cached image), `dlab --help`."""

from __future__ import annotations

import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time

DLAB = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "dlab")]
URL = re.compile(r"http://127\.0\.0\.1:\d+/lab\?token=")


def time_help():
    start = time.perf_counter()
    subprocess.run([*DLAB, "--help"], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def time_up(work_root):
    """Seconds from `dlab up` to the URL on its output; the lab is removed afterwards."""
    name = f"dlabbench-{secrets.token_hex(4)}"
    work = os.path.join(work_root, name)
    start = time.perf_counter()
    proc = subprocess.Popen([*DLAB, "up", "--no-browser", "--name", name, "--work", work],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = None
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if URL.search(line):
                seen = time.perf_counter() - start
        proc.wait(timeout=300)
    finally:
        subprocess.run([*DLAB, "down", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if seen is None:
        raise RuntimeError(f"`dlab up` printed no URL (exit {proc.returncode})")
    return seen


def measure_launcher(runs=5, floor=None):
    """Seconds of each run: `dlab up` to its URL ("up"), `floor()` right before each ("floor", when
    given), `dlab --help` ("help")."""
    up, floors = [], []
    with tempfile.TemporaryDirectory() as work_root:
        for _ in range(runs):
            if floor is not None:
                floors.append(floor())
            up.append(time_up(work_root))
    return {"up": up, "floor": floors, "help": [time_help() for _ in range(max(runs, 5))]}


if __name__ == "__main__":
    import json

    result = measure_launcher(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    print(json.dumps({key: statistics.median(values) for key, values in result.items() if values}, indent=2))
