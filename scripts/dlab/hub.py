"""`dlab hub`: the classroom server. JupyterHub + DockerSpawner (the hub image, hub/) start one
dlab lab per student; everything about the class comes from one settings file (TOML), which the
hub image reads (`python -m dlab_hub.settings`), so the host needs nothing but Python and Docker.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import sys
import time
import urllib.request

SETTINGS = "class.toml"
HUB_STOP_SECONDS = 30
READY_SECONDS = 180
GPU_LISTING = ("nvidia-smi", "-L")


def add_parser(subparsers):
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


# --- the hub image and the settings ------------------------------------------------------------
def hub_image():
    from . import images

    return f"{images.REPOSITORY}:{images.version()}-hub"


def build_hub_image(quiet=True):
    """Build the hub image from hub/Dockerfile, as `dlab build` builds the lab (base, CA secret, labels)."""
    import subprocess
    from datetime import datetime, timezone

    from . import build, images
    from .errors import DlabError

    tag = hub_image()
    lock = build.REQUIREMENTS / "cpu.lock"
    args = ["build", "-f", str(images.ROOT / "hub" / "Dockerfile"), "--build-arg", f"BASE_IMAGE={build.choose_base(None)}",
            "--build-arg", f"VERSION={images.version()}", "--build-arg", f"REVISION={build.revision()}",
            "--build-arg", f"CREATED={datetime.now(timezone.utc).date().isoformat()}",
            "--build-arg", f"JUPYTERHUB={build.locked_version(lock, 'jupyterhub')}", *build.ca_secret(),
            "--progress", "plain", "-t", tag, str(images.ROOT)]
    print(f"dlab: building the hub image {tag} ...", flush=True)
    output = subprocess.PIPE if quiet else None
    result = subprocess.run(["docker", *args], env={**os.environ, "DOCKER_BUILDKIT": "1"}, stdout=output,
                            stderr=output, text=True)
    if result.returncode != 0:
        if quiet:
            print("\n".join((result.stdout + result.stderr).splitlines()[-25:]), file=sys.stderr)
        raise DlabError(f"building {tag} failed (docker build exit {result.returncode})", "read the build output above")
    subprocess.run(["docker", "tag", tag, f"{images.REPOSITORY}:hub"], check=True)  # Compose's name for it
    return tag


def image_present(ref):
    from . import engine

    result = engine.run(["image", "inspect", ref], check=False)
    if result.returncode != 0 and engine.daemon_state(result.stderr):
        raise engine.engine_error(result.stderr)  # no engine: say so, not "image missing"
    return result.returncode == 0


def ensure_hub_image():
    if not image_present(hub_image()):
        build_hub_image()
    return hub_image()


def lab_ids():
    """Who the labs run as: the caller, or jovyan (1000:100) when the caller is root."""
    uid = os.getuid()
    return (uid, os.getgid()) if uid else (1000, 100)


def hub_env(insecure=False):
    from . import images

    uid, gid = lab_ids()
    env = {"DLAB_HUB_UID": uid, "DLAB_HUB_GID": gid, "DLAB_REPOSITORY": images.REPOSITORY}
    if insecure:
        env["DLAB_HUB_INSECURE_HTTP"] = "1"
    return [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]


def relayed(text, code):
    """The hub's own two-line error (error:/fix:) as our error, with its exit code."""
    from .errors import DlabError, UserError

    lines = [line for line in text.splitlines() if line.startswith(("error: ", "fix: "))]
    what = next((line[7:] for line in lines if line.startswith("error: ")), "")
    fix = next((line[5:] for line in lines if line.startswith("fix: ")), "see `dlab hub logs`")
    if not what:
        tail = [line for line in text.splitlines() if line.strip()][-1:] or ["no message"]
        return DlabError(f"the hub stopped: {tail[0]}", "see `dlab hub logs`")
    return (UserError if code == 2 else DlabError)(what, fix)


def read_settings(path, insecure=False):
    """The class settings as the hub reads them (JSON from the hub image), or its two-line error."""
    from . import engine
    from .errors import UserError

    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise UserError(f"no class settings at {path}",
                        "copy hub/class.example.toml there and list your students, or pass --settings FILE")
    folder = os.path.dirname(path)
    image = ensure_hub_image()
    result = engine.run(["run", "--rm", "--network", "none", "-v", f"{folder}:{folder}:ro", *hub_env(insecure),
                         image, "python3", "-m", "dlab_hub.settings", path], check=False)
    if result.returncode != 0:
        raise relayed(result.stderr or result.stdout, result.returncode)
    return json.loads(result.stdout)


# --- up ----------------------------------------------------------------------------------------
def check_ports(settings):
    from .errors import UserError
    from .probe import port_is_free

    bind = settings["bind"]
    wanted = [(settings["port"], "" if bind == "0.0.0.0" else bind, "[server] port, where students connect"),
              (settings["hub_api_port"], "", "[server] hub_api_port, where labs reach the hub"),
              (settings["proxy_api_port"], "127.0.0.1", "[server] proxy_api_port, the proxy's own API")]
    for port, host, role in wanted:
        if not port_is_free(port, host):
            raise UserError(f"port {port} is taken ({role})",
                            f"stop what listens there, or set another free port in {settings['path']}")


def check_root(settings):
    """The class root is made by the caller, so a folder nobody may write to fails before anything starts."""
    from .errors import UserError

    root = settings["root"]
    try:
        os.makedirs(root, exist_ok=True)
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise UserError(f"the class root {root} is not writable: {exc.strerror}",
                        "make it yours (`sudo mkdir -p ROOT && sudo chown $USER ROOT`) or set [storage] root "
                        "to a folder you can write") from None


def check_lab_images(settings, gpus):
    from .errors import UserError

    for ref in [settings["image_cpu"]] + ([settings["image_cuda"]] if gpus else []):
        if not image_present(ref):
            raise UserError(f"the lab image {ref} is missing",
                            "build it (`make image`, FLAVOR=cuda for GPUs) or `dlab load` it from a bundle")


def gpu_listing():
    """`nvidia-smi -L` when the host's GPUs really reach containers; '' otherwise (with the reason)."""
    import subprocess

    from . import plan, probe

    if not shutil.which(GPU_LISTING[0]):
        return ""
    facts = probe.probe_host()
    blocker = plan.gpu_blocker(facts)
    if blocker:
        print(f"dlab: no GPU labs: {blocker}", flush=True)
        return ""
    result = subprocess.run(list(GPU_LISTING), capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else ""


def container_state(name):
    from . import engine

    result = engine.run(["container", "inspect", name], check=False)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)[0]["State"]


def public_addresses():
    """This host's name and its main address, for the URL students open."""
    names = [socket.gethostname()]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        try:
            probe_socket.connect(("192.0.2.1", 9))  # no packet is sent; the route picks the address
            names.append(probe_socket.getsockname()[0])
        except OSError:
            pass
    return names


def wait_ready(settings, name):
    """Until /hub/health answers; an exited hub's error becomes ours."""
    from . import engine
    from .errors import DlabError

    scheme = "https" if settings["tls"] else "http"
    host = "127.0.0.1" if settings["bind"] in ("0.0.0.0", "127.0.0.1") else settings["bind"]
    url = f"{scheme}://{host}:{settings['port']}/hub/health"
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # our own hub, on loopback
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        state = container_state(name)
        if state is None or state["Status"] in ("exited", "restarting"):  # its restart policy tries again
            logs = engine.run(["logs", name], check=False)
            code = (state or {}).get("ExitCode", 1)
            engine.run(["rm", "-f", name], check=False)
            raise relayed(logs.stderr + logs.stdout, code)
        try:
            with opener.open(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise DlabError(f"the hub did not answer at {url} within {READY_SECONDS} s", "see `dlab hub logs`")


def fingerprint_from_log(name):
    from . import engine

    logs = engine.run(["logs", name], check=False).stdout
    return next((line.rsplit(" ", 1)[-1] for line in logs.splitlines() if "SHA-256 fingerprint" in line), "")


def run_up(args):
    from . import engine

    settings = read_settings(args.settings, args.insecure_http)
    name = settings["container"]
    state = container_state(name)
    if state and state["Running"]:
        print(f"dlab: the hub {name} is already running")
        return show_hub(settings)
    if state:
        engine.run(["rm", "-f", name])
    check_root(settings)
    check_ports(settings)
    listing = gpu_listing() if settings["gpu_policy"] != "none" else ""
    check_lab_images(settings, bool(listing))
    mounts = [settings["root"], os.path.dirname(settings["path"])]
    mounts += [os.path.dirname(p) for p in (settings["cert"], settings["key"]) if p]
    volumes = ["-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", f"{settings['root']}:{settings['root']}"]
    for folder in sorted(set(mounts[1:]) - {settings["root"]}):
        volumes += ["-v", f"{folder}:{folder}:ro"]
    engine.run(["run", "-d", "--name", name, "--network", "host", "--restart", "unless-stopped",
                "--label", f"org.dlab.hub={settings['class_name']}", *volumes, *hub_env(args.insecure_http),
                "-e", f"DLAB_HUB_SETTINGS={settings['path']}", "-e", f"DLAB_HUB_GPUS={listing}", hub_image()])
    wait_ready(settings, name)
    return show_hub(settings)


def show_hub(settings):
    scheme = "https" if settings["tls"] else "http"
    hosts = ["127.0.0.1"] if settings["bind"] == "127.0.0.1" else public_addresses()
    urls = [f"{scheme}://{h}:{settings['port']}/" for h in hosts]
    print(f"dlab: classroom hub {settings['class_name']} is up: {urls[0]}" +
          (f" (also {', '.join(urls[1:])})" if urls[1:] else ""))
    fingerprint = fingerprint_from_log(settings["container"]) if settings["tls"] else ""
    if fingerprint:
        print(f"dlab: certificate SHA-256 fingerprint {fingerprint}")
        print("dlab: students compare it with what their browser shows before they sign in")
    elif not settings["tls"]:
        print("dlab: WARNING: plain HTTP: passwords are not encrypted on the way")
    passwords = "each sets one at first sign-in" if settings["passwords"] == "first-use" else \
        "generated: `dlab hub users --passwords` lists them"
    print(f"dlab: teacher (admin) {settings['teacher']}; {len(settings['students'])} students; passwords {passwords}")
    print(f"dlab: students' work in {settings['root']}/students/<name>/; the class folder "
          f"{settings['root']}/class/ is read-only in every lab")
    return 0


# --- down, status, logs --------------------------------------------------------------------------
def class_labs(class_name):
    from . import engine

    return engine.run(["ps", "-aq", "--filter", f"label=org.dlab.hub={class_name}"]).stdout.split()


def run_down(args):
    from . import engine

    settings = read_settings(args.settings)
    name = settings["container"]
    if container_state(name):
        engine.run(["stop", "--time", str(HUB_STOP_SECONDS), name], check=False)
        engine.run(["rm", "-f", name], check=False)
    labs = [c for c in class_labs(settings["class_name"])]
    if labs:
        engine.run(["stop", "--time", "10", *labs], check=False)
        engine.run(["rm", "-f", *labs], check=False)
    engine.run(["network", "rm", settings["network"]], check=False)
    print(f"dlab: the hub {name} and {len(labs)} lab(s) stopped; every file stays in {settings['root']}")
    return 0


def running_hub(settings):
    from .errors import UserError

    state = container_state(settings["container"])
    if not state or not state["Running"]:
        raise UserError(f"the hub {settings['container']} is not running", "start it with `dlab hub up`")


def run_status(args):
    from . import engine

    settings = read_settings(args.settings)
    state = container_state(settings["container"])
    if not state or not state["Running"]:
        print(f"dlab: the hub {settings['container']} is not running (`dlab hub up` starts it)")
        return 0
    show_hub(settings)
    hub = engine.run(["exec", settings["container"], "jupyterhub", "--version"], check=False).stdout.strip()
    versions = []
    for ref in (settings["image_cpu"], settings["image_cuda"]):
        if image_present(ref):
            lab = engine.run(["run", "--rm", "--network", "none", "-e", "DLAB_SEED=0", ref, "python", "-c",
                              "import jupyterhub; print(jupyterhub.__version__)"], check=False).stdout.strip()
            versions.append(f"{ref} {lab.splitlines()[-1] if lab else '?'}")
    print(f"dlab: jupyterhub {hub} in the hub; in the labs: {'; '.join(versions)}")
    rows = hub_users(settings)
    running = sum(1 for r in rows if r["lab"] == "ready")
    print(f"dlab: {running} lab(s) running, {sum(1 for r in rows if r['password_set'])} of {len(rows)} "
          "members have a password")
    return 0


def run_logs(args):
    from . import engine

    settings = read_settings(args.settings)
    running_hub(settings)
    engine.run(["logs", *(["--follow"] if args.follow else []), settings["container"]], capture=False)
    return 0


# --- users and handouts --------------------------------------------------------------------------
def hub_users(settings, add=()):
    from . import engine

    command = ["add", *add] if add else ["users"]
    result = engine.run(["exec", "-e", f"DLAB_HUB_SETTINGS={settings['path']}", settings["container"],
                         "python3", "-m", "dlab_hub.admin", *command], check=False)
    if result.returncode != 0:
        raise relayed(result.stderr, result.returncode)
    return json.loads(result.stdout)


def run_users(args):
    from . import engine

    settings = read_settings(args.settings)
    running_hub(settings)
    if args.add:
        hub_users(settings, add=args.add)
        print(f"dlab: {', '.join(args.add)} may sign in now; add them to the class list too, so they stay")
    rows = hub_users(settings)
    table = [("user", "role", "on list", "password", "lab", "last activity")]
    for r in rows:
        table.append((r["name"], "teacher" if r["admin"] else "student", "yes" if r["on_class_list"] else "no",
                      "set" if r["password_set"] else "-", f"{r['lab']} {r['runtime']}".strip() or "-",
                      r["last_activity"][:19].replace("T", " ") or "-"))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    if args.passwords:
        result = engine.run(["exec", settings["container"], "cat", f"{settings['root']}/state/passwords.csv"],
                            check=False)
        print(result.stdout.strip() or "dlab: no generated passwords ([class] passwords = \"first-use\")")
    return 0


def run_handout(args):
    """Copy each file into every student's folder where no file of that name exists."""
    from .errors import UserError

    missing = [f for f in args.files if not os.path.isfile(f)]
    if missing:
        raise UserError(f"no such file: {missing[0]}", "give the notebooks (or other files) to hand out")
    names = [os.path.basename(f) for f in args.files]
    if len(set(names)) != len(names):
        raise UserError("two of the files have the same name", "hand them out one at a time, or rename one")
    settings = read_settings(args.settings)
    uid, gid = settings["uid"], settings["gid"]
    students_root = os.path.join(settings["root"], "students")
    existing = os.listdir(students_root) if os.path.isdir(students_root) else []
    copied = kept = 0
    for student in sorted(set(settings["members"]) | set(existing)):
        folder = os.path.join(students_root, student)
        if not os.path.isdir(folder):
            os.makedirs(folder)
            if os.getuid() == 0:
                os.chown(folder, uid, gid)
        for source, name in zip(args.files, names):
            target = os.path.join(folder, name)
            if os.path.lexists(target):
                kept += 1
                continue
            with open(source, "rb") as src, open(target, "xb") as dst:  # "x": never over a file
                shutil.copyfileobj(src, dst)
            if os.getuid() == 0:
                os.chown(target, uid, gid)
            copied += 1
    print(f"dlab: handed out {', '.join(names)}: {copied} new copies, {kept} kept as the students had them")
    return 0
