"""`dlab hub`: the classroom server. JupyterHub + DockerSpawner (the hub image, built from hub/) start
one dlab lab per student. Everything about the class comes from one settings file (TOML), which the
hub image reads (`python -m dlab_hub.settings`), so the host needs nothing but Python and Docker.
"""

from __future__ import annotations

import argparse
import json
import os

from . import engine, images, ui
from .defaults import Label
from .errors import DlabError, UserError
from .runspec import Mount, RunSpec

SETTINGS = "class.toml"
HUB_STOP_SECONDS = 30   # the hub's own shutdown; its labs keep running until `dlab hub down` stops them
LAB_STOP_SECONDS = 10
READY_SECONDS = 180.0
DOCKER_SOCKET = "/var/run/docker.sock"


def add_parser(subparsers) -> None:
    hub = subparsers.add_parser("hub", help="the classroom server: every student's own lab in the browser",
                                description="The classroom server: JupyterHub with one dlab lab per student.")
    commands = hub.add_subparsers(metavar="<hub command>", parser_class=type(hub))
    commands.required = True

    def command(name, func, help):
        p = commands.add_parser(name, help=help, description=help)
        p.add_argument("--settings", default=os.environ.get("DLAB_HUB_SETTINGS", SETTINGS), metavar="FILE",
                       help=f"the class settings (default: ./{SETTINGS}; see hub/class.example.toml)")
        p.set_defaults(func=func)
        return p

    up = command("up", run_up, "start the hub (builds its image when missing); students open the URL it prints")
    up.add_argument("--insecure-http", action="store_true",
                    help="allow [server] tls = false on the network: passwords cross it in the clear")
    command("down", run_down, "stop the hub and every student's lab (all files stay)")
    command("status", run_status, "the hub's state, URL, fingerprint and versions")
    logs = command("logs", run_logs, "show the hub's log")
    logs.add_argument("-f", "--follow", action="store_true", help="keep following the log")
    users = command("users", run_users, "list the class: who signed in, whose lab runs")
    users.add_argument("--add", action="append", default=[], metavar="NAME",
                       help="let a late student in now (no restart; add them to the class list too)")
    users.add_argument("--passwords", action="store_true", help="show the generated passwords ([class] passwords)")
    handout = command("handout", run_handout, "copy files into every student's folder, never over theirs")
    handout.add_argument("files", nargs="+", metavar="FILE")
    build = commands.add_parser("build", help="build the hub image", description="Build the hub image from hub/Dockerfile.")
    build.add_argument("--quiet", action="store_true", help="no build progress")
    build.set_defaults(func=lambda args: build_hub_image(args.quiet) and 0)


# --- the hub image and the settings ------------------------------------------------------------
def hub_image() -> str:
    return f"{images.REPOSITORY}:{images.version()}-hub"


def build_hub_image(quiet: bool = True) -> str:
    """The hub image from hub/Dockerfile, built as `dlab build` builds the lab (base, CA secret, labels)."""
    from datetime import datetime, timezone

    from . import build

    tag, moving = hub_image(), f"{images.REPOSITORY}:hub"
    args = ["build", "-f", str(images.ROOT / "hub" / "Dockerfile"), "--build-arg", f"BASE_IMAGE={build.choose_base(None)}",
            "--build-arg", f"VERSION={images.version()}", "--build-arg", f"REVISION={build.revision()}",
            "--build-arg", f"CREATED={datetime.now(timezone.utc).date().isoformat()}",
            "--build-arg", f"JUPYTERHUB={build.locked_version(images.FLAVORS['cpu'].lock(), 'jupyterhub')}",
            *build.ca_secret(), "--progress", "plain", "-t", tag, str(images.ROOT)]
    ui.say(f"building the hub image {tag} ...")
    build.run_build(args, tag, quiet)
    engine.run(["tag", tag, moving])  # the name compose.yaml's hub service runs
    return tag


def lab_ids() -> tuple[int, int]:
    """Who the labs run as: the caller, or jovyan (1000:100) when the caller is root."""
    uid = os.getuid()
    return (uid, os.getgid()) if uid else (1000, 100)


def hub_env(insecure: bool = False) -> dict[str, str]:
    uid, gid = lab_ids()
    env = {"DLAB_HUB_UID": str(uid), "DLAB_HUB_GID": str(gid), "DLAB_REPOSITORY": images.REPOSITORY}
    return {**env, "DLAB_HUB_INSECURE_HTTP": "1"} if insecure else env


def relayed(text: str, code: int) -> DlabError:
    """The hub's own two-line error (error:/fix:) as ours, with its exit code (2: the settings are wrong)."""
    lines = text.splitlines()
    what = next((line[7:] for line in lines if line.startswith("error: ")), "")
    fix = next((line[5:] for line in lines if line.startswith("fix: ")), "see `dlab hub logs`")
    if not what:
        return DlabError(f"the hub stopped: {engine.first_line(text[-2000:])}", "see `dlab hub logs`")
    return (UserError if code == 2 else DlabError)(what, fix)


def read_settings(path: str, insecure: bool = False) -> dict:
    """The class settings as the hub reads them (JSON from the hub image), or its two-line error."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise UserError(f"no class settings at {path}",
                        "copy hub/class.example.toml there and list your students, or pass --settings FILE")
    if engine.inspect_image(hub_image()) is None:
        build_hub_image()
    folder = os.path.dirname(path)
    spec = RunSpec(hub_image(), command=("python3", "-m", "dlab_hub.settings", path), detach=False, remove=True,
                   network="none", env=hub_env(insecure), mounts=(Mount(folder, folder, readonly=True),))
    result = engine.run(spec.argv(), env=spec.env, check=False)
    if result.returncode != 0:
        raise relayed(result.stderr or result.stdout, result.returncode)
    return json.loads(result.stdout)


# --- up ----------------------------------------------------------------------------------------
def check_ports(settings: dict) -> None:
    from .probe import port_is_free

    bind = settings["bind"]
    wanted = [(settings["port"], "" if bind == "0.0.0.0" else bind, "[server] port, where students connect"),
              (settings["hub_api_port"], "", "[server] hub_api_port, where labs reach the hub"),
              (settings["proxy_api_port"], "127.0.0.1", "[server] proxy_api_port, the proxy's own API")]
    for port, host, role in wanted:
        if not port_is_free(port, host):
            raise UserError(f"port {port} is taken ({role})",
                            f"stop what listens there, or set another free port in {settings['path']}")


def check_root(settings: dict) -> None:
    """The class root is made by the caller, so a folder the teacher may not write fails before anything starts."""
    root = settings["root"]
    try:
        os.makedirs(root, exist_ok=True)
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise UserError(f"the class root {root} is not writable: {exc.strerror}",
                        "make it yours (`sudo mkdir -p ROOT && sudo chown $USER ROOT`) or set [storage] root "
                        "to a folder you can write") from None


def check_lab_images(settings: dict, gpus: bool) -> None:
    for ref in [settings["image_cpu"]] + ([settings["image_cuda"]] if gpus else []):
        if engine.inspect_image(ref) is None:
            raise UserError(f"the lab image {ref} is missing",
                            "build it (`make image`, FLAVOR=cuda for GPUs) or `dlab load` it from a bundle")


def gpu_listing() -> str:
    """`nvidia-smi -L` when the host's GPUs really reach containers; '' otherwise (saying why)."""
    import shutil
    import subprocess

    from . import plan, probe

    if not shutil.which("nvidia-smi"):
        return ""
    blocker = plan.gpu_blocker(probe.probe_host())
    if blocker:
        ui.say(f"no GPU labs: {blocker}")
        return ""
    result = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else ""


def container_state(name: str) -> dict | None:
    result = engine.run(["container", "inspect", name], check=False)
    if result.returncode != 0:
        failure = engine.classify(result.stderr)
        if failure.kind in ("daemon-down", "permission-denied"):
            raise engine.error(failure, ["container", "inspect"])
        return None
    return json.loads(result.stdout)[0]["State"]


def hub_spec(settings: dict, listing: str, insecure: bool) -> RunSpec:
    """The hub's container: on the host's network, the engine's socket, the class root at its own path."""
    root, folder = settings["root"], os.path.dirname(settings["path"])
    read_only = {folder, *(os.path.dirname(p) for p in (settings["cert"], settings["key"]) if p)} - {root}
    return RunSpec(hub_image(), name=settings["container"], network="host", restart="unless-stopped",
                   labels={Label.HUB: settings["class_name"]},
                   env={**hub_env(insecure), "DLAB_HUB_SETTINGS": settings["path"], "DLAB_HUB_GPUS": listing},
                   mounts=(Mount(DOCKER_SOCKET, DOCKER_SOCKET), Mount(root, root),
                           *(Mount(f, f, readonly=True) for f in sorted(read_only))))


def wait_ready(settings: dict) -> None:
    """Until /hub/health answers; a hub that stopped (the settings were wrong) gives its error as ours."""
    import ssl
    import time
    import urllib.request

    name = settings["container"]
    scheme = "https" if settings["tls"] else "http"
    host = "127.0.0.1" if settings["bind"] in ("0.0.0.0", "127.0.0.1") else settings["bind"]
    url = f"{scheme}://{host}:{settings['port']}/hub/health"
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # our own hub, on this host
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        state = container_state(name)
        if state is None or state["Status"] in ("exited", "restarting"):  # its restart policy would try again
            logs = engine.run(["logs", name], check=False)
            engine.run(["rm", "-f", name], check=False)
            raise relayed(logs.stderr + logs.stdout, (state or {}).get("ExitCode", 1))
        try:
            with opener.open(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise DlabError(f"the hub did not answer at {url} within {READY_SECONDS:.0f} s", "see `dlab hub logs`")


def run_up(args: argparse.Namespace) -> int:
    settings = read_settings(args.settings, args.insecure_http)
    state = container_state(settings["container"])
    if state and state["Running"]:
        ui.say(f"the hub {settings['container']} is already running")
        return show_hub(settings)
    if state:
        engine.run(["rm", "-f", settings["container"]])
    check_root(settings)
    check_ports(settings)
    listing = gpu_listing() if settings["gpu_policy"] != "none" else ""
    check_lab_images(settings, bool(listing))
    spec = hub_spec(settings, listing, args.insecure_http)
    engine.run(spec.argv(), env=spec.env)
    wait_ready(settings)
    return show_hub(settings)


def public_addresses() -> list[str]:
    """This host's name and its main address, for the URL students open."""
    import socket

    names = [socket.gethostname()]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        try:
            probe_socket.connect(("192.0.2.1", 9))  # no packet is sent; the route picks the address
            names.append(probe_socket.getsockname()[0])
        except OSError:
            pass
    return names


def show_hub(settings: dict) -> int:
    scheme = "https" if settings["tls"] else "http"
    hosts = ["127.0.0.1"] if settings["bind"] == "127.0.0.1" else public_addresses()
    urls = [f"{scheme}://{h}:{settings['port']}/" for h in hosts]
    ui.say(f"classroom hub {settings['class_name']} is up: {urls[0]}" + (f" (also {', '.join(urls[1:])})" if urls[1:] else ""))
    logs = engine.run(["logs", settings["container"]], check=False).stdout
    fingerprint = next((line.rsplit(" ", 1)[-1] for line in logs.splitlines() if "SHA-256 fingerprint" in line), "")
    if settings["tls"] and fingerprint:
        ui.say(f"certificate SHA-256 fingerprint {fingerprint}",
               "students compare it with what their browser shows before they sign in")
    elif not settings["tls"]:
        ui.say("WARNING: plain HTTP: passwords are not encrypted on the way")
    passwords = ("each sets one at first sign-in" if settings["passwords"] == "first-use" else
                 "generated: `dlab hub users --passwords` lists them")
    ui.say(f"teacher (admin) {settings['teacher']}; {len(settings['students'])} students; passwords {passwords}",
           f"students' work in {settings['root']}/students/<name>/; the class folder {settings['root']}/class/ "
           "is read-only in every lab")
    return 0


# --- down, status, logs --------------------------------------------------------------------------
def run_down(args: argparse.Namespace) -> int:
    settings = read_settings(args.settings)
    name = settings["container"]
    if container_state(name):
        engine.run(["stop", "--time", str(HUB_STOP_SECONDS), name], check=False)
        engine.run(["rm", "-f", name], check=False)
    labs = engine.run(["ps", "-aq", "--filter", f"label={Label.HUB}={settings['class_name']}"]).stdout.split()
    if labs:
        engine.run(["stop", "--time", str(LAB_STOP_SECONDS), *labs], check=False)
        engine.run(["rm", "-f", *labs], check=False)
    engine.run(["network", "rm", settings["network"]], check=False)
    ui.say(f"the hub {name} and {len(labs)} lab(s) stopped; every file stays in {settings['root']}")
    return 0


def running_hub(settings: dict) -> None:
    state = container_state(settings["container"])
    if not state or not state["Running"]:
        raise UserError(f"the hub {settings['container']} is not running", "start it with `dlab hub up`")


def lab_jupyterhub(ref: str) -> str:
    spec = RunSpec(ref, command=("python", "-c", "import jupyterhub; print(jupyterhub.__version__)"), detach=False,
                   remove=True, network="none", env={"DLAB_SEED": "0"})
    out = engine.run(spec.argv(), env=spec.env, check=False).stdout.split()
    return out[-1] if out else "?"


def run_status(args: argparse.Namespace) -> int:
    settings = read_settings(args.settings)
    state = container_state(settings["container"])
    if not state or not state["Running"]:
        ui.say(f"the hub {settings['container']} is not running (`dlab hub up` starts it)")
        return 0
    show_hub(settings)
    hub = engine.run(["exec", settings["container"], "jupyterhub", "--version"], check=False).stdout.strip()
    labs = [f"{ref} {lab_jupyterhub(ref)}" for ref in (settings["image_cpu"], settings["image_cuda"])
            if engine.inspect_image(ref) is not None]
    ui.say(f"jupyterhub {hub} in the hub; in the labs: {'; '.join(labs)}")
    rows = hub_users(settings)
    ui.say(f"{sum(r['lab'] == 'ready' for r in rows)} lab(s) running; "
           f"{sum(r['password_set'] for r in rows)} of {len(rows)} members have a password")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    settings = read_settings(args.settings)
    running_hub(settings)
    try:
        return engine.run(["logs", *(["-f"] if args.follow else []), settings["container"]], stream=True,
                          check=False).returncode
    except KeyboardInterrupt:
        return 0


# --- users and handouts --------------------------------------------------------------------------
def hub_users(settings: dict, add: list[str] | None = None) -> list[dict]:
    """What the hub knows of its users (dlab_hub.admin inside its container)."""
    command = ["add", *add] if add else ["users"]
    result = engine.run(["exec", "-e", f"DLAB_HUB_SETTINGS={settings['path']}", settings["container"],
                         "python3", "-m", "dlab_hub.admin", *command], check=False)
    if result.returncode != 0:
        raise relayed(result.stderr, result.returncode)
    return json.loads(result.stdout)


def run_users(args: argparse.Namespace) -> int:
    settings = read_settings(args.settings)
    running_hub(settings)
    if args.add:
        hub_users(settings, add=args.add)
        ui.say(f"{', '.join(args.add)} may sign in now; add them to the class list too, so they stay")
    rows = [("USER", "ROLE", "ON LIST", "PASSWORD", "LAB", "LAST ACTIVITY")]
    for r in hub_users(settings):
        rows.append((r["name"], "teacher" if r["admin"] else "student", "yes" if r["on_class_list"] else "no",
                     "set" if r["password_set"] else "-", f"{r['lab']} {r['runtime']}".strip() or "-",
                     r["last_activity"][:19].replace("T", " ") or "-"))
    print(ui.table(rows))
    if args.passwords:
        result = engine.run(["exec", settings["container"], "cat", f"{settings['root']}/state/passwords.csv"], check=False)
        print(result.stdout.strip() or 'no generated passwords (the class has passwords = "first-use")')
    return 0


def run_handout(args: argparse.Namespace) -> int:
    """Copy each file into every student's folder where no file of that name exists."""
    import shutil

    missing = [f for f in args.files if not os.path.isfile(f)]
    if missing:
        raise UserError(f"no such file: {missing[0]}", "give the notebooks (or other files) to hand out")
    names = [os.path.basename(f) for f in args.files]
    if len(set(names)) != len(names):
        raise UserError("two of the files have the same name", "hand them out one at a time, or rename one")
    settings = read_settings(args.settings)
    students_root = os.path.join(settings["root"], "students")
    existing = os.listdir(students_root) if os.path.isdir(students_root) else []
    as_root = os.getuid() == 0
    copied = kept = 0
    for student in sorted(set(settings["members"]) | set(existing)):
        folder = os.path.join(students_root, student)
        if not os.path.isdir(folder):
            os.makedirs(folder)
            if as_root:
                os.chown(folder, settings["uid"], settings["gid"])
        for source, name in zip(args.files, names):
            target = os.path.join(folder, name)
            if os.path.lexists(target):
                kept += 1
                continue
            with open(source, "rb") as src, open(target, "xb") as dst:  # "x": never over a file
                shutil.copyfileobj(src, dst)
            if as_root:
                os.chown(target, settings["uid"], settings["gid"])
            copied += 1
    ui.say(f"handed out {', '.join(names)}: {copied} new copies, {kept} kept as the students had them")
    return 0
