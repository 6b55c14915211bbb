"""The one door to the engine: the docker CLI as the user set it up (contexts, Docker Desktop),
what dlab reads back from it, and what its refusals mean (classify, then one exception each)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Callable, Literal, Union

from .defaults import Label
from .errors import DlabError, UserError

TOOLKIT_FIX = ("install the NVIDIA Container Toolkit and run `sudo nvidia-ctk runtime configure --runtime=docker"
               " && sudo systemctl restart docker` (Docker Desktop: enable GPU support in WSL2)")
Kind = Literal["daemon-down", "permission-denied", "gpu-refused", "port-taken", "no-such-image", "name-in-use",
               "no-such-path", "exec-format", "buildx-missing", "registry-http", "registry-unreachable", "other"]
# What the engine's words mean, most specific first: the first pattern found in its stderr decides.
# tests/launcher/engine/ holds what a real engine said for each.
RULES: tuple[tuple[Kind, str], ...] = (
    ("permission-denied", r"permission denied.*(?:docker\.sock|daemon socket)"),
    ("daemon-down", r"Cannot connect to the Docker daemon|error during connect"),
    ("gpu-refused", r"could not select device driver.*"),
    ("port-taken", r"(?:Bind for|listen tcp[46]?) \S*:(\d+)(?: failed: port is already allocated|: bind: address already in)"),
    ("port-taken", r"ports are not available: exposing port TCP \S*:(\d+)"),  # Docker Desktop
    ("buildx-missing", r"buildx component is missing"),
    ("registry-http", r"server gave HTTP response to HTTPS client"),
    ("no-such-image", r"No such image|reference does not exist|pull access denied|manifest unknown|invalid reference"),
    ("name-in-use", r'container name "/?([^"]+)" is already in use'),
    ("no-such-path", r"Could not find the file|No such container:path"),
    ("exec-format", r"exec format error"),
    ("registry-unreachable", r"connection refused|no such host|i/o timeout|network is unreachable"),
)
PATTERNS = [(kind, re.compile(pattern)) for kind, pattern in RULES]


@dataclass(frozen=True)
class Failure:
    """A refusal of the engine, as data: its kind, its own words, and what it names."""

    kind: Kind
    words: str           # the line that decided the kind (or the first line)
    port: int = 0        # port-taken: the host port
    name: str = ""       # name-in-use: the container name


def classify(stderr: str) -> Failure:
    for kind, pattern in PATTERNS:
        found = pattern.search(stderr or "")
        if found:
            line = stderr[stderr.rfind("\n", 0, found.start()) + 1:].split("\n", 1)[0].strip()
            line = line.replace("docker: ", "", 1).replace("Error response from daemon: ", "", 1)
            group = found.group(1) if pattern.groups else ""
            return Failure(kind, line, port=int(group) if kind == "port-taken" else 0,
                           name=group if kind == "name-in-use" else "")
    return Failure("other", first_line(stderr))


class EngineError(DlabError):
    """The engine failed; `failure` says how, so a caller may fold it back into its plan."""

    def __init__(self, failure: Failure, what: str, fix: str):
        super().__init__(what, fix)
        self.failure = failure


class EngineRefused(EngineError, UserError):
    """A failure the user can fix (exit 2): every kind but "other"."""


class GpuRefused(EngineRefused):
    """The engine will not give containers GPUs ("could not select device driver")."""

    @property
    def reason(self) -> str:
        return self.failure.words


class PortTaken(EngineRefused):
    """Someone took the host port between the probe and `docker run`."""

    @property
    def port(self) -> int:
        return self.failure.port


# kind -> (what failed, what to do), with {words} {port} {name} {subject} {command} filled in.
MEANINGS: dict[Kind, tuple[str, str]] = {
    "daemon-down": ("the Docker engine is not reachable: {words}",
                    "start Docker (Docker Desktop, or `sudo systemctl start docker`), or check DOCKER_HOST and `docker context "
                    "ls`"),
    "permission-denied": ("no permission to use the Docker engine: {words}",
                          "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again)"),
    "gpu-refused": ("the Docker engine refused GPUs: {words}", TOOLKIT_FIX),
    "port-taken": ("port {port} is taken", "pass a free port with --port"),
    "no-such-image": ("image {subject} is not in the Docker engine",
                      "build it (`dlab build`), load it (`dlab load FILE`), or check the name with `docker images`"),
    "name-in-use": ("a container named {name} exists already", "pick another --name"),
    "no-such-path": ("{subject} lacks a file dlab needs: {words}", "use an image that `dlab build` made"),
    "exec-format": ("{subject} is built for another architecture than this engine runs: {words}",
                    "use an image built for this machine (`dlab build` here, or a bundle of such an image)"),
    "buildx-missing": ("this docker CLI cannot build with BuildKit: its buildx plugin is missing",
                       "install the buildx plugin (package docker-buildx-plugin or docker-buildx)"),
    "registry-http": ("the engine will not use {subject} over plain HTTP: {words}",
                      'add "{subject}" to insecure-registries in /etc/docker/daemon.json (see docs/offline.md)'),
    "registry-unreachable": ("no registry answers at {subject}: {words}",
                             "start it (`dlab registry start`) or check the address"),
    "other": ("`docker {command}` failed: {words}", "see the message above; `dlab doctor` checks the setup"),
}


def error(stderr: str | Failure, args: Sequence[str] = (), subject: str = "") -> EngineError:
    """The exception for an engine's refusal; subject is what it was about (an image, a registry)."""
    failure = stderr if isinstance(stderr, Failure) else classify(stderr)
    what, fix = MEANINGS[failure.kind]
    fields = dict(words=failure.words, port=failure.port, name=failure.name,
                  subject=subject or (args[-1] if args else "?"), command=" ".join(args[:1]))
    kind = {"gpu-refused": GpuRefused, "port-taken": PortTaken, "other": EngineError}.get(failure.kind, EngineRefused)
    return kind(failure, what.format(**fields), fix.format(**fields))


def docker_cli() -> str | None:
    return shutil.which("docker")


def missing_cli() -> UserError:
    return UserError("the docker command is not on PATH",
                     "install Docker (Docker Desktop on macOS/Windows, Docker Engine on Linux) and open a new terminal")


def command(args: Sequence[str]) -> list[str]:
    cli = docker_cli()
    if cli is None:
        raise missing_cli()
    return [cli, *args]


def first_line(text: str) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "no message")


Stream = Union[bool, Callable[[str], None]]
Result = subprocess.CompletedProcess


def run(args: Sequence[str], *, env: dict[str, str] | None = None, stdin: Iterable[bytes] | None = None,
        stream: Stream = False, check: bool = True, timeout: float | None = None) -> Result:
    """`docker <args>`, its output captured as text; with check, a failure raises its EngineError.

    env: variables added for the CLI (so `-e NAME` passes their values, never on the command line); stdin: byte
    chunks fed to it; stream: True shows stdout as it comes and echoes stderr (still kept), a function gets every line.
    """
    argv = command(args)
    environ = {**os.environ, **env} if env else None
    try:
        if stream or stdin is not None:
            result = _piped(argv, environ, stdin, stream)
        else:
            result = subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DlabError(f"`docker {args[0]}` did not answer in {timeout} s", "check the engine with `dlab doctor`") from None
    if check and result.returncode != 0:
        raise error(result.stderr or "", args)
    return result


def _piped(argv: list[str], environ: dict[str, str] | None, stdin: Iterable[bytes] | None, stream: Stream) -> Result:
    if stdin is not None:  # docker load: feed the chunks, then read what it said
        with subprocess.Popen(argv, env=environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as feed:
            try:
                for chunk in stdin:
                    feed.stdin.write(chunk)  # type: ignore[union-attr]
                feed.stdin.close()  # type: ignore[union-attr]
            except BrokenPipeError:
                pass
            out, err = feed.stdout.read(), feed.stderr.read()  # type: ignore[union-attr]
        return Result(argv, feed.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
    merged, kept = callable(stream), []  # a function gets stdout and stderr as one; else stderr is echoed and kept
    with subprocess.Popen(argv, env=environ, text=True, stdout=subprocess.PIPE if merged else None,
                          stderr=subprocess.STDOUT if merged else subprocess.PIPE) as proc:
        for line in (proc.stdout if merged else proc.stderr) or ():
            kept.append(line)
            stream(line) if callable(stream) else sys.stderr.write(line)
    return Result(argv, proc.returncode, "".join(kept) if merged else "", "".join(kept))


def chunks(args: Sequence[str], size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes `docker <args>` writes (docker save, docker cp ... -), as they come; EngineError on failure."""
    proc = subprocess.Popen(command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout, proc.stderr
    assert out is not None and err is not None
    try:
        yield from iter(lambda: out.read(size), b"")
    finally:
        if proc.poll() is None:
            proc.kill()
        out.close()
        message = err.read().decode(errors="replace")
        err.close()
    if proc.wait() != 0:
        raise error(message, args)


@dataclass
class Image:
    """A local image, as `docker image inspect` describes it."""

    id: str
    labels: dict[str, str] = field(default_factory=dict)
    architecture: str = ""    # amd64, arm64: OCI's names
    os: str = "linux"
    size: int = 0
    created: str = ""
    tags: list[str] = field(default_factory=list)


def inspect_image(ref: str) -> Image | None:
    """The image ref names, or None when the engine has no such image."""
    result = run(["image", "inspect", ref], check=False)
    if result.returncode != 0:
        failure = classify(result.stderr)
        if failure.kind == "no-such-image":
            return None
        raise error(failure, ["image", "inspect", ref])
    return image_from_inspect(json.loads(result.stdout)[0])


def image_from_inspect(data: dict) -> Image:
    return Image(id=data.get("Id", ""), labels=(data.get("Config") or {}).get("Labels") or {},
                 architecture=data.get("Architecture", ""), os=data.get("Os", ""), size=data.get("Size", 0),
                 created=data.get("Created", ""), tags=data.get("RepoTags") or [])


def native_architecture() -> str:
    """The engine's own architecture as OCI names it (amd64, arm64); '' when it does not say."""
    from .images import architecture

    result = run(["version", "--format", "{{.Server.Arch}}"], check=False, timeout=30)
    return architecture(result.stdout.strip()) if result.returncode == 0 else ""


@dataclass
class Instance:
    """A container started by `dlab up`, as `docker inspect` describes it."""

    name: str
    id: str = ""
    state: str = ""           # running | exited | created | ...
    health: str = ""          # healthy | starting | unhealthy | ""
    image: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    token: str = ""
    user: str = ""            # uid:gid it runs as
    host_config: dict = field(default_factory=dict)  # limits, mounts, security options, as the engine says

    @property
    def is_dlab(self) -> bool:
        return Label.INSTANCE in self.labels

    @property
    def lab_name(self) -> str:
        """The name its owner gave it (the container's name also names the owner)."""
        return self.labels.get(Label.INSTANCE, self.name)

    @property
    def owner(self) -> str:
        """Whose lab it is: its owner label, or for a lab of an older dlab the uid it runs as."""
        return self.labels.get(Label.OWNER) or self.user.split(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.labels.get(Label.PORT, "0") or 0)

    @property
    def scheme(self) -> str:
        return self.labels.get(Label.SCHEME, "http")

    @property
    def url(self) -> str:
        return lab_url(self.port, self.token, scheme=self.scheme) if self.port else ""


def lab_url(port: int, token: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
    return f"{scheme}://{host}:{port}/lab" + (f"?token={token}" if token else "")


def instance_from_inspect(data: dict) -> Instance:
    config, state = data.get("Config") or {}, data.get("State") or {}
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    return Instance(name=data.get("Name", "").lstrip("/"), id=data.get("Id", "")[:12], state=state.get("Status", ""),
                    health=(state.get("Health") or {}).get("Status", ""), image=config.get("Image", ""),
                    labels=config.get("Labels") or {}, token=env.get("JUPYTER_TOKEN", ""), user=config.get("User") or "",
                    host_config=data.get("HostConfig") or {})


def inspect_containers(refs: Sequence[str]) -> list[Instance]:
    """The containers among refs (names or ids) that exist; missing ones are left out."""
    if not refs:
        return []
    result = run(["container", "inspect", *refs], check=False)
    if result.returncode != 0 and classify(result.stderr).kind in ("daemon-down", "permission-denied"):
        raise error(result.stderr, ["container"])
    try:
        return [instance_from_inspect(item) for item in json.loads(result.stdout or "[]")]
    except ValueError:
        return []


def list_instances(owner: str | None = None, name: str | None = None) -> list[Instance]:
    """The labs of `dlab up` (those of owner, named name, when given), by name."""
    label = Label.INSTANCE + (f"={name}" if name is not None else "")
    ids = run(["ps", "-a", "-q", "--filter", f"label={label}"]).stdout.split()
    found = inspect_containers(ids)
    return sorted((i for i in found if owner is None or i.owner == owner), key=lambda i: i.lab_name)


def find_instance(name: str) -> Instance | None:
    """The container of that exact name (not an id prefix)."""
    found = [i for i in inspect_containers([name]) if i.name == name]
    return found[0] if found else None


def find_lab(name: str, owner: str, container: str) -> Instance | None:
    """owner's lab `name`; else whatever holds its container name (a foreign container, another user's lab)."""
    mine = list_instances(owner, name)
    return mine[0] if mine else find_instance(container)
