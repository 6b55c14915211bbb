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
    parser.add_argument("--work", default=defaults.WORK, metavar="DIR",
                        help=f"folder mounted at {defaults.WORK_TARGET} (default: ./{defaults.WORK}, created when absent)")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("up", help="start JupyterLab and open it in the browser",
                                   description="Start the lab: JupyterLab with your work folder mounted, on the GPU when one "
                                   "works.")
    add_device_options(parser)
    parser.add_argument("--port", type=int, default=defaults.PORT, metavar="N",
                        help=f"host port (default {defaults.PORT}; the next free one when taken)")
    parser.add_argument("--name", default=defaults.NAME,
                        help=f"instance name, for several labs side by side (default: {defaults.NAME})")
    parser.add_argument("--token", default="", metavar="T", help="Jupyter token (default: a new random one)")
    parser.add_argument("--public", action="store_true", help="listen on all interfaces, not just 127.0.0.1 (needs --token)")
    parser.add_argument("--no-browser", dest="browser", action="store_false", help="do not open a browser")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import secrets

    from . import act, session
    from .plan import Options

    options = Options(flavor=args.flavor, gpus=args.gpus, work=args.work, port=args.port, name=args.name,
                      image=args.image, token=args.token, new_token=secrets.token_hex(24),
                      public=args.public, browser=args.browser)

    def start(launch: LaunchPlan) -> None:
        ui.say(f"starting {launch.name}: {launch.image} ({launch.devices}), work folder {launch.work}")
        act.start(launch.lab_spec())
        act.wait_ready(launch)

    launch, _ = session.launch(options, start)
    print(f"JupyterLab is ready: {launch.url}", flush=True)
    if launch.host_ip == "0.0.0.0":
        import socket

        print(f"from other machines: http://{socket.gethostname()}:{launch.port}/lab?token={launch.token}")
    print(f"stop it with `{'dlab down' if launch.name == defaults.NAME else f'dlab down {launch.name}'}`", flush=True)
    if launch.open_browser:
        act.open_browser(launch.url)
    return 0
