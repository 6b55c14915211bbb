"""`dlab registry start|push|pull|status|stop`: a classroom registry on the teacher's machine.

The registry is the Docker Distribution program (Debian/Ubuntu package `docker-registry`), run as two
background processes over one storage under ~/.local/share/dlab/registry: a read-only one that serves the
laptops on the address asked for (HTTPS when a certificate is given), and a read-write one that takes
pushes on 127.0.0.1 only. Laptops pull by digest, so what they run is exactly what was pushed.
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
LOOPBACK = "127.0.0.1"
CERT, KEY = "registry.crt", "registry.key"  # copies of the teacher's certificate and key, in <data>/tls


def add_parser(subparsers) -> None:
    from .bundle import add_image_options

    p = subparsers.add_parser("registry", help="run a classroom registry and push the lab images to it",
                              description="A registry on the teacher's machine: `start` it, `push` the pinned images, "
                              "then on each laptop `dlab up --image HOST:PORT/dlab@sha256:...` as `push` printed it.")
    sub = p.add_subparsers(metavar="<action>", parser_class=type(p))
    sub.required = True

    start = sub.add_parser("start", help="start the registry in the background (read-only for the network)",
                           description="Serve pulls on --listen:--port, read-only; take pushes on 127.0.0.1 only. "
                           "The settings are kept for the next `start`.")
    start.add_argument("--port", type=int, help=f"port the laptops pull from (default: as last time, else {REGISTRY_PORT})")
    start.add_argument("--listen", metavar="ADDR",
                       help=f"IPv4 address to serve on (default: as last time, else {LOOPBACK}; 0.0.0.0 for the classroom LAN)")
    start.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (kept for the next start)")
    start.add_argument("--tls-key", metavar="PEM", help="the certificate's key")
    start.add_argument("--no-tls", action="store_true", help="serve plain HTTP again (forget the kept certificate)")
    add_data(start)
    start.set_defaults(func=run_start)

    push = sub.add_parser("push", help="push the lab images to the registry")
    add_image_options(push, "push")
    push.add_argument("--registry", metavar="HOST:PORT", help="where to push (default: the registry `start` runs)")
    add_data(push)
    push.set_defaults(func=run_push)

    pull = sub.add_parser("pull", help="pull an image from the classroom registry")
    pull.add_argument("ref", metavar="HOST:PORT/dlab@sha256:...", help="the image as `dlab registry push` printed it")
    pull.set_defaults(func=run_pull)

    for name, func, text in (("status", run_status, "is the registry running, and what does it hold"),
                             ("stop", run_stop, "stop the registry (its storage and settings stay)")):
        action = sub.add_parser(name, help=text)
        add_data(action)
        action.set_defaults(func=func)


def add_data(parser):
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    parser.add_argument("--data", default=os.path.join(base, "dlab", "registry"), metavar="DIR",
                        help="the registry's folder: settings, config, storage, log (default: %(default)s)")


def read_state(args: argparse.Namespace) -> tuple[Path, dict | None]:
    """(the registry's folder, the running registry's state or None when none of its processes is alive)."""
    data = Path(args.data).expanduser().resolve()
    try:
        state = json.loads((data / "registry.json").read_text())
    except (OSError, ValueError):
        return data, None
    alive = [p for p in state.get("processes", []) if is_ours(p.get("pid", 0), p.get("config", ""))]
    return data, dict(state, processes=alive) if alive else None


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


def settings(args: argparse.Namespace, data: Path) -> dict:
    """listen, port, push port and tls: those given now, else those kept from the last start, else the defaults."""
    try:
        kept = json.loads((data / "settings.json").read_text())
    except (OSError, ValueError):
        kept = {}
    chosen = {"listen": args.listen or kept.get("listen") or LOOPBACK,
              "port": args.port if args.port is not None else kept.get("port") or REGISTRY_PORT,
              "push_port": kept.get("push_port", 0), "tls": bool(kept.get("tls")) and not args.no_tls}
    check_address(chosen["listen"], chosen["port"])
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UserError("--tls-cert and --tls-key go together", "give both: the certificate and its key (PEM files)")
    if args.tls_cert and args.no_tls:
        raise UserError("--no-tls with --tls-cert", "give either a certificate or --no-tls")
    if args.tls_cert:
        keep_certificate(args.tls_cert, args.tls_key, data / "tls")
        chosen["tls"] = True
    if chosen["tls"] and not (data / "tls" / CERT).is_file():
        raise UserError(f"the kept certificate is gone from {data / 'tls'}", "give it again with --tls-cert and --tls-key")
    return chosen


def check_address(listen: str, port: int) -> None:
    import ipaddress

    try:
        ipaddress.IPv4Address(listen)
    except ValueError:
        raise UserError(f"--listen {listen!r} is not an IPv4 address",
                        "use 0.0.0.0 (every network of this machine), its LAN address, or 127.0.0.1") from None
    if not 1 <= port <= 65535:
        raise UserError(f"port {port} is out of range", "use a port between 1024 and 65535")


def keep_certificate(cert: str, key: str, folder: Path) -> None:
    """Check that the key belongs to the certificate, then keep copies (the key private) for every later start."""
    from . import tls

    problem = tls.pair_problem(cert, key)
    if problem:
        raise UserError(f"cannot serve HTTPS: {problem}", "give a PEM certificate with --tls-cert and its own key with --tls-key")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(cert, folder / CERT)
    fd = os.open(folder / KEY, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out, open(key, "rb") as source:
        out.write(source.read())


def free_port(host: str, port: int = 0) -> int:
    """port when nothing listens there on host (the registry binds with SO_REUSEADDR, as docker-proxy does: see
    probe.port_is_free); with port 0, a free one the system picks."""
    import socket

    from . import probe  # not at import: `dlab --help` loads no socket module

    if port:
        return port if probe.port_is_free(port, host) else 0

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def config(data: Path, name: str, addr: str, read_only: bool, tls: bool) -> Path:
    """One process's config: the shared storage; read-only (and HTTPS when asked) for the network."""
    storage: dict = {"filesystem": {"rootdirectory": str(data / "storage")}}
    if read_only:  # Docker Distribution's maintenance mode: GET and HEAD only, pushes and deletes get 405
        storage["maintenance"] = {"readonly": {"enabled": True}, "uploadpurging": {"enabled": False}}
    http: dict = {"addr": addr, "headers": {"X-Content-Type-Options": ["nosniff"]}}
    if tls:
        http["tls"] = {"certificate": str(data / "tls" / CERT), "key": str(data / "tls" / KEY)}
    path = data / f"{name}.yml"
    path.write_text(json.dumps({  # the registry reads YAML, and JSON is YAML
        "version": "0.1", "log": {"level": "info", "fields": {"service": f"dlab-registry-{name}"}},
        "storage": storage, "http": http}, indent=2))
    return path


def spawn(program: str, config_path: Path, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([program, "serve", str(config_path)], stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def wait_ready(procs: list[subprocess.Popen], checks: list, data: Path) -> None:
    deadline = time.monotonic() + 20
    while not all(check() for check in checks):
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            tail = (data / "registry.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise DlabError(f"the registry did not start: {tail[0][:200]}", f"see {data / 'registry.log'}")
        time.sleep(0.1)


def run_start(args):
    from . import tls

    data, running = read_state(args)
    if running:
        print(f"the registry is already running: {describe(running)}")
        if args.port is not None or args.listen or args.tls_cert or args.no_tls:
            print("its settings stay until `dlab registry stop`, then `dlab registry start` with the new ones")
        return 0
    program = next(filter(None, map(shutil.which, PROGRAMS)), None)
    if program is None:
        raise UserError("no registry program found (docker-registry)",
                        "install it: `sudo apt-get install docker-registry` (Debian/Ubuntu), "
                        f"or run the registry:2 image pulled while online: docker run -d -p {REGISTRY_PORT}:5000 registry:2")
    (data / "storage").mkdir(parents=True, exist_ok=True)
    chosen = settings(args, data)
    listen, port = chosen["listen"], chosen["port"]
    if not free_port(listen, port):
        raise UserError(f"port {port} on {listen} is taken", "pick another with --port (e.g. 5001)")
    chosen["push_port"] = free_port(LOOPBACK, chosen["push_port"]) or free_port(LOOPBACK)
    (data / "settings.json").write_text(json.dumps(chosen, indent=2) + "\n")
    push = f"{LOOPBACK}:{chosen['push_port']}"
    configs = {"push": config(data, "push", push, read_only=False, tls=False),
               "serve": config(data, "serve", f"{listen}:{port}", read_only=True, tls=chosen["tls"])}
    procs = {name: spawn(program, path, data / "registry.log") for name, path in configs.items()}
    here = f"{LOOPBACK if listen == '0.0.0.0' else listen}:{port}"
    wait_ready(list(procs.values()), [lambda: api(push)[0] == 200, lambda: served(here, chosen["tls"])], data)
    state = {"listen": listen, "port": port, "push": push, "tls": chosen["tls"], "program": program,
             "processes": [{"role": name, "pid": procs[name].pid, "config": str(path)} for name, path in configs.items()]}
    if chosen["tls"]:
        state["fingerprint"] = tls.fingerprint(str(data / "tls" / CERT))
    (data / "registry.json").write_text(json.dumps(state, indent=2) + "\n")
    print(f"registry running: {describe(state)}; storage {data / 'storage'}")
    print("next: `dlab registry push` (then `dlab registry stop` after class)")
    return 0


def served(address: str, tls: bool) -> bool:
    from .probe import http_get

    return http_get(address, "/v2/", timeout=2, tls=tls)[0] == 200


def describe(state: dict) -> str:
    scheme = "https" if state["tls"] else "http"
    text = (f"pulls on {scheme}://{state['listen']}:{state['port']} (read-only), "
            f"pushes on http://{state['push']} (this machine only)")
    return text + (f"; certificate SHA-256 {state['fingerprint']}" if state.get("fingerprint") else "")


def run_stop(args):
    data, state = read_state(args)
    if state is None:
        raise UserError(f"no registry started by dlab is running (looked in {data})", "`dlab registry start` starts one")
    for process in state["processes"]:
        os.kill(process["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in state["processes"]:
        while is_ours(process["pid"], process["config"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        if is_ours(process["pid"], process["config"]):
            os.kill(process["pid"], signal.SIGKILL)
    (data / "registry.json").unlink()
    print(f"registry stopped; its storage stays in {data / 'storage'}, its settings for the next `dlab registry start`")
    return 0


def run_status(args):
    data, state = read_state(args)
    if state is None:
        print(f"no registry started by dlab is running (folder {data})")
        return 0
    print(f"registry running: {describe(state)}")
    for repo in listing(state["push"], "/v2/_catalog", "repositories"):
        for tag in listing(state["push"], f"/v2/{repo}/tags/list", "tags"):
            print(f"  {repo}:{tag}  {repo}@{manifest_digest(state['push'], repo, tag)}")
    return 0


def listing(address: str, path: str, key: str) -> list[str]:
    """A list from the registry's JSON (the catalog's repositories, a repository's tags)."""
    return json.loads(api(address, path)[2] or b"{}").get(key) or []


def manifest_digest(address: str, repo: str, tag: str) -> str:
    """The digest the registry serves for repo:tag, or '' when it has none."""
    status, headers, _ = api(address, f"/v2/{repo}/manifests/{tag}", method="HEAD")
    return headers.get("Docker-Content-Digest", "") if status == 200 else ""


def config_digest(address: str, repo: str, digest: str) -> str:
    """The image ID (its config's digest) that the registry's manifest `digest` names."""
    status, _, body = api(address, f"/v2/{repo}/manifests/{digest}")
    try:
        return json.loads(body)["config"]["digest"] if status == 200 else ""
    except (ValueError, KeyError, TypeError):
        return ""


def split_ref(ref):
    """(repository path, tag) of a ref without its registry part."""
    if names_a_registry(ref):
        ref = ref.split("/", 1)[1]
    name, _, tag = ref.rpartition(":")
    return (name, tag) if name and "/" not in tag else (ref, "latest")


def run_push(args):
    data, state = read_state(args)
    address = args.registry or (state or {}).get("push")
    if not address:
        raise UserError("no --registry given and no registry started by dlab is running",
                        "start one with `dlab registry start`, or pass --registry HOST:PORT")
    from .bundle import chosen_images

    pushed = []
    for ref, image in [(tag, found) for _, tags, found in chosen_images(args, "push") for tag in tags]:
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
        if not digest or config_digest(address, repo, digest) != image.id:
            raise DlabError(f"the registry at {address} does not serve {ref} (image {image.id[7:19]}) as {repo}:{tag} "
                            "after the push", "see the registry's log (`dlab registry status`), then push again")
        pushed.append((ref, f"{repo}@{digest}"))
        print(f"pushed {ref} as {repo}@{digest}")
    print(next_steps(dict(pushed), state if not args.registry else None, address))
    return 0


def next_steps(pushed: dict[str, str], state: dict | None, address: str) -> str:
    """What the laptops run: the image by digest, from the address they reach the registry at."""
    import socket

    if state is None:  # a registry of its own (registry:2): the laptops reach it by this machine's name
        port = address.rsplit(":", 1)[-1]
        where = f"{socket.gethostname()}:{port}" if address.startswith(("127.", "localhost")) else address
        note = ""
    elif state["listen"].startswith("127."):
        where = f"{state['listen']}:{state['port']}"
        note = "\nthe registry serves this machine only: for the laptops, `dlab registry stop`, then `start --listen 0.0.0.0`"
    else:
        host = socket.gethostname() if state["listen"] == "0.0.0.0" else state["listen"]
        where = f"{host}:{state['port']}"
        note = ("\n(a laptop's engine trusts this registry once its CA is in "
                f"/etc/docker/certs.d/{where}/ca.crt: docs/offline.md)" if state["tls"] else
                f"\n(a laptop's engine pulls over plain HTTP only with {where} in its insecure-registries: docs/offline.md)")
    lines = [f"  dlab up --image {where}/{by_digest}    # {ref}" for ref, by_digest in pushed.items()]
    return "next, on each laptop (by digest: exactly the image pushed, whatever happens to a tag):\n" + "\n".join(lines) + note


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
    if "@sha256:" not in args.ref:
        print("note: a tag can be moved; pull by digest (HOST:PORT/dlab@sha256:..., as `dlab registry push` printed it) "
              "to get exactly the image the teacher pushed")
    print(f"next: `dlab up --image {args.ref}`")
    return 0
