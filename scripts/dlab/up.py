"""`dlab up`: probe the host, plan the launch, start JupyterLab and show its URL."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from . import defaults, ui
from .images import FLAVORS

if TYPE_CHECKING:
    from .plan import LaunchPlan


def add_device_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flavor", default="auto", choices=("auto", *FLAVORS),
                        help="image flavor; auto picks cuda when GPUs really work here (default: auto)")
    parser.add_argument("--gpus", default="auto", metavar="auto|all|none|0,2",
                        help="GPUs to give the lab (default: auto = all when they work, else none)")
    parser.add_argument("--image", metavar="REF", help="run this image instead of the checkout's dlab image")
    parser.add_argument("--work", default="", metavar="DIR",
                        help=f"folder mounted at {defaults.WORK_TARGET} (default: {defaults.WORK} in your dlab data folder, "
                        "~/.local/share/dlab on Linux; an existing ./work with files is kept in use)")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("up", help="start JupyterLab and open it in the browser",
                                   description="Start the lab: JupyterLab with your work folder mounted, on the GPU when one "
                                   "works.")
    add_device_options(parser)
    parser.add_argument("--port", type=int, default=defaults.PORT, metavar="N",
                        help=f"host port (default {defaults.PORT}; the next free one when taken)")
    parser.add_argument("--name", default=defaults.NAME,
                        help=f"instance name, for several labs side by side (default: {defaults.NAME})")
    parser.add_argument("--token-file", metavar="FILE", help="read the Jupyter token from FILE (or set DLAB_TOKEN)")
    parser.add_argument("--token", default="", metavar="T",
                        help="Jupyter token (default: a new random one); shows in `ps`: prefer --token-file")
    parser.add_argument("--public", action="store_true",
                        help=f"listen on all interfaces over HTTPS (needs a token of {defaults.PUBLIC_TOKEN_MIN}+ characters)")
    parser.add_argument("--certfile", default="", metavar="PEM", help="--public: your certificate (default: a self-signed one)")
    parser.add_argument("--keyfile", default="", metavar="PEM", help="--public: the certificate's key")
    parser.add_argument("--root", action="store_true", help="run Jupyter as root in the lab (apt-get; files become root's)")
    parser.add_argument("--memory", default="", metavar="SIZE",
                        help=f"memory limit, e.g. 8g (default: {defaults.MEMORY_SHARE * 100:.0f}%% of the engine's; "
                        "none: no limit)")
    parser.add_argument("--cpus", default="", metavar="N",
                        help=f"CPU limit (default: all but {defaults.HOST_CPUS} where the engine has more than 2)")
    parser.add_argument("--pids-limit", default="", metavar="N",
                        help=f"processes and threads (default {defaults.PIDS_LIMIT})")
    parser.add_argument("--shm-size", default="", metavar="SIZE",
                        help=f"shared memory for data loaders (default {defaults.SHM_SIZE})")
    parser.add_argument("--no-solutions", dest="solutions", action="store_false",
                        help="copy the course exercises only, not their solutions")
    parser.add_argument("--no-browser", dest="browser", action="store_false", help="do not open a browser")
    parser.set_defaults(func=run)


def read_token(args: argparse.Namespace) -> str:
    """The token from --token-file, else --token (with a warning), else DLAB_TOKEN; '' for a new one."""
    import os

    from .errors import UserError

    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as file:
                token = file.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read the token file {args.token_file}: {getattr(exc, 'strerror', None) or exc}",
                            "pass a readable file that holds the token on one line") from None
        if not token:
            raise UserError(f"the token file {args.token_file} is empty", "write the token into it, on one line")
        return token
    if args.token:
        ui.say("note: --token shows in `ps` and your shell history; --token-file FILE or DLAB_TOKEN keep it private")
        return args.token
    return os.environ.get("DLAB_TOKEN", "").strip()


def run(args: argparse.Namespace) -> int:
    import secrets

    from . import act, session
    from .plan import Options

    options = Options(flavor=args.flavor, gpus=args.gpus, work=args.work, port=args.port, name=args.name,
                      image=args.image, token=read_token(args), new_token=secrets.token_hex(24),
                      public=args.public, browser=args.browser, root=args.root, memory=args.memory, cpus=args.cpus,
                      pids_limit=args.pids_limit, shm_size=args.shm_size, certfile=args.certfile, keyfile=args.keyfile,
                      solutions=args.solutions)

    def start(launch: LaunchPlan) -> None:
        ui.say(f"starting {launch.name}: {launch.image} ({launch.devices}), work folder {launch.work}",
               f"limits: {launch.limits.text()} (--memory, --cpus, --pids-limit, --shm-size)")
        act.start(launch.lab_spec())
        act.wait_ready(launch)

    launch, _ = session.launch(options, start)
    print(f"JupyterLab is ready: {launch.url}", flush=True)
    if launch.host_ip == "0.0.0.0":
        show_public(launch)
    print(f"stop it with `{'dlab down' if launch.name == defaults.NAME else f'dlab down {launch.name}'}`", flush=True)
    if launch.open_browser:
        act.open_browser(launch)
    return 0


def show_public(launch: LaunchPlan) -> None:
    import os
    import socket

    from . import engine, tls

    print(f"from other machines: {engine.lab_url(launch.port, launch.token, socket.gethostname(), launch.scheme)}")
    cert = os.path.join(launch.tls_folder, tls.CERT)
    if launch.tls and os.path.exists(cert):
        kind = "your certificate" if launch.tls_source else "a self-signed certificate: browsers warn; compare"
        print(f"HTTPS with {kind} SHA-256 fingerprint {tls.fingerprint(cert)}")
    print("note: Docker's published ports bypass host firewalls such as ufw and firewalld: "
          "anyone who can reach this machine reaches this port")
