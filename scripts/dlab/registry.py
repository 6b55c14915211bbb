"""`dlab registry start|push|pull|status|stop`: a classroom registry on the teacher's machine.

The registry is the Docker Distribution program (Debian/Ubuntu package `docker-registry`), run as a
background process with its own config and storage under ~/.local/share/dlab/registry.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from . import engine, images
from .errors import DlabError, UserError

PROGRAMS = ("docker-registry", "registry")
DEFAULT_PORT = 5000
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])
CONFIG = """# written by `dlab registry start`
version: 0.1
log:
  level: info
  fields:
    service: dlab-registry
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: {listen}:{port}
  headers:
    X-Content-Type-Options: [nosniff]
"""


def add_parser(subparsers):
    p = subparsers.add_parser("registry", help="run a classroom registry and push the lab images to it",
                              description="A registry on the teacher's machine: `start` it, `push` the pinned images, "
                              "then on each laptop `dlab registry pull HOST:PORT/dlab:<version>-cpu` (or docker pull).")
    sub = p.add_subparsers(metavar="<action>", parser_class=type(p))
    sub.required = True

    start = sub.add_parser("start", help="start the registry in the background")
    start.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    start.add_argument("--listen", default="127.0.0.1", metavar="ADDR",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 for the classroom LAN)")
    add_data(start)
    start.set_defaults(func=run_start)

    push = sub.add_parser("push", help="push the lab images to the registry")
    push.add_argument("--flavor", default="cpu", choices=("cpu", "cuda", "all"), help="which image(s) (default: cpu)")
    push.add_argument("--image", metavar="REF", help="push this image instead of dlab:<version>-<flavor>")
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


def state_path(data):
    return Path(data) / "registry.json"


def read_state(data):
    """The running registry's {pid, listen, port, ...}, or None (also when its process is gone)."""
    try:
        state = json.loads(state_path(data).read_text())
    except (OSError, ValueError):
        return None
    return state if is_ours(state.get("pid", 0), state.get("config", "")) else None


def is_ours(pid, config):
    """The process is alive and is the registry started with our config (not a reused pid)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            return config.encode() in f.read()
    except (OSError, ValueError):
        if pid and not os.path.exists("/proc"):
            try:
                os.kill(int(pid), 0)
                return True
            except OSError:
                return False
        return False


def api(address, path="/v2/", timeout=2.0, accept=None):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://{address}{path}", headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return reply.status, reply.read()


def answers(address):
    try:
        return api(address)[0] == 200
    except (OSError, ValueError):
        return False


def run_start(args):
    from .probe import port_is_free

    data = Path(args.data).expanduser().resolve()
    running = read_state(data)
    if running:
        print(f"the registry is already running on {running['listen']}:{running['port']} (pid {running['pid']})")
        return 0
    program = next((shutil.which(p) for p in PROGRAMS if shutil.which(p)), None)
    if program is None:
        raise UserError("no registry program found (docker-registry)",
                        "install it: `sudo apt-get install docker-registry` (Debian/Ubuntu), "
                        "or run the registry:2 image pulled while online: docker run -d -p 5000:5000 registry:2")
    if not 1 <= args.port <= 65535:
        raise UserError(f"port {args.port} is out of range", "use a port between 1024 and 65535")
    if not port_is_free(args.port, args.listen):
        raise UserError(f"port {args.port} on {args.listen} is taken", "pick another with --port (e.g. 5001)")
    (data / "storage").mkdir(parents=True, exist_ok=True)
    config = data / "config.yml"
    config.write_text(CONFIG.format(storage=data / "storage", listen=args.listen, port=args.port))
    log = open(data / "registry.log", "ab")
    proc = subprocess.Popen([program, "serve", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    log.close()
    local = f"127.0.0.1:{args.port}" if args.listen in ("0.0.0.0", "::") else f"{args.listen}:{args.port}"
    deadline = time.monotonic() + 20
    while not answers(local):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.terminate()
            tail = (data / "registry.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise DlabError(f"the registry did not start: {tail[0][:200]}", f"see {data / 'registry.log'}")
        time.sleep(0.1)
    state = {"pid": proc.pid, "listen": args.listen, "port": args.port, "address": local,
             "config": str(config), "program": program}
    state_path(data).write_text(json.dumps(state, indent=2) + "\n")
    print(f"registry running on {args.listen}:{args.port} (pid {proc.pid}); storage {data / 'storage'}")
    print("next: `dlab registry push` (then `dlab registry stop` after class)")
    return 0


def run_stop(args):
    data = Path(args.data).expanduser().resolve()
    state = read_state(data)
    if state is None:
        raise UserError(f"no registry started by dlab is running (looked in {data})", "`dlab registry start` starts one")
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 10
    while is_ours(state["pid"], state["config"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    if is_ours(state["pid"], state["config"]):
        os.kill(state["pid"], signal.SIGKILL)
    state_path(data).unlink()
    print(f"registry stopped; its storage stays in {data / 'storage'}")
    return 0


def run_status(args):
    data = Path(args.data).expanduser().resolve()
    state = read_state(data)
    if state is None:
        print(f"no registry started by dlab is running (folder {data})")
        return 0
    print(f"registry running on {state['listen']}:{state['port']} (pid {state['pid']})")
    for repo in catalog(state["address"]):
        print(f"  {repo}: {', '.join(tags_of(state['address'], repo))}")
    return 0


def catalog(address):
    return json.loads(api(address, "/v2/_catalog")[1]).get("repositories") or []


def tags_of(address, repo):
    return json.loads(api(address, f"/v2/{repo}/tags/list")[1]).get("tags") or []


def manifest_digest(address, repo, tag):
    """The digest the registry serves for repo:tag, or '' when it has none."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://{address}/v2/{repo}/manifests/{tag}", method="HEAD",
                                     headers={"Accept": MANIFEST_TYPES})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.headers.get("Docker-Content-Digest", "")
    except (OSError, ValueError):
        return ""


def split_ref(ref):
    """(repository path, tag) of a ref without its registry part."""
    if names_a_registry(ref):
        ref = ref.split("/", 1)[1]
    name, _, tag = ref.rpartition(":")
    return (name, tag) if name and "/" not in tag else (ref, "latest")


def push_targets(args):
    if args.image:
        if engine.run(["image", "inspect", args.image], check=False).returncode != 0:
            raise UserError(f"image {args.image} is not in the Docker engine", "check the name with `docker images`")
        return [args.image]
    refs = []
    for flavor in images.FLAVORS if args.flavor == "all" else (args.flavor,):
        ref = images.versioned_tag(flavor)
        if engine.run(["image", "inspect", ref], check=False).returncode != 0:
            raise UserError(f"image {ref} is not built", f"build it with `dlab build --flavor {flavor}`, or load a bundle")
        refs += [ref, images.moving_tag(flavor)]
    return refs


def run_push(args):
    address = args.registry
    if not address:
        state = read_state(Path(args.data).expanduser().resolve())
        if state is None:
            raise UserError("no --registry given and no registry started by dlab is running",
                            "start one with `dlab registry start`, or pass --registry HOST:PORT")
        address = state["address"]
    refs = push_targets(args)
    pushed = []
    for ref in refs:
        if engine.run(["image", "inspect", ref], check=False).returncode != 0:
            continue  # a moving tag that is not there
        repo, tag = split_ref(ref)
        target = f"{address}/{repo}:{tag}"
        existed = engine.run(["image", "inspect", target], check=False).returncode == 0
        engine.run(["tag", ref, target])
        try:
            print(f"pushing {ref} as {target} ...", flush=True)
            result = subprocess.run([engine.docker_cli() or "docker", "push", target], stderr=subprocess.PIPE, text=True)
            if result.returncode != 0:
                raise push_error(address, result.stderr)
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
    state = None if args.registry else read_state(Path(args.data).expanduser().resolve())
    if state is not None and state["listen"] in ("127.0.0.1", "localhost", "::1"):
        return (f"next: `dlab up --image {pushed}` here; the registry listens on {state['listen']} only, "
                "so for the laptops restart it with `dlab registry start --listen 0.0.0.0`")
    if address.startswith("127.") or address.startswith("localhost"):
        pushed = pushed.replace(address, f"{socket.gethostname()}:{address.rsplit(':', 1)[-1]}", 1)
    return (f"next, on each laptop: `dlab registry pull {pushed}`, then `dlab up --image {pushed}`\n"
            "(a laptop's engine pulls over plain HTTP only from a registry in its insecure-registries: docs/offline.md)")


def push_error(address, message):
    line = engine.first_line(message)
    if "connection refused" in message or "no such host" in message or "i/o timeout" in message:
        return UserError(f"no registry answers at {address}: {line}", "start it (`dlab registry start`) or check --registry")
    if "server gave HTTP response to HTTPS client" in message:
        return UserError(f"the engine will not push to {address} over plain HTTP: {line}",
                         f"add \"{address}\" to insecure-registries in /etc/docker/daemon.json (see docs/offline.md)")
    return engine.engine_error(message, ["push"])


def pull(ref):
    """`docker pull ref` with the engine's progress shown; the image ID."""
    code = subprocess.call([engine.docker_cli() or "docker", "pull", ref])
    if code != 0:
        raise UserError(f"could not pull {ref} (docker pull exit {code})",
                        "check that the registry runs and this engine trusts it (insecure-registries, docs/offline.md)")
    return engine.run(["image", "inspect", "--format", "{{.Id}}", ref]).stdout.strip()


def names_a_registry(ref):
    first, _, rest = ref.partition("/")
    return bool(rest) and ("." in first or ":" in first or first == "localhost")


def pull_missing(ref):
    """For `dlab up --image HOST:PORT/...`: pull the image when the engine lacks it; True when pulled."""
    if not names_a_registry(ref) or engine.run(["image", "inspect", ref], check=False).returncode == 0:
        return False
    print(f"dlab: {ref} is not here; pulling it from {ref.split('/', 1)[0]}", flush=True)
    pull(ref)
    return True


def run_pull(args):
    image = pull(args.ref)
    print(f"pulled {args.ref} ({image[7:19]})")
    print(f"next: `dlab up --image {args.ref}`")
    return 0
