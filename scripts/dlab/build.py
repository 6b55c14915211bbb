"""`dlab build`: build one flavor of the image, tag it, and write its build manifest."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from . import engine, images, ui
from .errors import DlabError, UserError

ROOT = images.ROOT
DEFAULT_BASES = ("debian:bookworm-slim", "dlab-base:bookworm")
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
# Read inside the new image: its packages, the assets the build could not fetch, its Python.
INSIDE = """
import json, re, sys, importlib.metadata as md
assets = json.load(open('/opt/dlab/assets.json'))
name = lambda d: re.sub(r'[-_.]+', '-', d.metadata['Name']).lower()
print(json.dumps({
    'packages': sorted(f"{name(d)}=={d.version}" for d in md.distributions()),
    'missing': [a['name'] for a in assets.get('missing', [])],
    'python': '%d.%d' % sys.version_info[:2],
}))
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("build", help="build the lab image of one flavor")
    p.add_argument("--flavor", default="cpu", help=f"{' or '.join(images.FLAVORS)} (default cpu)")
    p.add_argument("--base-image", help="Debian bookworm base (default: debian:bookworm-slim, "
                   "else a local dlab-base:bookworm from scripts/make-base-image)")
    p.add_argument("--platform", metavar="linux/amd64|linux/arm64",
                   help="the architecture to build for (default: the engine's own; another one runs its OS steps emulated)")
    p.add_argument("--quiet", action="store_true", help="no build progress (a failing step still shows its output)")
    p.set_defaults(func=lambda args: build_image(args.flavor, args.base_image, args.quiet, args.platform) and 0)


def choose_base(base_image: str | None, arch: str = "") -> str:
    """A Debian bookworm base for arch (default: the engine's): the one asked for, else a local one of that
    architecture, else pulled."""
    arch = arch or engine.native_architecture() or "amd64"
    if base_image:
        found = engine.inspect_image(base_image)
        if found is None:
            raise UserError(f"base image {base_image!r} is not present",
                            f"make it offline with scripts/make-base-image {base_image}, or docker pull it")
        if found.architecture and images.architecture(found.architecture) != arch:
            raise UserError(f"base image {base_image!r} is {found.architecture}, the build is for {arch}",
                            f"pass an {arch} base, or make one: sudo scripts/make-base-image --arch {arch}")
        return base_image
    for ref in (*DEFAULT_BASES, f"{DEFAULT_BASES[1]}-{arch}"):
        found = engine.inspect_image(ref)
        if found is not None and images.architecture(found.architecture or arch) == arch:
            return ref
    return DEFAULT_BASES[0]  # pulled for the platform, where a registry answers


def check_lock(flavor: str, arch: str = "amd64") -> Path:
    """The lock must come from the current .in files (scripts/lock writes their hash on top)."""
    import hashlib

    lock = images.FLAVORS[flavor].lock(arch)
    inputs = (images.REQUIREMENTS / "common.in").read_bytes() + (images.REQUIREMENTS / f"{flavor}.in").read_bytes()
    expected = f"# inputs-sha256: {hashlib.sha256(inputs).hexdigest()}"
    if not lock.exists() or lock.read_text().splitlines()[0] != expected:
        raise UserError(f"docker/requirements/{flavor}-{arch}.lock does not match common.in + {flavor}.in",
                        f"run scripts/lock {flavor} (needs uv), then build again")
    return lock


def locked_version(lock: Path, *names: str) -> str:
    for line in lock.read_text().splitlines():
        name, _, rest = line.partition("==")
        if name in names:
            return rest.split()[0]
    return "unknown"


def revision() -> str:
    import subprocess

    result = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def ca_secret() -> list[str]:
    """A TLS-intercepting proxy's CA reaches the build as a secret, never a layer."""
    path = os.environ.get("DLAB_CA_BUNDLE") or next((p for p in CA_BUNDLES if os.path.exists(p)), None)
    return ["--secret", f"id=ca,src={path}"] if path else []


EMULATION_FIX = ("on Linux: sudo scripts/enable-emulation (binfmt_misc and Debian's qemu-user-static); "
                 "Docker Desktop emulates it already")


class Steps:
    """BuildKit's plain progress as a person reads it: one line per Dockerfile step with its time.

    On a terminal the running step's clock ticks in place; in a log a long step says every 30 s that it
    is still running. Every line is kept: a failing step's own output is shown, not the whole log.
    """

    # `#13 [lab  2/10] COPY ...` (a Dockerfile step), `#22 exporting to image` (writing the layers)
    HEAD = re.compile(r"^#(\d+) (\[[\w.-]+ +\d+/\d+\] .+|exporting to image)")
    END = re.compile(r"^#(\d+) (?:DONE ([\d.]+)s|(CACHED)|ERROR)")

    def __init__(self, quiet: bool = False, stream: TextIO | None = None):
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() and not quiet
        self.titles: dict[str, str] = {}
        self.running: dict[str, float] = {}
        self.lines: list[str] = []
        self.failed: str | None = None
        self.cached = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.ticker = threading.Thread(target=self.tick, daemon=True)

    def __enter__(self) -> Steps:
        self.ticker.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.ticker.join()
        self.show(f"  {self.cached} steps cached" if self.cached else "", keep=bool(self.cached))

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        head, end = self.HEAD.match(line), self.END.match(line)
        with self.lock:
            if head and head[1] not in self.titles:
                self.titles[head[1]] = ui.clip(" ".join(head[2].split()), 90)
                self.running[head[1]] = time.monotonic()
            elif end and end[1] in self.running:
                self.running.pop(end[1])
                if end[3]:
                    self.cached += 1
                elif end[2] is not None:
                    self.show(f"  {self.titles[end[1]]}: {ui.duration(float(end[2]))}", keep=True)
                else:
                    self.failed = end[1]
                    self.show(f"  {self.titles[end[1]]}: FAILED", keep=True)

    def tick(self) -> None:
        """The longest-running step and its time so far: each second on a terminal, each 30 s in a log."""
        while not self.stopped.wait(1 if self.tty else 30):
            with self.lock:
                if self.running:
                    step, since = min(self.running.items(), key=lambda item: item[1])
                    others = f" (+{len(self.running) - 1} more)" if len(self.running) > 1 else ""
                    self.show(f"  {self.titles[step]}: {ui.duration(time.monotonic() - since)} so far{others}",
                              keep=not self.tty)

    def show(self, text: str, keep: bool = False) -> None:
        """A line that stays (keep), or the terminal's status line, rewritten in place."""
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if keep else ""))
        elif keep:
            self.stream.write(text + "\n")
        self.stream.flush()

    def failure_output(self, most: int = 30) -> str:
        """The failing step's own lines (all the log's last lines when no step was seen failing)."""
        lines = [line for line in self.lines if line.startswith(f"#{self.failed} ")] if self.failed else self.lines
        return "".join(lines[-most:])


def run_build(args: list[str], tag: str, quiet: bool, arch: str = "", native: str = "") -> None:
    """`docker build` (BuildKit) with its steps shown (`Steps`), or silent with quiet; a failure says why."""
    with Steps(quiet) as steps:
        result = engine.run(args, env={"DOCKER_BUILDKIT": "1"}, stream=steps, check=False)
    if result.returncode != 0:
        failure = engine.classify(result.stderr)
        if failure.kind == "exec-format" and arch != native:
            raise UserError(f"building for linux/{arch} runs {arch} programs (its OS steps), and this {native} engine "
                            "cannot run them", EMULATION_FIX)
        if failure.kind != "other":
            raise engine.error(failure, args)
        print(steps.failure_output(), file=sys.stderr, end="")
        raise DlabError(f"building {tag} failed (docker build exit {result.returncode})", "read the build output above")


def build_image(flavor: str, base_image: str | None = None, quiet: bool = False, platform: str | None = None) -> str:
    """Build dlab:<version>-<flavor>-<arch>, and for the engine's own architecture also dlab:<version>-<flavor> and
    dlab:<flavor>; return the first of them."""
    from datetime import datetime, timezone

    images.check_flavor(flavor)
    asked = images.parse_platform(platform) if platform else ""
    native = engine.native_architecture() or "amd64"
    arch = asked or native
    images.check_locked(flavor, arch)
    lock = check_lock(flavor, arch)
    base = choose_base(base_image, arch)
    tags = [images.arch_tag(flavor, arch)]
    if arch == native:
        tags += [images.versioned_tag(flavor), images.moving_tag(flavor)]
    tag = tags[0]
    args = [
        "build", "-f", str(ROOT / "docker" / "Dockerfile"), "--target", flavor, "--platform", f"linux/{arch}",
        "--build-arg", f"BASE_IMAGE={base}", "--build-arg", f"FLAVOR={flavor}",
        "--build-arg", f"BUILD_BASE_IMAGE={base if arch == native else choose_base(None, native)}",
        "--build-arg", f"VERSION={images.version()}", "--build-arg", f"REVISION={revision()}",
        "--build-arg", f"CREATED={datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        "--build-arg", f"TENSORFLOW={locked_version(lock, 'tensorflow', 'tensorflow-cpu')}",
        *ca_secret(), "--progress", "plain", "-t", tag, str(ROOT),
    ]
    emulated = "" if arch == native else f" (its OS steps emulated: this engine runs {native})"
    print(f"building {tag} from {base}{emulated}, step by step ...", flush=True)
    started = time.monotonic()
    run_build(args, tag, quiet, arch, native)
    for other in tags[1:]:
        engine.run(["tag", tag, other])
    manifest = write_manifest(tags, flavor, arch, time.monotonic() - started)
    also = f" (also {', '.join(tags[1:])})" if tags[1:] else ""
    print(f"built {tag}{also}, {manifest['size_bytes'] / 1e9:.2f} GB in "
          f"{ui.duration(manifest['build_seconds'])}; manifest {manifest['path']}")
    if manifest["assets_missing"]:
        print(f"note: assets missing from the image: {', '.join(manifest['assets_missing'])} "
              "(notebooks that need them say so; build where the network reaches them to include them)")
    return tag


def write_manifest(tags: list[str], flavor: str, arch: str, seconds: float) -> dict:
    """build/<version>-<flavor>-<arch>.json: what was built, from the image itself."""
    import json

    tag = tags[0]
    image = engine.inspect_image(tag)
    assert image is not None, tag
    inside = json.loads(engine.run(["run", "--rm", "--network", "none", "--platform", f"linux/{arch}",
                                    "--entrypoint", "python", tag, "-c", INSIDE]).stdout)
    if inside["python"] != images.python_version():
        raise DlabError(f"{tag} has Python {inside['python']}, docker/Dockerfile says PYTHON_VERSION={images.python_version()}",
                        "set PYTHON_VERSION in docker/Dockerfile to the base image's Python, then build again")
    manifest = {
        "image": tag,
        "id": image.id,
        "tags": tags,
        "flavor": flavor,
        "architecture": image.architecture,
        "labels": image.labels,
        "size_bytes": image.size,
        "build_seconds": round(seconds, 1),
        "assets_missing": inside["missing"],
        "packages": inside["packages"],
    }
    out = ROOT / "build" / f"{tag.split(':', 1)[1]}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(manifest, indent=2) + "\n")
    manifest["path"] = str(out.relative_to(ROOT))
    return manifest
