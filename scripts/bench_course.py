"""`make bench` group `course`: the smoke course inside the CPU container, as the execution tests run it (target: 5 min).

One network-less container of dlab:<version>-cpu per run: make the smoke data, run every notebook with
`python -m dlab_course.run --smoke --kind check --jobs 2` (each solution to the end and every stub
checked, two kernels at a time), then the untrained runs (`--kind untrained`). Each step is timed; the
target is on the check run. The floor beside it: one bare `import tensorflow, keras` in the same
container, which every kernel pays once.
"""

import json
import statistics
import subprocess
import sys
from pathlib import Path

from bench import figure

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 300.0
JOBS = 2
RUN = f"KERAS_HOME=/tmp/smoke/keras DLAB_DATA=/tmp/smoke/data python -m dlab_course.run --smoke --jobs {JOBS}"
SCRIPT = (
    "set -e; now() { date +%s.%N; }; t0=$(now); python -c 'import tensorflow, keras' 2>/dev/null; t1=$(now); "
    "python -m dlab_course.smoke_data /tmp/smoke >/dev/null 2>&1; t2=$(now); "
    f"{RUN} --kind check --out /tmp/check >/tmp/check.log 2>&1 || true; t3=$(now); "
    f"{RUN} --kind untrained --out /tmp/untrained >/tmp/untrained.log 2>&1 || true; t4=$(now); "
    "echo \"TIMES $t0 $t1 $t2 $t3 $t4\"; echo RESULTS; cat /tmp/check/results.json; echo RESULTS; cat /tmp/untrained/results.json"
)


def one_run(ref):
    """(seconds of: TF import, smoke data, check run, untrained run), and the two result lists."""
    result = subprocess.run(["docker", "run", "--rm", "--network", "none", ref, "bash", "-c", SCRIPT],
                            capture_output=True, text=True, timeout=3600)
    if result.returncode != 0 or result.stdout.count("RESULTS") != 2:
        raise RuntimeError(f"the smoke course did not run: {result.stderr.strip()[-500:]}")
    head, check, untrained = result.stdout.split("RESULTS")
    t = [float(v) for v in head.split("TIMES")[1].split()]
    return [b - a for a, b in zip(t, t[1:])], json.loads(check), json.loads(untrained)


def note(results, what):
    failed = sorted({r["number"] for r in results if not r["ok"]})
    slowest = sorted(results, key=lambda r: -r["seconds"])[:4]
    text = f"{len(results)} notebooks, {what}; kernels' CPU {cpu_total(results):.0f} s"
    if failed:
        text += f"; FAILED: {' '.join(failed)}"
    return text + "; slowest: " + ", ".join(f"{r['number']} {r['seconds']:.0f}s" for r in slowest)


def per_notebook(runs):
    """{number: [median wall seconds, median CPU seconds of its kernel]} over the runs."""
    seconds = {}
    for results in runs:
        for r in results:
            seconds.setdefault(r["number"], []).append((r["seconds"], r.get("cpu_seconds", 0.0)))
    return {number: [round(statistics.median(v[i] for v in values), 1) for i in (0, 1)] for number, values in seconds.items()}


def cpu_total(results):
    return sum(r.get("cpu_seconds", 0.0) for r in results)


def rows(runs):
    sys.path.insert(0, str(ROOT / "scripts"))
    from dlab import images

    ref = images.versioned_tag("cpu")
    if subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode != 0:
        return [{"name": "whole course, smoke mode", "median": None, "unit": "s", "target": TARGET_S,
                 "met": None, "note": f"{ref} not built"}]
    times, checks, untrains = [], [], []
    for _ in range(runs):
        seconds, check, untrained = one_run(ref)
        times.append(seconds)
        checks.append(check)
        untrains.append(untrained)
    column = list(zip(*times))
    return [
        dict(figure("whole course, smoke mode (solutions + every stub)", column[2], "s", TARGET_S,
                    note(check, f"--kind check --jobs {JOBS}, cpu container, --network none")),
             per_notebook=per_notebook(checks)),
        dict(figure("untrained runs (each final assert fails)", column[3], "s", None,
                    note(untrained, f"--kind untrained --jobs {JOBS}")), per_notebook=per_notebook(untrains)),
        figure("floor: import tensorflow, keras (each kernel pays it)", column[0], "s", None, "same container, one process"),
        figure("smoke data made in the container", column[1], "s", None, "dlab_course.smoke_data"),
    ]
