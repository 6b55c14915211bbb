"""`dlab doctor`: every prerequisite of the lab, with a tick or a cross and the fix."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Literal

from . import cuda, engine, ui
from .defaults import PORT, Label
from .images import FLAVORS, architecture, default_image, version

Status = Literal["ok", "fail", "warn", "skip", "info"]


@dataclass
class Finding:
    name: str
    status: Status
    detail: str
    fix: str = ""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("doctor", help="check every prerequisite and say how to fix what is missing")
    parser.add_argument("--port", type=int, default=PORT, help=f"the port `dlab up` would use (default {PORT})")
    parser.set_defaults(func=run)


def findings(facts, compose: str, port: int, version: str, refusal: str = "") -> list[Finding]:
    """The doctor's verdicts from host facts (pure, like plan())."""
    from .plan import driver_verdict, engine_gives_gpus

    if not facts.docker_cli:
        return [Finding("docker CLI", "fail", "not on PATH", engine.missing_cli().fix)]
    out = [Finding("docker CLI", "ok", facts.docker_cli)]

    def add(name: str, status: Status, detail: str, fix: str = "") -> None:
        out.append(Finding(name, status, detail, fix))

    daemon, socket = "Docker daemon reachable", "permission on the engine socket"
    if facts.daemon == "ok":
        add(daemon, "ok", f"engine {facts.engine_version} ({facts.engine_os}, linux/{architecture(facts.engine_arch)})")
        add(socket, "ok", "granted")
    elif facts.daemon == "denied":
        add(daemon, "skip", "cannot tell without permission")
        add(socket, "fail", facts.daemon_error, engine.MEANINGS["permission-denied"][1])
    else:
        add(daemon, "fail", facts.daemon_error, engine.MEANINGS["daemon-down"][1])
        add(socket, "skip", "no daemon to ask")
    if compose:
        add("Docker Compose v2", "ok", compose)
    else:
        add("Docker Compose v2", "warn", "`docker compose` not found (needed only for compose.yaml)",
            "install the docker-compose-plugin (Docker Desktop has it)")
    has_gpu = bool(facts.gpus)
    native = architecture(facts.engine_arch or "amd64")
    needed = [f for f in FLAVORS if (has_gpu or not FLAVORS[f].gpus) and native in FLAVORS[f].architectures]
    out.append(disk_finding(facts, [f for f in needed if default_image(f) not in facts.images]))
    if facts.system == "Darwin":
        add("host GPUs", "skip", "macOS: Docker cannot give containers a GPU; the CPU image is used")
    elif not facts.nvidia_smi:
        add("host GPUs", "skip", "no NVIDIA GPU (no nvidia-smi): the CPU image is used")
    elif facts.nvidia_smi_error:
        add("host GPUs", "fail", f"nvidia-smi failed: {facts.nvidia_smi_error}",
            "reinstall or reload the NVIDIA driver (a reboot after a kernel update often does it)")
    else:
        add("host GPUs", "ok", f"{', '.join(f'{g.index}: {g.name}' for g in facts.gpus)}; driver {facts.driver}")
    runtime, new_enough = "GPU support in the engine", "driver new enough for CUDA"
    if not has_gpu:
        add(runtime, "skip", "no GPU to give")
        add(new_enough, "skip", "no GPU")
    else:
        if refusal:
            add(runtime, "fail", f"a test container was refused: {refusal}", engine.TOOLKIT_FIX)
        elif engine_gives_gpus(facts):
            add(runtime, "ok", "nvidia runtime" if "nvidia" in facts.runtimes else "CDI spec" if facts.cdi_gpu else (
                ", ".join(facts.toolkit_tools) or facts.engine_os))
        else:
            add(runtime, "fail", "no NVIDIA runtime, CDI spec or toolkit found", engine.TOOLKIT_FIX)
        verdict, driver = driver_verdict(facts)
        add(new_enough, "ok" if verdict == "ok" else "fail" if verdict == "old" else "warn",
            f"driver {facts.driver}, CUDA {cuda.IMAGE_CUDA} image needs {driver}"
            + (" (runs in compatibility mode)" if verdict == "compat" else ""),
            "" if verdict == "ok" else f"update the NVIDIA driver to {driver} or newer")
    out += [image_finding(facts, flavor, version, needed=flavor in needed) for flavor in FLAVORS]
    if facts.busy_ports:
        add(f"port {port} free", "warn", "taken; `dlab up` will take the next free port", "or pass another with --port")
    else:
        add(f"port {port} free", "ok", "free on 127.0.0.1")
    if facts.daemon == "ok":
        out += safety_findings(facts)
    return out


def safety_findings(facts) -> list[Finding]:
    """How labs are kept apart and private on this engine, and what dlab does with proxy variables."""
    from .isolation import network_name

    out = [Finding("how labs run", "ok", engine_kind(facts))]
    name = network_name()
    if facts.engine_name == "podman" and facts.rootless:
        out.append(Finding("labs kept apart", "ok", "rootless Podman: each lab has its own network namespace"))
    elif facts.engine_name == "podman":
        out.append(Finding("labs kept apart", "warn", "rootful Podman: labs share its default network and can reach each other",
                           "run dlab with rootless Podman (as your own user), or with Docker"))
    elif facts.lab_network == "open":
        out.append(Finding("labs kept apart", "fail", f"the network {name} lets containers reach each other",
                           f"remove it while no container uses it (`docker network rm {name}`); `dlab up` makes it again"))
    else:
        made = "made by the first `dlab up`" if facts.lab_network == "absent" else "in place"
        out.append(Finding("labs kept apart", "ok", f"network {name} with inter-container traffic off ({made})"))
    if facts.proxies:
        out.append(Finding("proxy variables", "info", f"{', '.join(facts.proxies)} set: dlab never sends its requests "
                           "to labs on 127.0.0.1 through a proxy, whatever they say"))
    else:
        out.append(Finding("proxy variables", "skip", "none set (dlab ignores them for 127.0.0.1 anyway)"))
    out.append(Finding("--public", "info", "a --public lab serves HTTPS; Docker's published ports bypass host firewalls "
                       "such as ufw and firewalld"))
    return out


def engine_kind(facts) -> str:
    if facts.engine_name == "podman":
        return ("rootless Podman: labs run as you (--userns=keep-id), so work files stay yours" if facts.rootless
                else "Podman: labs run as you, with no capabilities and no new privileges")
    if facts.rootless:
        return "rootless Docker: labs run as root inside, which is you on the host, so work files stay yours"
    return "Docker: labs run as you (under sudo: who called sudo), with no capabilities and no new privileges"


def disk_finding(facts, to_fetch: list[str]) -> Finding:
    import os
    import shutil

    root = facts.engine_root
    if not root or not os.path.isdir(root):
        return Finding("disk space for the image", "skip", "the engine's storage is not on this file system (a VM?)")
    free_gb = shutil.disk_usage(root).free / 1e9
    needed = sum(FLAVORS[f].disk_gb for f in to_fetch)
    if free_gb < needed:
        return Finding("disk space for the image", "fail", f"{free_gb:.0f} GB free in {root}, {needed} GB needed",
                       "free some space (`docker system prune`) or move the engine's data-root")
    detail = f"{free_gb:.0f} GB free in {root}" + (f", {needed} GB needed" if needed else "")
    return Finding("disk space for the image", "ok", detail)


def image_finding(facts, flavor: str, version: str, needed: bool) -> Finding:
    ref = default_image(flavor)
    name = f"{flavor} image"
    native = architecture(facts.engine_arch or "amd64")
    if native not in FLAVORS[flavor].architectures:
        return Finding(name, "skip", f"none is made for linux/{native} (docker/requirements/{flavor}.in says why)")
    if ref not in facts.images:
        if not needed:
            return Finding(name, "skip", f"{ref} not built (not needed without a GPU)")
        return Finding(name, "fail", f"{ref} is not in the engine",
                       f"`dlab build --flavor {flavor}` (or `dlab up` builds it), or `dlab load FILE` offline")
    image = facts.images[ref]
    built_for = f"linux/{architecture(image.architecture)}" if image.architecture else "an unknown architecture"
    if image.architecture and native and architecture(image.architecture) != native:
        return Finding(name, "fail", f"{ref} is built for {built_for}, the engine runs linux/{native}: it could only run "
                       "emulated", f"`dlab build --flavor {flavor}` here builds it for linux/{native}")
    labelled = image.labels.get(Label.VERSION, "?")
    if labelled != version:
        return Finding(name, "warn", f"{ref} says version {labelled} ({built_for})", f"rebuild: `dlab build --flavor {flavor}`")
    return Finding(name, "ok", f"{ref}, version {labelled}, {built_for}")


def run(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from .isolation import network_name
    from .plan import check_port
    from .probe import probe_host

    check_port(args.port)

    def compose_version() -> str:
        result = engine.run(["compose", "version", "--short"], check=False, timeout=20)
        return result.stdout.strip() if result.returncode == 0 else ""

    with ThreadPoolExecutor(max_workers=1) as pool:
        compose = pool.submit(compose_version) if engine.docker_cli() else None
        facts = probe_host(image_refs=[default_image(f) for f in FLAVORS], port=args.port, network=network_name())
        refusal = ""
        if facts.gpus and facts.daemon == "ok":
            from .act import gpus_refused

            refusal = gpus_refused("all", facts.images)  # the engine's word beats any sign on the host
        found = findings(facts, compose.result() if compose else "", args.port, version(), refusal)
    for f in found:
        print(f"{ui.mark(f.status)} {f.name}: {f.detail}")
        if f.fix and f.status in ("fail", "warn"):
            print(f"    fix: {f.fix}")
    failed = [f.name for f in found if f.status == "fail"]
    print(f"{len(failed)} problem{'s' if len(failed) != 1 else ''}" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
