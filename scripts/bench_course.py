"""`make bench` group `course`: the whole course in smoke mode inside the CPU container (target: 5 min).

One network-less container of dlab:<version>-cpu per run: make the smoke data, then run every
solution notebook with `python -m dlab_course.run --smoke`. Both steps are timed; the target is on
the notebooks, the smoke data is reported beside it.
"""

import json
import subprocess
import sys
from pathlib import Path

from bench import figure

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 300.0
SCRIPT = (
    "set -e; t0=$(date +%s.%N); python -m dlab_course.smoke_data /tmp/smoke >/dev/null 2>&1; t1=$(date +%s.%N); "
    "KERAS_HOME=/tmp/smoke/keras DLAB_DATA=/tmp/smoke/data python -m dlab_course.run --smoke --out /tmp/run "
    ">/tmp/run.log 2>&1 || true; t2=$(date +%s.%N); "
    "echo \"TIMES $t0 $t1 $t2\"; echo RESULTS; cat /tmp/run/results.json"
)


def one_run(ref):
    result = subprocess.run(["docker", "run", "--rm", "--network", "none", ref, "bash", "-c", SCRIPT],
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0 or "RESULTS" not in result.stdout:
        raise RuntimeError(f"the smoke course did not run: {result.stderr.strip()[-500:]}")
    head, _, body = result.stdout.partition("RESULTS")
    t0, t1, t2 = (float(v) for v in head.split("TIMES")[1].split())
    return t1 - t0, t2 - t1, json.loads(body)


def rows(runs):
    sys.path.insert(0, str(ROOT / "scripts"))
    from dlab import images

    ref = images.versioned_tag("cpu")
    if subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode != 0:
        return [{"name": "whole course, smoke mode", "median": None, "unit": "s", "target": TARGET_S,
                 "met": None, "note": f"{ref} not built"}]
    data_times, course_times, failed, slowest = [], [], set(), []
    for _ in range(runs):
        data_s, course_s, results = one_run(ref)
        data_times.append(data_s)
        course_times.append(course_s)
        failed |= {r["number"] for r in results if not r["ok"]}
        slowest = sorted(results, key=lambda r: -r["seconds"])[:3]
    note = "cpu container, --network none"
    if failed:
        note += f"; FAILED: {' '.join(sorted(failed))}"
    note += "; slowest: " + ", ".join(f"{r['number']} {r['seconds']:.0f}s" for r in slowest)
    return [figure("whole course, smoke mode (18 notebooks)", course_times, "s", TARGET_S, note),
            figure("smoke data made in the container", data_times, "s", None, "dlab_course.smoke_data")]
