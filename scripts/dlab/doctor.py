"""`dlab doctor`: every prerequisite of the lab, with a tick or a cross and the fix."""

from __future__ import annotations

from dataclasses import dataclass

# Free disk the engine needs to build or load an image of each flavor (with room for layers).
DISK_NEEDED_GB = {"cpu": 12, "cuda": 25}
MARKS = {"ok": ("✓", "ok"), "fail": ("✗", "FAIL"), "warn": ("!", "warn"), "skip": ("–", "-")}


@dataclass
class Finding:
    name: str
    status: str        # ok | fail | warn | skip
    detail: str
    fix: str = ""


def add_parser(subparsers):
    parser = subparsers.add_parser("doctor", help="check every prerequisite and say how to fix what is missing")
    parser.add_argument("--port", type=int, default=8888, help="the port `dlab up` would use (default 8888)")
    parser.set_defaults(func=run)


def findings(facts, compose, port, version, refusal=""):
    """The doctor's verdicts from host facts (pure, like plan())."""
    from . import cuda, engine
    from .images import default_image
    from .plan import driver_verdict, engine_gives_gpus

    out = []
    if not facts.docker_cli:
        err = engine.missing_cli()
        return [Finding("docker CLI", "fail", "not on PATH", err.fix)]
    out.append(Finding("docker CLI", "ok", facts.docker_cli))
    if facts.daemon == "ok":
        out.append(Finding("Docker daemon reachable", "ok", f"engine {facts.engine_version} ({facts.engine_os})"))
        out.append(Finding("permission on the engine socket", "ok", "granted"))
    elif facts.daemon == "denied":
        err = engine.daemon_error("denied", facts.daemon_error)
        out.append(Finding("Docker daemon reachable", "skip", "cannot tell without permission"))
        out.append(Finding("permission on the engine socket", "fail", facts.daemon_error, err.fix))
    else:
        err = engine.daemon_error("down", facts.daemon_error)
        out.append(Finding("Docker daemon reachable", "fail", facts.daemon_error, err.fix))
        out.append(Finding("permission on the engine socket", "skip", "no daemon to ask"))
    if compose:
        out.append(Finding("Docker Compose v2", "ok", compose))
    else:
        out.append(Finding("Docker Compose v2", "warn", "`docker compose` not found (needed only for compose.yaml)",
                           "install the docker-compose-plugin (Docker Desktop has it)"))
    has_gpu = bool(facts.gpus)
    flavors = ("cpu", "cuda") if has_gpu else ("cpu",)
    out.append(disk_finding(facts, [f for f in flavors if default_image(f) not in facts.images]))
    if facts.system == "Darwin":
        out.append(Finding("host GPUs", "skip", "macOS: Docker cannot give containers a GPU; the CPU image is used"))
    elif not facts.nvidia_smi:
        out.append(Finding("host GPUs", "skip", "no NVIDIA GPU (no nvidia-smi): the CPU image is used"))
    elif facts.nvidia_smi_error:
        out.append(Finding("host GPUs", "fail", f"nvidia-smi failed: {facts.nvidia_smi_error}",
                           "reinstall or reload the NVIDIA driver (a reboot after a kernel update often does it)"))
    else:
        names = ", ".join(f"{g.index}: {g.name}" for g in facts.gpus)
        out.append(Finding("host GPUs", "ok", f"{names}; driver {facts.driver}"))
    if has_gpu:
        if refusal:
            out.append(Finding("GPU support in the engine", "fail", f"a test container was refused: {refusal}", engine.TOOLKIT_FIX))
        elif engine_gives_gpus(facts):
            how = "nvidia runtime" if "nvidia" in facts.runtimes else "CDI spec" if facts.cdi_gpu else (
                ", ".join(facts.toolkit_tools) or facts.engine_os)
            out.append(Finding("GPU support in the engine", "ok", how))
        else:
            out.append(Finding("GPU support in the engine", "fail", "no NVIDIA runtime, CDI spec or toolkit found", engine.TOOLKIT_FIX))
        verdict, needed = driver_verdict(facts)
        detail = f"driver {facts.driver}, CUDA {cuda.IMAGE_CUDA} image needs {needed}"
        status = {"ok": "ok", "compat": "warn", "old": "fail"}.get(verdict, "warn")
        fix = "" if verdict == "ok" else f"update the NVIDIA driver to {needed} or newer"
        if verdict == "compat":
            detail += " (runs in compatibility mode)"
        out.append(Finding("driver new enough for CUDA", status, detail, fix))
    else:
        out.append(Finding("GPU support in the engine", "skip", "no GPU to give"))
        out.append(Finding("driver new enough for CUDA", "skip", "no GPU"))
    for flavor in ("cpu", "cuda"):
        out.append(image_finding(facts, flavor, version, needed=flavor in flavors))
    if facts.busy_ports:
        out.append(Finding(f"port {port} free", "warn", "taken; `dlab up` will take the next free port",
                           f"or pass another with --port"))
    else:
        out.append(Finding(f"port {port} free", "ok", "free on 127.0.0.1"))
    return out


def disk_finding(facts, to_fetch):
    import os
    import shutil

    root = facts.engine_root
    if not root or not os.path.isdir(root):
        return Finding("disk space for the image", "skip", "the engine's storage is not on this file system (a VM?)")
    free_gb = shutil.disk_usage(root).free / 1e9
    needed = sum(DISK_NEEDED_GB[f] for f in to_fetch)
    if free_gb < needed:
        return Finding("disk space for the image", "fail", f"{free_gb:.0f} GB free in {root}, {needed} GB needed",
                       "free some space (`docker system prune`) or move the engine's data-root")
    return Finding("disk space for the image", "ok", f"{free_gb:.0f} GB free in {root}" + (f", {needed} GB needed" if needed else ""))


def image_finding(facts, flavor, version, needed):
    from .images import default_image

    ref = default_image(flavor)
    name = f"{flavor} image"
    if ref not in facts.images:
        if not needed:
            return Finding(name, "skip", f"{ref} not built (not needed without a GPU)")
        return Finding(name, "fail", f"{ref} is not in the engine",
                       f"`dlab build --flavor {flavor}` (or `dlab up` builds it), or `dlab load FILE` offline")
    labelled = facts.images[ref].get("org.opencontainers.image.version", "?")
    if labelled != version:
        return Finding(name, "warn", f"{ref} says version {labelled}", f"rebuild: `dlab build --flavor {flavor}`")
    return Finding(name, "ok", f"{ref}, version {labelled}")


def compose_version():
    from . import engine

    result = engine.run(["compose", "version", "--short"], check=False, timeout=20)
    return result.stdout.strip() if result.returncode == 0 else ""


def mark(status, stream):
    fancy, plain = MARKS[status]
    try:
        fancy.encode(stream.encoding or "ascii")
        return fancy
    except (UnicodeEncodeError, LookupError):
        return plain


def run(args):
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from .images import FLAVORS, default_image, version
    from .probe import probe_host

    with ThreadPoolExecutor(max_workers=1) as pool:
        compose = pool.submit(compose_version) if __import__("shutil").which("docker") else None
        facts = probe_host(image_refs=[default_image(f) for f in FLAVORS], port=args.port)
        refusal = ""
        if facts.gpus and facts.daemon == "ok":
            from .act import gpus_refused

            refusal = gpus_refused("all", facts.images)  # the engine's word beats any sign on the host
        found = findings(facts, compose.result() if compose else "", args.port, version(), refusal)
    for f in found:
        print(f"{mark(f.status, sys.stdout)} {f.name}: {f.detail}")
        if f.fix and f.status in ("fail", "warn"):
            print(f"    fix: {f.fix}")
    failed = [f.name for f in found if f.status == "fail"]
    print(f"{len(failed)} problem{'s' if len(failed) != 1 else ''}" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
