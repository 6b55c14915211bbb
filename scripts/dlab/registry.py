"""`dlab registry start|push|pull|status|stop`: a classroom registry on the teacher's machine.

The registry is the Docker Distribution program (Debian/Ubuntu package `docker-registry`), run as a
background process with its own config and storage under ~/.local/share/dlab/registry.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from . import engine
from .defaults import REGISTRY_PORT
from .errors import DlabError, UserError

PROGRAMS = ("docker-registry", "registry")
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])
def add_parser(subparsers) -> None:
    from .bundle import add_image_options

    p = subparsers.add_parser("registry", help="run a classroom registry and push the lab images to it",
                              description="A registry on the teacher's machine: `start` it, `push` the pinned images, "
                              "then on each laptop `dlab registry pull HOST:PORT/dlab:<version>-cpu` (or docker pull).")
    sub = p.add_subparsers(metavar="<action>", parser_class=type(p))
    sub.required = True

    start = sub.add_parser("start", help="start the registry in the background")
    start.add_argument("--port", type=int, default=REGISTRY_PORT, help=f"port (default {REGISTRY_PORT})")
    start.add_argument("--listen", default="127.0.0.1", metavar="ADDR",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 for the classroom LAN)")
    add_data(start)
    start.set_defaults(func=run_start)

    push = sub.add_parser("push", help="push the lab images to the registry")
    add_image_options(push, "push")
    push.add_argument("--registry", metavar="HOST:PORT", help="where to push (default: the registry `start` runs)")
    add_data(push)
    push.set_defaults(func=run_push)

    pull = sub.add_parser("pull", help="pull an image from the classroom registry")
    pull.add_argument("ref", metavar="HOST:PORT/dlab:TAG", help="the image as `dlab registry push` printed it")
    pull.set_defaults(func=run_pull)

    for name, func, text in (("status", run_status, "is the registry running, and what does it hold"),
                             ("stop", run_stop, "stop the registry (its storage stays)")):
        action = sub.add_parser(name, help=text)
        add_data(action)
        action.set_defaults(func=func)


def add_data(parser):
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    parser.add_argument("--data", default=os.path.join(base, "dlab", "registry"), metavar="DIR",
                        help="the registry's folder: config, storage, log (default: %(default)s)")


def read_state(args: argparse.Namespace) -> tuple[Path, dict | None]:
    """(the registry's folder, the running registry's {pid, listen, port, ...} or None, also when its process is gone)."""
    data = Path(args.data).expanduser().resolve()
    try:
        state = json.loads((data / "registry.json").read_text())
    except (OSError, ValueError):
        return data, None
    return data, state if is_ours(state.get("pid", 0), state.get("config", "")) else None


def is_ours(pid: int, config: str) -> bool:
    """The process is alive and is the registry started with our config (not a reused pid)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            return config.encode() in f.read()
    except (OSError, ValueError):
        if not pid or os.path.exists("/proc"):
            return False
    try:
        os.kill(int(pid), 0)  # no /proc (macOS): alive is all we can tell
        return True
    except OSError:
        return False


def api(address: str, path: str = "/v2/", method: str = "GET") -> tuple[int, dict, bytes]:
    """The registry's HTTP API, asked directly (never through a proxy)."""
    from .probe import http_get

    return http_get(address, path, method=method, headers={"Accept": MANIFEST_TYPES}, timeout=5)


def run_start(args):
    from .probe import port_is_free

    data, running = read_state(args)
    if running:
        print(f"the registry is already running on {running['listen']}:{running['port']} (pid {running['pid']})")
        return 0
    program = next(filter(None, map(shutil.which, PROGRAMS)), None)
    if program is None:
        raise UserError("no registry program found (docker-registry)",
                        "install it: `sudo apt-get install docker-registry` (Debian/Ubuntu), "
                        f"or run the registry:2 image pulled while online: docker run -d -p {REGISTRY_PORT}:5000 registry:2")
    if not 1 <= args.port <= 65535:
        raise UserError(f"port {args.port} is out of range", "use a port between 1024 and 65535")
    if not port_is_free(args.port, args.listen):
        raise UserError(f"port {args.port} on {args.listen} is taken", "pick another with --port (e.g. 5001)")
    (data / "storage").mkdir(parents=True, exist_ok=True)
    config = data / "config.yml"
    config.write_text(json.dumps({  # the registry reads YAML, and JSON is YAML
        "version": "0.1", "log": {"level": "info", "fields": {"service": "dlab-registry"}},
        "storage": {"filesystem": {"rootdirectory": str(data / "storage")}, "delete": {"enabled": True}},
        "http": {"addr": f"{args.listen}:{args.port}", "headers": {"X-Content-Type-Options": ["nosniff"]}}}, indent=2))
    with open(data / "registry.log", "ab") as log:
        proc = subprocess.Popen([program, "serve", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    local = f"127.0.0.1:{args.port}" if args.listen in ("0.0.0.0", "::") else f"{args.listen}:{args.port}"
    deadline = time.monotonic() + 20
    while api(local)[0] != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.terminate()
            tail = (data / "registry.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise DlabError(f"the registry did not start: {tail[0][:200]}", f"see {data / 'registry.log'}")
        time.sleep(0.1)
    state = {"pid": proc.pid, "listen": args.listen, "port": args.port, "address": local,
             "config": str(config), "program": program}
    (data / "registry.json").write_text(json.dumps(state, indent=2) + "\n")
    print(f"registry running on {args.listen}:{args.port} (pid {proc.pid}); storage {data / 'storage'}")
    print("next: `dlab registry push` (then `dlab registry stop` after class)")
    return 0


def run_stop(args):
    data, state = read_state(args)
    if state is None:
        raise UserError(f"no registry started by dlab is running (looked in {data})", "`dlab registry start` starts one")
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 10
    while is_ours(state["pid"], state["config"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    if is_ours(state["pid"], state["config"]):
        os.kill(state["pid"], signal.SIGKILL)
    (data / "registry.json").unlink()
    print(f"registry stopped; its storage stays in {data / 'storage'}")
    return 0


def run_status(args):
    data, state = read_state(args)
    if state is None:
        print(f"no registry started by dlab is running (folder {data})")
        return 0
    print(f"registry running on {state['listen']}:{state['port']} (pid {state['pid']})")
    for repo in listing(state["address"], "/v2/_catalog", "repositories"):
        print(f"  {repo}: {', '.join(listing(state['address'], f'/v2/{repo}/tags/list', 'tags'))}")
    return 0


def listing(address: str, path: str, key: str) -> list[str]:
    """A list from the registry's JSON (the catalog's repositories, a repository's tags)."""
    return json.loads(api(address, path)[2] or b"{}").get(key) or []


def manifest_digest(address: str, repo: str, tag: str) -> str:
    """The digest the registry serves for repo:tag, or '' when it has none."""
    status, headers, _ = api(address, f"/v2/{repo}/manifests/{tag}", method="HEAD")
    return headers.get("Docker-Content-Digest", "") if status == 200 else ""


def split_ref(ref):
    """(repository path, tag) of a ref without its registry part."""
    if names_a_registry(ref):
        ref = ref.split("/", 1)[1]
    name, _, tag = ref.rpartition(":")
    return (name, tag) if name and "/" not in tag else (ref, "latest")


def run_push(args):
    address = args.registry
    if not address:
        _, state = read_state(args)
        if state is None:
            raise UserError("no --registry given and no registry started by dlab is running",
                            "start one with `dlab registry start`, or pass --registry HOST:PORT")
        address = state["address"]
    from .bundle import chosen_images

    pushed = []
    for ref in [tag for _, tags, _ in chosen_images(args, "push") for tag in tags]:
        repo, tag = split_ref(ref)
        target = f"{address}/{repo}:{tag}"
        existed = engine.inspect_image(target) is not None
        engine.run(["tag", ref, target])
        try:
            print(f"pushing {ref} as {target} ...", flush=True)
            result = engine.run(["push", target], stream=True, check=False)
            if result.returncode != 0:
                raise engine.error(result.stderr, ["push"], subject=address)
        finally:
            if not existed:
                engine.run(["image", "rm", "--no-prune", target], check=False)
        digest = manifest_digest(address, repo, tag)
        if not digest:
            raise DlabError(f"the registry at {address} does not list {repo}:{tag} after the push",
                            "see the registry's log (`dlab registry status`), then push again")
        pushed.append(f"{address}/{repo}:{tag}")
        print(f"pushed {target} ({digest[:19]})")
    print(next_steps(pushed[0], address, args))
    return 0


def next_steps(pushed, address, args):
    """What the laptops run: by the teacher's host name when the registry listens on the LAN."""
    state = None if args.registry else read_state(args)[1]
    if state is not None and state["listen"] in ("127.0.0.1", "localhost", "::1"):
        return (f"next: `dlab up --image {pushed}` here; the registry listens on {state['listen']} only, "
                "so for the laptops restart it with `dlab registry start --listen 0.0.0.0`")
    if address.startswith("127.") or address.startswith("localhost"):
        import socket

        pushed = pushed.replace(address, f"{socket.gethostname()}:{address.rsplit(':', 1)[-1]}", 1)
    return (f"next, on each laptop: `dlab registry pull {pushed}`, then `dlab up --image {pushed}`\n"
            "(a laptop's engine pulls over plain HTTP only from a registry in its insecure-registries: docs/offline.md)")


def pull(ref: str) -> str:
    """`docker pull ref` with the engine's progress shown; the image ID."""
    result = engine.run(["pull", ref], stream=True, check=False)
    found = engine.inspect_image(ref) if result.returncode == 0 else None
    if found is None:
        failure = engine.classify(result.stderr)
        if failure.kind in ("registry-http", "registry-unreachable"):
            raise engine.error(failure, ["pull"], subject=ref.split("/", 1)[0])
        raise UserError(f"could not pull {ref}: {failure.words}",
                        "check that the registry runs and this engine trusts it (insecure-registries, docs/offline.md)")
    return found.id


def names_a_registry(ref):
    first, _, rest = ref.partition("/")
    return bool(rest) and ("." in first or ":" in first or first == "localhost")


def pull_missing(ref: str) -> bool:
    """For `dlab up --image HOST:PORT/...`: pull the image when the engine lacks it; True when pulled."""
    if not names_a_registry(ref) or engine.inspect_image(ref) is not None:
        return False
    print(f"dlab: {ref} is not here; pulling it from {ref.split('/', 1)[0]}", flush=True)
    pull(ref)
    return True


def run_pull(args):
    image = pull(args.ref)
    print(f"pulled {args.ref} ({image[7:19]})")
    print(f"next: `dlab up --image {args.ref}`")
    return 0
