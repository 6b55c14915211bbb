"""`dlab up`: probe the host, plan the launch, start JupyterLab and show its URL."""

from __future__ import annotations

DEFAULT_WORK = "work"


def add_device_options(parser):
    parser.add_argument("--flavor", default="auto", choices=("auto", "cpu", "cuda"),
                        help="image flavor; auto picks cuda when GPUs really work here (default: auto)")
    parser.add_argument("--gpus", default="auto", metavar="auto|all|none|0,2",
                        help="GPUs to give the lab (default: auto = all when they work, else none)")
    parser.add_argument("--image", metavar="REF", help="run this image instead of the checkout's dlab image")
    parser.add_argument("--work", default=DEFAULT_WORK, metavar="DIR",
                        help="folder mounted at /home/jovyan/work (default: ./work, created when absent)")


def add_parser(subparsers):
    parser = subparsers.add_parser("up", help="start JupyterLab and open it in the browser",
                                   description="Start the lab: JupyterLab with your work folder mounted, on the GPU when one works.")
    add_device_options(parser)
    parser.add_argument("--port", type=int, default=8888, metavar="N",
                        help="host port (default 8888; the next free one when taken)")
    parser.add_argument("--name", default="dlab", help="instance name, for several labs side by side (default: dlab)")
    parser.add_argument("--token", default="", metavar="T", help="Jupyter token (default: a new random one)")
    parser.add_argument("--public", action="store_true", help="listen on all interfaces, not just 127.0.0.1 (needs --token)")
    parser.add_argument("--no-browser", dest="browser", action="store_false", help="do not open a browser")
    parser.set_defaults(func=run)


def options_from(args):
    import secrets

    from .plan import Options

    return Options(
        flavor=args.flavor, gpus=args.gpus, work=args.work, port=args.port, name=args.name,
        image=args.image, token=args.token, new_token=secrets.token_hex(24),
        public=args.public, browser=args.browser,
    )


def probe_for(options):
    from .images import FLAVORS, default_image
    from .probe import probe_host

    refs = [options.image] if options.image else [default_image(f) for f in FLAVORS]
    return probe_host(image_refs=refs, name=options.name, port=options.port,
                      public=options.public, work=options.work)


def run(args):
    from . import act
    from .plan import check_options, plan

    options = options_from(args)
    check_options(options)  # bad flags fail before any probing
    if options.image:  # an image on a classroom registry is pulled when missing
        from .registry import pull_missing

        pull_missing(options.image)
    facts = probe_for(options)
    for _attempt in range(4):
        launch = plan(facts, options)
        if launch.build and launch.gpus != "none":
            # Ask the engine before building an image for GPUs it might not give.
            facts.gpu_refused = act.gpus_refused(launch.gpus, facts.images)
            if facts.gpu_refused:
                continue
        for note in launch.notes:
            act.say(note)
        if launch.reuse:
            return show(launch, facts)
        act.prepare(launch)
        facts.work.exists = facts.work.is_dir = facts.work.writable = True
        facts.existing, facts.images = None, {**facts.images, launch.image: facts.images.get(launch.image, {})}
        gpus = "no GPU" if launch.gpus == "none" else f"GPUs {launch.gpus}"
        act.say(f"starting {launch.name}: {launch.image} ({gpus}), work folder {launch.work}")
        try:
            act.start(launch)
        except act.GpuRefused as refusal:
            facts.gpu_refused = str(refusal)
            continue
        except act.PortTaken as taken:
            facts.busy_ports = (*facts.busy_ports, int(str(taken)))
            continue
        act.wait_ready(launch)
        return show(launch, facts)
    from .errors import DlabError

    raise DlabError("the lab would not start after several tries", "run `dlab doctor` and try again")


def show(launch, facts):
    from . import act

    print(f"JupyterLab is ready: {launch.url}", flush=True)
    if launch.host_ip == "0.0.0.0":
        import socket

        print(f"from other machines: http://{socket.gethostname()}:{launch.port}/lab?token={launch.token}")
    stop = "dlab down" if launch.name == "dlab" else f"dlab down {launch.name}"
    print(f"stop it with `{stop}`", flush=True)
    if launch.open_browser:
        act.open_browser(launch.url, wsl=facts.wsl)
    return 0
