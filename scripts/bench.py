"""`make bench`: size and speed figures against their targets, medians of several runs.

Each timing comes with its floor, measured in the same run, interleaved (what the same machine does
with no dlab in the way: `docker run IMAGE true`, a bare `import tensorflow`), and their ratio, which
stays telling on a busy machine; the load average is recorded beside them. The "before" column holds
the figures issue 13 measured on a fresh clone before the start-up and size work; SAVINGS lists what
each change saved, as measured when it was made.

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
# Issue 13's figures on a fresh clone (2 cores, cached images, medians of 5) before its work began.
BEFORE = {
    "image size cpu": 1.94,
    "image size cuda": 6.80,
    "docker run until the Jupyter API answers": 3.9,
    "dlab up until the URL is printed": 4.9,
    "hub: spawn request until the lab is ready": 14.0,  # 7-14 s
}
# What each change saved, as measured when it landed (A/B in the same run, interleaved).
SAVINGS = [
    ("jsonschema's IRI checks through rfc3987-syntax2 (parsers built when first used, not at import)",
     "lab start, CPU until /api/status 1.85 -> 0.90 s; wall 6.9 -> 3.4 s (load 10, 2 cores, medians of 3)"),
    ("start-jupyter runs jupyter-lab itself, not through the `jupyter` front",
     "CPU until /api/status 0.80 -> 0.79 s, wall 2.31 -> 2.23 s (load 12, medians of 5): within the noise"),
    ("dlab up asks the API every 20 ms, not every 100 ms", "at most 80 ms sooner; below this machine's noise"),
    ("docker/trim-packages, both flavors: test suites, the hub's web pages, ipywidgets' classic extension, Galata, "
     "debugpy's Windows/macOS helpers, StableHLO bindings, symbol tables, identical files as hard links",
     "cpu image 1.937 -> 1.761 GB (docs/image-size.md: each cut)"),
    ("docker/trim-packages, cuda: NCCL, cuRAND, cusolverMg, NVRTC's .alt build, libNVVM (never loaded on one GPU)",
     "cuda image 6.796 -> 5.593 GB, with the cuts above"),
]


def docker(*args, **kwargs):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, **kwargs)


def figure(name, values, unit, target=None, note="", floor=None):
    """One row: the median of the runs and whether it meets its target (lower is better).

    floor: the same machine's runs of what the figure cannot beat, measured in the same run."""
    value = statistics.median(values)
    row = {"name": name, "median": round(value, 3), "runs": [round(v, 3) for v in values], "unit": unit,
           "target": target, "met": None if target is None else value <= target, "note": note}
    if floor:
        row["floor"] = round(statistics.median(floor), 3)
        row["floor_runs"] = [round(v, 3) for v in floor]
        row["ratio"] = round(value / row["floor"], 2)
    return row


def run_true(ref):
    """The floor of a lab's start: the engine alone, `docker run IMAGE true` with the lab's published port
    and no entrypoint of ours, seconds."""
    started = time.perf_counter()
    docker("run", "--rm", "-p", "127.0.0.1::8888", "--entrypoint", "true", ref)
    return time.perf_counter() - started


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
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with opener.open(f"http://127.0.0.1:{port}/api", timeout=1):
                return True
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("Jupyter API did not answer")


def container_cpu_seconds(container_id):
    """CPU seconds a running container has used (its cgroup, v1 or v2); None where the host hides it
    (Docker Desktop). Unlike wall time, it hardly moves with the machine's load."""
    for path, scale in ((f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage", 1e9),
                        (f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat", 1e6)):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        return int(text.split("usage_usec")[1].split()[0] if "usage_usec" in text else text) / scale
    return None


def run_until_api(runs):
    ref = images.versioned_tag("cpu")
    times, floor, cpu = [], [], []
    for _ in range(runs):
        floor.append(run_true(ref))
        name = f"dlabbench-{secrets.token_hex(4)}"
        started = time.perf_counter()
        try:
            cid = docker("run", "-d", "--name", name, "-p", "127.0.0.1::8888", "-e", "JUPYTER_TOKEN=bench", ref).stdout.strip()
            port = docker("port", name, "8888").stdout.split(":")[-1].strip()
            api_answers(port)
            times.append(time.perf_counter() - started)
            cpu.append(container_cpu_seconds(cid))
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    rows = [figure("docker run until the Jupyter API answers", times, "s", 2.0,
                   "cpu flavor, cached image; floor: docker run IMAGE true (no entrypoint)", floor=floor)]
    if None not in cpu:
        rows.append(figure("CPU the lab used until its API answered", cpu, "s", None,
                           "the container's cgroup: all its processes, load-independent"))
    return rows


# In the image: a kernel started as Jupyter starts it, until its first cell (`import tensorflow`)
# has run, beside a bare `python -c 'import tensorflow'`; interleaved, after one warm-up of each.
KERNEL_VS_PYTHON = """
import json, subprocess, sys, time
from jupyter_client.manager import start_new_kernel

def kernel():
    started = time.perf_counter()
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=300)
    try:
        reply = client.execute_interactive("import tensorflow", timeout=300)
        assert reply["content"]["status"] == "ok", reply["content"]
        return time.perf_counter() - started
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

def bare():
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], check=True)
    return time.perf_counter() - started

kernel(), bare()
pairs = [(kernel(), bare()) for _ in range(int(sys.argv[1]))]
print(json.dumps(pairs))
"""


def kernel_until_tensorflow(runs):
    ref = images.versioned_tag("cpu")
    out = docker("run", "--rm", "--network", "none", "-e", "TF_CPP_MIN_LOG_LEVEL=2", "--entrypoint", "python", ref,
                 "-c", KERNEL_VS_PYTHON, str(runs)).stdout
    pairs = json.loads(out.splitlines()[-1])
    return [figure("kernel start until a cell imported TensorFlow", [k for k, _ in pairs], "s", None,
                   "cpu flavor, one container; floor: python -c 'import tensorflow'", floor=[b for _, b in pairs])]


def launcher(runs):
    from bench_launcher import measure_launcher

    result = measure_launcher(runs, floor=lambda: run_true(images.versioned_tag("cpu")))
    return [figure("dlab up until the URL is printed", result["up"], "s", 2.5,
                   "cached cpu image, new work folder; floor: docker run IMAGE true (no entrypoint)", floor=result["floor"]),
            figure("dlab --help", result["help"], "s", 0.150)]


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


GROUPS = {"image": (image_sizes, rebuild_after_notebook_edit, run_until_api, kernel_until_tensorflow),
          "launcher": (launcher,),
          "throughput": (cnn_throughput,)}


def extra_groups():
    """Groups other parts of the project add: course, bundle, hub, arm64 (each a module with `rows(runs)`)."""
    found = {}
    for name, module in (("course", "bench_course"), ("bundle", "bench_bundle"), ("hub", "bench_hub"),
                         ("arm64", "bench_arm64")):
        if (ROOT / "scripts" / f"{module}.py").exists():
            found[name] = (lambda runs, m=module: __import__(m).rows(runs),)
    return found


def table(rows):
    def number(value):
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = [f"{'figure':50} {'before':>7} {'median':>8} {'floor':>7} {'xfloor':>6} {'unit':4} {'target':>6}  met",
             "-" * 100]
    for r in rows:
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.2f}"
        lines.append(f"{r['name']:50} {number(r.get('before')):>7} {number(r['median']):>8} {number(r.get('floor')):>7} "
                     f"{ratio:>6} {r['unit']:4} {number(r['target']):>6}  {met:3}  {r.get('note', '')}")
    return "\n".join(lines)


def load():
    """The 1-minute load average and the cores: how busy the machine was."""
    return {"load_1min": round(os.getloadavg()[0], 2), "cores": os.cpu_count()}


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
    rows, load_before = [], load()
    for group in chosen:
        for measure in groups[group]:
            print(f"measuring {group}: {measure.__name__} ...", file=sys.stderr, flush=True)
            rows.extend(dict(r, group=group, before=BEFORE.get(r["name"])) for r in measure(args.runs))
    out = ROOT / "build" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    machine = {"at_start": load_before, "at_end": load()}
    savings = [{"change": change, "measured": measured} for change, measured in SAVINGS]
    out.write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": args.runs, "load": machine,
                               "figures": rows, "savings": savings}, indent=2) + "\n")
    print(table(rows))
    print(f"\nload average {load_before['load_1min']} at the start, {machine['at_end']['load_1min']} at the end "
          f"({load_before['cores']} cores); before: issue 13's figures; xfloor: median / floor median")
    print("savings, as measured when each landed:")
    for change, measured in SAVINGS:
        print(f"- {change}: {measured}")
    print(f"\nwritten {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
