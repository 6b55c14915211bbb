"""`make bench`: size and speed figures against their targets, medians of several runs.

Writes build/bench.json and prints a table. `--only image,launcher` picks groups; `--runs N`.
Needs the images built (`make image FLAVOR=cpu`, `FLAVOR=cuda`) and a Docker engine.
"""

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from dlab import images  # noqa: E402
from dlab.build import locked_version  # noqa: E402

GB = 1e9


def docker(*args, **kwargs):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, **kwargs)


def figure(name, values, unit, target=None, note=""):
    """One row: the median of the runs and whether it meets its target (lower is better)."""
    value = statistics.median(values)
    return {"name": name, "median": round(value, 3), "runs": [round(v, 3) for v in values], "unit": unit,
            "target": target, "met": None if target is None else value <= target, "note": note}


def image_sizes(runs):
    rows = []
    for flavor, target in (("cpu", 1.8), ("cuda", 6.0)):
        ref = images.versioned_tag(flavor)
        try:
            size = int(docker("image", "inspect", "-f", "{{.Size}}", ref).stdout) / GB
        except subprocess.CalledProcessError:
            rows.append({"name": f"image size {flavor}", "median": None, "unit": "GB", "target": target,
                         "met": None, "note": f"{ref} not built"})
            continue
        rows.append(figure(f"image size {flavor}", [size], "GB", target, "uncompressed, `docker image inspect`"))
    return rows


def rebuild_after_notebook_edit(runs):
    """Copy the build context, change one notebook, rebuild with the warm cache."""
    lock = ROOT / "docker" / "requirements" / "cpu-amd64.lock"
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        for part in ("docker", "lab"):
            shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / ".dockerignore", tree)
        base = next((b for b in ("debian:bookworm-slim", "dlab-base:bookworm")
                     if subprocess.run(["docker", "image", "inspect", b], capture_output=True).returncode == 0),
                    "debian:bookworm-slim")
        notebook = sorted((tree / "lab" / "notebooks").glob("*.py"))[0]
        build = ["build", "-f", "docker/Dockerfile", "--target", "cpu", "--build-arg", f"BASE_IMAGE={base}",
                 "--build-arg", "FLAVOR=cpu", "--build-arg", f"VERSION={images.version()}",
                 "--build-arg", f"TENSORFLOW={locked_version(lock, 'tensorflow-cpu')}",
                 "--progress", "plain", "-t", "dlab-bench:rebuild", "."]
        env = {**os.environ, "DOCKER_BUILDKIT": "1"}
        docker(*build, cwd=tree, env=env)  # warm: same content as the real build
        for _ in range(runs):
            with notebook.open("a") as f:
                f.write(f"\n# %% [markdown]\n# bench edit {secrets.token_hex(4)}\n")
            started = time.perf_counter()
            docker(*build, cwd=tree, env=env)
            times.append(time.perf_counter() - started)
    subprocess.run(["docker", "image", "rm", "dlab-bench:rebuild"], capture_output=True)
    return [figure("rebuild after one notebook edit", times, "s", 15.0, "warm cache, cpu flavor")]


def api_answers(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=1):
                return True
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("Jupyter API did not answer")


def run_until_api(runs):
    ref = images.versioned_tag("cpu")
    times = []
    for _ in range(runs):
        name = f"dlabbench-{secrets.token_hex(4)}"
        started = time.perf_counter()
        try:
            docker("run", "-d", "--name", name, "-p", "127.0.0.1::8888", "-e", "JUPYTER_TOKEN=bench", ref)
            port = docker("port", name, "8888").stdout.split(":")[-1].strip()
            api_answers(port)
            times.append(time.perf_counter() - started)
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    return [figure("docker run until the Jupyter API answers", times, "s", 2.0, "cpu flavor, cached image")]


def launcher(runs):
    from bench_launcher import measure_launcher

    result = measure_launcher(runs)
    return [figure("dlab up until the URL is printed", [result["up_to_url_s"]], "s", 2.5, f"median of {runs}"),
            figure("dlab --help", [result["help_s"]], "s", 0.150, "median")]


def cnn_throughput(runs, steps=20):
    """Notebook 08's CNN trained in the container against the same lock installed natively (.venv)."""
    script = ROOT / "scripts" / "cnn_throughput.py"
    native_python = ROOT / ".venv" / "bin" / "python"
    quiet = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    native, contained = [], []
    for _ in range(runs):  # interleaved, so a busy moment hurts both sides alike
        native.append(float(subprocess.run([str(native_python), str(script), str(steps)], capture_output=True,
                                           text=True, check=True, env=quiet).stdout.split()[-1]))
        contained.append(float(docker("run", "--rm", "--network", "none", "-e", "TF_CPP_MIN_LOG_LEVEL=2", "-v",
                                      f"{script}:/tmp/cnn_throughput.py:ro", images.versioned_tag("cpu"),
                                      "python", "/tmp/cnn_throughput.py", str(steps)).stdout.split()[-1]))
    ratios = [c / n for c, n in zip(contained, native)]
    row = figure("CNN training, container / native", ratios, "x", None,
                 f"notebook 08's CNN; native {statistics.median(native):.0f} img/s, "
                 f"container {statistics.median(contained):.0f} img/s")
    row["met"] = row["median"] >= 0.97  # a floor, not a ceiling
    row["target"] = ">=0.97"
    return [row]


GROUPS = {"image": (image_sizes, rebuild_after_notebook_edit, run_until_api), "launcher": (launcher,),
          "throughput": (cnn_throughput,)}


def extra_groups():
    """Groups other parts of the project add: course, bundle, hub (each a module with `rows(runs)`)."""
    found = {}
    for name, module in (("course", "bench_course"), ("bundle", "bench_bundle"), ("hub", "bench_hub")):
        if (ROOT / "scripts" / f"{module}.py").exists():
            found[name] = (lambda runs, m=module: __import__(m).rows(runs),)
    return found


def table(rows):
    lines = [f"{'figure':46} {'median':>9} {'unit':5} {'target':>7}  met", "-" * 75]
    for r in rows:
        median = "-" if r["median"] is None else f"{r['median']:.3f}"
        target = "-" if r["target"] is None else f"{r['target']}"
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        lines.append(f"{r['name']:46} {median:>9} {r['unit']:5} {target:>7}  {met}  {r.get('note', '')}")
    return "\n".join(lines)


def main():
    sys.path.insert(0, str(ROOT / "scripts"))
    groups = {**GROUPS, **extra_groups()}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated groups: {', '.join(groups)}")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(groups)
    unknown = [g for g in chosen if g not in groups]
    if unknown:
        print(f"error: unknown bench group {unknown[0]!r}\nfix: use one of: {', '.join(groups)}", file=sys.stderr)
        return 2
    rows = []
    for group in chosen:
        for measure in groups[group]:
            print(f"measuring {group}: {measure.__name__} ...", file=sys.stderr, flush=True)
            rows.extend(dict(r, group=group) for r in measure(args.runs))
    out = ROOT / "build" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": args.runs, "figures": rows},
                              indent=2) + "\n")
    print(table(rows))
    print(f"\nwritten {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
