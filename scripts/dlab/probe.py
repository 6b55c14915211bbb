"""Host facts for the plan: the docker engine, NVIDIA GPUs, ports, the work folder, the display."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from . import defaults, engine, places

GPU_QUERY = "index,name,uuid,memory.total,driver_version"
WSL_NVIDIA_SMI = "/usr/lib/wsl/lib/nvidia-smi"
TOOLKIT_TOOLS = ("nvidia-container-runtime-hook", "nvidia-container-runtime", "nvidia-ctk")
Daemon = Literal["ok", "down", "denied", "no-cli"]
Network = Literal["absent", "isolated", "open"]
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


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
    dangling: str = ""              # a symlink to nothing: where it points
    default: bool = False           # dlab chose it (no --work): its missing parents are made too
    checkout: bool = False          # the default is an older dlab's ./work with files, kept in use


@dataclass
class HostFacts:
    """Everything plan() needs to know about the host; recorded as JSON for the tests."""

    system: str = "Linux"
    machine: str = "x86_64"
    wsl: bool = False
    uid: int | None = 1000
    gid: int | None = 1000
    sudo_uid: int | None = None        # under sudo: who called it (SUDO_UID, SUDO_GID)
    sudo_gid: int | None = None
    login: str = "student"             # the person's login name, in their labs' container names
    display: bool = False
    docker_cli: str | None = "/usr/bin/docker"
    daemon: Daemon = "ok"
    daemon_error: str = ""
    engine_os: str = ""                # "Docker Desktop", "Debian GNU/Linux 12 (bookworm)", ...
    engine_arch: str = "x86_64"
    engine_version: str = ""
    engine_root: str = ""              # DockerRootDir, where images are stored
    engine_name: str = "docker"        # docker | podman
    rootless: bool = False             # the engine runs as an unprivileged user (rootless Docker, Podman)
    engine_cpus: int = 0               # what the engine's containers can use (a VM's, on Docker Desktop)
    engine_memory: int = 0
    swap_limit: bool = False           # the engine can limit swap (--memory-swap)
    cgroup: str = "2"                  # the engine's cgroup version: rootless engines limit nothing on 1
    runtimes: tuple[str, ...] = ("runc",)
    cdi_gpu: bool = False              # a CDI spec names nvidia.com/gpu
    toolkit_tools: tuple[str, ...] = ()  # NVIDIA Container Toolkit programs on PATH
    nvidia_smi: str | None = None
    nvidia_smi_error: str = ""
    gpus: tuple[Gpu, ...] = ()
    driver: str = ""
    images: dict[str, engine.Image] = field(default_factory=dict)  # the asked refs that are present
    existing: engine.Instance | None = None  # a container already named as asked
    busy_ports: tuple[int, ...] = ()
    work: Work | None = None
    gpu_refused: str = ""              # the engine's refusal, once a run with GPUs failed
    lab_network: Network = "isolated"  # the network labs share, where they cannot reach each other
    data: str = "/home/student/.local/share/dlab"  # the per-user data folder (places.data_home)
    tls_problem: str = ""              # why --certfile/--keyfile cannot serve HTTPS
    proxies: tuple[str, ...] = ()      # the proxy variables set (dlab ignores them for 127.0.0.1)

    @property
    def caller(self) -> places.Caller:
        return places.Caller(self.uid, self.gid, self.sudo_uid, self.sudo_gid, self.login)


def parse_nvidia_smi(text: str) -> tuple[tuple[Gpu, ...], str]:
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


def parse_docker_info(data: dict) -> dict:
    """The HostFacts fields that `docker info --format '{{json .}}'` gives (Podman's own CLI too)."""
    errors = data.get("ServerErrors") or []
    if errors:
        denied = engine.classify(" ".join(errors)).kind == "permission-denied"
        return {"daemon": "denied" if denied else "down", "daemon_error": errors[0]}
    if isinstance(data.get("host"), dict) and "store" in data:
        return parse_podman_info(data)
    return {
        "daemon": "ok",
        "engine_os": data.get("OperatingSystem", ""),
        "engine_arch": data.get("Architecture", ""),
        "engine_version": data.get("ServerVersion", ""),
        "engine_root": data.get("DockerRootDir", ""),
        "runtimes": tuple(sorted((data.get("Runtimes") or {}).keys())),
        "cdi_gpu": any(_cdi_names_gpu(d) for d in data.get("CDISpecDirs") or ()),
        "rootless": any("name=rootless" in option for option in data.get("SecurityOptions") or ()),
        "engine_cpus": data.get("NCPU") or 0,
        "engine_memory": data.get("MemTotal") or 0,
        "swap_limit": bool(data.get("SwapLimit")),
        "cgroup": str(data.get("CgroupVersion") or "1"),
    }


def parse_podman_info(data: dict) -> dict:
    """`podman info --format json`, which a docker command that is Podman's prints."""
    host = data.get("host") or {}
    return {
        "daemon": "ok", "engine_name": "podman",
        "engine_os": (host.get("distribution") or {}).get("distribution", ""),
        "engine_arch": host.get("arch", ""), "engine_version": (data.get("version") or {}).get("Version", ""),
        "engine_root": (data.get("store") or {}).get("graphRoot", ""),
        "runtimes": tuple(sorted(filter(None, [(host.get("ociRuntime") or {}).get("name", "")]))),
        "rootless": bool((host.get("security") or {}).get("rootless")),
        "engine_cpus": host.get("cpus") or 0, "engine_memory": host.get("memTotal") or 0,
        "swap_limit": host.get("cgroupVersion") == "v2", "cgroup": str(host.get("cgroupVersion") or "v1").lstrip("v"),
    }


def engine_name(components: list) -> str:
    """docker | podman, from `docker version`'s server components (the docker CLI on Podman's socket)."""
    names = [str(c.get("Name", "")) for c in components or () if isinstance(c, dict)]
    return "podman" if any("podman" in n.lower() for n in names) else "docker"


def _cdi_names_gpu(folder: str) -> bool:
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


def probe_docker_info() -> dict:
    result = engine.run(["info", "--format", "{{json .}}"], check=False, timeout=30)
    try:
        data = json.loads(result.stdout)
    except ValueError:
        data = {}
    if result.returncode != 0 and not data.get("ServerErrors"):
        data = {"ServerErrors": [engine.first_line(result.stderr)]}
    facts = parse_docker_info(data)
    if facts["daemon"] == "ok" and "engine_name" not in facts:
        version = engine.run(["version", "--format", "{{json .Server.Components}}"], check=False, timeout=30)
        try:
            facts["engine_name"] = engine_name(json.loads(version.stdout or "[]"))
        except ValueError:
            pass
    return facts


def probe_network(name: str) -> Network:
    """Whether the labs' network exists, and keeps its containers from reaching each other."""
    result = engine.run(["network", "inspect", name], check=False, timeout=30)
    try:
        found = json.loads(result.stdout or "[]") if result.returncode == 0 else []
    except ValueError:
        found = []
    if not found:
        return "absent"
    options = found[0].get("Options") or found[0].get("options") or {}
    return "isolated" if options.get("com.docker.network.bridge.enable_icc") == "false" else "open"


def probe_nvidia_smi() -> dict:
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


def nvidia_smi_facts(path: str, returncode: int, output: str) -> dict:
    """The HostFacts fields from one run of the GPU query."""
    if returncode != 0:
        return {"nvidia_smi": path, "nvidia_smi_error": engine.first_line(output)}
    gpus, driver = parse_nvidia_smi(output)
    return {"nvidia_smi": path, "gpus": gpus, "driver": driver}


def probe_work(path: str, default: bool = False, checkout: bool = False) -> Work:
    path = os.path.abspath(os.path.expanduser(path))
    parent = os.path.dirname(path)
    try:
        os.stat(path)
    except PermissionError:
        return Work(path=path, reachable=False)
    except OSError:
        pass
    exists = os.path.lexists(path)
    dangling = os.readlink(path) if os.path.islink(path) and not os.path.exists(path) else ""
    return Work(
        path=path,
        exists=exists,
        is_dir=os.path.isdir(path),
        writable=exists and os.access(path, os.W_OK | os.X_OK),
        parent_exists=os.path.isdir(parent),
        parent_writable=os.access(parent, os.W_OK | os.X_OK),
        dangling=dangling,
        default=default,
        checkout=checkout,
    )


def probe_default_work(data: str) -> Work:
    """No --work: an older dlab's ./work where it has files, else the work folder in the data folder."""
    checkout = os.path.abspath(defaults.WORK)
    path, kept = places.default_work(checkout, os.path.isdir(checkout) and places.has_files(checkout), data)
    return probe_work(path, default=True, checkout=kept)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether the engine could publish port: nothing listens there (on Linux a port in TIME_WAIT, or one a
    test holds without listening, is free to docker-proxy, which binds with SO_REUSEADDR as this does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if sys.platform.startswith("linux"):  # elsewhere SO_REUSEADDR may bind beside a listener
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def busy_ports_from(port: int, host: str = "127.0.0.1") -> tuple[int, ...]:
    """The taken ports from `port` up to the first free one."""
    busy = []
    for candidate in range(port, min(port + defaults.PORT_WINDOW, 65536)):
        if port_is_free(candidate, host):
            break
        busy.append(candidate)
    return tuple(busy)


def http_get(address: str, path: str, method: str = "GET", headers: dict[str, str] | None = None,
             timeout: float = 2.0, tls: bool = False) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) from http(s)://address/path, asked directly, never through a proxy; status 0: no answer.

    With tls, the certificate is not checked: this is for our own labs on 127.0.0.1, often self-signed.
    """
    import http.client

    host, _, port = address.rpartition(":")
    connection: http.client.HTTPConnection
    if tls:
        import ssl

        connection = http.client.HTTPSConnection(host, int(port), timeout=timeout,
                                                 context=ssl._create_unverified_context())
    else:
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(method, path, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    except (OSError, http.client.HTTPException):
        return 0, {}, b""
    finally:
        connection.close()


def is_wsl() -> bool:
    if os.environ.get("WSL_DISTRO_NAME"):
        return True
    try:
        with open("/proc/version", encoding="utf-8") as f:
            return "microsoft" in f.read().lower()
    except OSError:
        return False


def has_display(system: str, wsl: bool) -> bool:
    if system in ("Darwin", "Windows"):
        return True
    if wsl:
        return bool(shutil.which("wslview") or shutil.which("explorer.exe"))
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def probe_host(image_refs: Sequence[str] = (), name: str | None = None, port: int | None = None,
               public: bool = False, work: str | None = None, network: str | None = None,
               tls: tuple[str, str] | None = None) -> HostFacts:
    """Ask the host and the engine, the slow questions at the same time.

    work: the asked --work ("": dlab's default); name: the lab, looked up among the caller's; network: the
    labs' network to look at; tls: a certificate and key to check.
    """
    from concurrent.futures import ThreadPoolExecutor

    system = platform.system()
    wsl = system == "Linux" and is_wsl()
    person = places.caller()
    facts = HostFacts(system=system, machine=platform.machine(), wsl=wsl, display=has_display(system, wsl),
                      uid=person.uid, gid=person.gid, sudo_uid=person.sudo_uid, sudo_gid=person.sudo_gid,
                      login=person.login, docker_cli=engine.docker_cli(),
                      toolkit_tools=tuple(filter(shutil.which, TOOLKIT_TOOLS)), runtimes=(),
                      data=places.user_data(person),
                      proxies=tuple(v for v in os.environ if v.lower() in PROXY_VARIABLES and os.environ[v]))
    with ThreadPoolExecutor(max_workers=5 + len(image_refs)) as pool:
        smi = pool.submit(probe_nvidia_smi)
        if facts.docker_cli:
            info = pool.submit(probe_docker_info)
            images = {ref: pool.submit(engine.inspect_image, ref) for ref in image_refs}
            existing = pool.submit(engine.find_lab, name, person.owner, person.container(name)) if name else None
            lab_network = pool.submit(probe_network, network) if network else None
        if work is not None:
            facts.work = probe_work(work) if work else probe_default_work(facts.data)
        if port is not None:
            facts.busy_ports = busy_ports_from(port, "0.0.0.0" if public else "127.0.0.1")
        if tls is not None:
            from .tls import pair_problem

            facts.tls_problem = pair_problem(*tls)
        if facts.docker_cli:
            for key, value in info.result().items():
                setattr(facts, key, value)
            if facts.daemon == "ok":
                found = {ref: future.result() for ref, future in images.items()}
                facts.images = {ref: image for ref, image in found.items() if image is not None}
                facts.existing = existing.result() if existing else None
                facts.lab_network = lab_network.result() if lab_network else facts.lab_network
        else:
            facts.daemon = "no-cli"
        for key, value in smi.result().items():
            setattr(facts, key, value)
    return facts
