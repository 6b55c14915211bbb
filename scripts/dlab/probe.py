"""Host facts for the plan: the docker engine, NVIDIA GPUs, ports, the work folder, the display."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from . import engine

PORT_WINDOW = 50  # how far past the asked port `dlab up` looks for a free one
GPU_QUERY = "index,name,uuid,memory.total,driver_version"
WSL_NVIDIA_SMI = "/usr/lib/wsl/lib/nvidia-smi"
TOOLKIT_TOOLS = ("nvidia-container-runtime-hook", "nvidia-container-runtime", "nvidia-ctk")


@dataclass
class Gpu:
    index: int
    name: str
    uuid: str = ""
    memory_mib: int = 0


@dataclass
class Work:
    path: str
    exists: bool = False
    is_dir: bool = False
    writable: bool = False
    parent_exists: bool = True
    parent_writable: bool = True
    reachable: bool = True          # False: a folder above it does not let the caller through


@dataclass
class HostFacts:
    """Everything plan() needs to know about the host; recorded as JSON for the tests."""

    system: str = "Linux"
    machine: str = "x86_64"
    wsl: bool = False
    uid: Optional[int] = 1000
    gid: Optional[int] = 1000
    display: bool = False
    docker_cli: Optional[str] = "/usr/bin/docker"
    daemon: str = "ok"                 # ok | down | denied | no-cli
    daemon_error: str = ""
    engine_os: str = ""                # "Docker Desktop", "Debian GNU/Linux 12 (bookworm)", ...
    engine_arch: str = "x86_64"
    engine_version: str = ""
    engine_root: str = ""              # DockerRootDir, where images are stored
    runtimes: Tuple[str, ...] = ("runc",)
    cdi_gpu: bool = False              # a CDI spec names nvidia.com/gpu
    toolkit_tools: Tuple[str, ...] = ()  # NVIDIA Container Toolkit programs on PATH
    nvidia_smi: Optional[str] = None
    nvidia_smi_error: str = ""
    gpus: Tuple[Gpu, ...] = ()
    driver: str = ""
    images: Dict[str, Dict[str, str]] = field(default_factory=dict)  # present ref -> labels
    existing: Optional[engine.Instance] = None  # a container already named as asked
    busy_ports: Tuple[int, ...] = ()
    work: Optional[Work] = None
    gpu_refused: str = ""              # the engine's refusal, once a run with GPUs failed

    @classmethod
    def from_dict(cls, data):
        data = dict(data)
        data["gpus"] = tuple(Gpu(**g) for g in data.get("gpus", ()))
        if data.get("work") is not None:
            data["work"] = Work(**data["work"])
        if data.get("existing") is not None:
            data["existing"] = engine.Instance(**data["existing"])
        for key in ("runtimes", "toolkit_tools", "busy_ports"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


def parse_nvidia_smi(text) -> Tuple[Tuple[Gpu, ...], str]:
    """GPUs and driver version from `nvidia-smi --query-gpu=<GPU_QUERY> --format=csv,noheader,nounits`."""
    gpus, driver = [], ""
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 5 or not parts[0].isdigit():
            continue
        memory = parts[3] if parts[3].isdigit() else "0"
        gpus.append(Gpu(index=int(parts[0]), name=parts[1], uuid=parts[2], memory_mib=int(memory)))
        driver = driver or parts[4]
    return tuple(gpus), driver


def parse_docker_info(data) -> dict:
    """The HostFacts fields that `docker info --format '{{json .}}'` gives."""
    errors = data.get("ServerErrors") or []
    if errors:
        state = engine.daemon_state(" ".join(errors)) or "down"
        return {"daemon": state, "daemon_error": errors[0]}
    return {
        "daemon": "ok",
        "engine_os": data.get("OperatingSystem", ""),
        "engine_arch": data.get("Architecture", ""),
        "engine_version": data.get("ServerVersion", ""),
        "engine_root": data.get("DockerRootDir", ""),
        "runtimes": tuple(sorted((data.get("Runtimes") or {}).keys())),
        "cdi_gpu": any(_cdi_names_gpu(d) for d in data.get("CDISpecDirs") or ()),
    }


def _cdi_names_gpu(folder):
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    for name in names:
        try:
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as spec:
                if "nvidia.com/gpu" in spec.read(200_000):
                    return True
        except OSError:
            continue
    return False


def probe_docker_info():
    result = engine.run(["info", "--format", "{{json .}}"], check=False, timeout=30)
    try:
        data = json.loads(result.stdout)
    except ValueError:
        data = {}
    if result.returncode != 0 and not data.get("ServerErrors"):
        data = {"ServerErrors": [engine.first_line(result.stderr)]}
    return parse_docker_info(data)


def probe_nvidia_smi():
    """{nvidia_smi, gpus, driver, nvidia_smi_error}; no nvidia-smi at all is simply no GPU."""
    path = shutil.which("nvidia-smi") or (WSL_NVIDIA_SMI if os.path.exists(WSL_NVIDIA_SMI) else None)
    if path is None:
        return {}
    try:
        result = subprocess.run(
            [path, f"--query-gpu={GPU_QUERY}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"nvidia_smi": path, "nvidia_smi_error": str(exc)}
    return nvidia_smi_facts(path, result.returncode, result.stdout + result.stderr)


def nvidia_smi_facts(path, returncode, output):
    """The HostFacts fields from one run of the GPU query."""
    if returncode != 0:
        return {"nvidia_smi": path, "nvidia_smi_error": engine.first_line(output)}
    gpus, driver = parse_nvidia_smi(output)
    return {"nvidia_smi": path, "gpus": gpus, "driver": driver}


def probe_image(ref):
    """The labels of a local image, or None when the engine does not have it."""
    result = engine.run(["image", "inspect", "--format", "{{json .Config.Labels}}", ref], check=False)
    if result.returncode != 0:
        return None
    try:
        return json.loads(result.stdout) or {}
    except ValueError:
        return {}


def probe_work(path) -> Work:
    path = os.path.abspath(os.path.expanduser(path))
    parent = os.path.dirname(path)
    try:
        os.stat(path)
    except PermissionError:
        return Work(path=path, reachable=False)
    except OSError:
        pass
    exists = os.path.lexists(path)
    return Work(
        path=path,
        exists=exists,
        is_dir=os.path.isdir(path),
        writable=exists and os.access(path, os.W_OK | os.X_OK),
        parent_exists=os.path.isdir(parent),
        parent_writable=os.access(parent, os.W_OK | os.X_OK),
    )


def port_is_free(port, host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def busy_ports_from(port, host="127.0.0.1", window=PORT_WINDOW) -> Tuple[int, ...]:
    """The taken ports from `port` up to the first free one."""
    busy = []
    for candidate in range(port, min(port + window, 65536)):
        if port_is_free(candidate, host):
            break
        busy.append(candidate)
    return tuple(busy)


def is_wsl():
    if os.environ.get("WSL_DISTRO_NAME"):
        return True
    try:
        with open("/proc/version", encoding="utf-8") as f:
            return "microsoft" in f.read().lower()
    except OSError:
        return False


def has_display(system, wsl):
    if system in ("Darwin", "Windows"):
        return True
    if wsl:
        return bool(shutil.which("wslview") or shutil.which("explorer.exe"))
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def probe_host(image_refs=(), name=None, port=None, public=False, work=None, gpus=True) -> HostFacts:
    """Ask the host and the engine, the slow questions at the same time."""
    system = platform.system()
    wsl = system == "Linux" and is_wsl()
    facts = HostFacts(
        system=system,
        machine=platform.machine(),
        wsl=wsl,
        uid=os.getuid() if hasattr(os, "getuid") else None,
        gid=os.getgid() if hasattr(os, "getgid") else None,
        display=has_display(system, wsl),
        docker_cli=engine.docker_cli(),
        toolkit_tools=tuple(t for t in TOOLKIT_TOOLS if shutil.which(t)),
        runtimes=(),
    )
    with ThreadPoolExecutor(max_workers=4 + len(image_refs)) as pool:
        smi = pool.submit(probe_nvidia_smi) if gpus else None
        if facts.docker_cli:
            info = pool.submit(probe_docker_info)
            images = {ref: pool.submit(probe_image, ref) for ref in image_refs}
            existing = pool.submit(engine.find_instance, name) if name else None
        if work is not None:
            facts.work = probe_work(work)
        if port is not None:
            facts.busy_ports = busy_ports_from(port, "0.0.0.0" if public else "127.0.0.1")
        if facts.docker_cli:
            for key, value in info.result().items():
                setattr(facts, key, value)
            if facts.daemon == "ok":
                facts.images = {ref: f.result() for ref, f in images.items() if f.result() is not None}
                facts.existing = existing.result() if existing else None
        else:
            facts.daemon = "no-cli"
        if smi is not None:
            for key, value in smi.result().items():
                setattr(facts, key, value)
    return facts
