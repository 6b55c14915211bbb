"""One launch session, for `dlab up` and `dlab check` alike.

Plan, ask the engine for GPUs before a long build, prepare, start; what the engine refuses (GPUs,
a port taken meanwhile) goes back into the host facts, and the plan is made again.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, TypeVar

from . import act, engine, ui
from .defaults import ATTEMPTS
from .errors import DlabError
from .images import FLAVORS, default_image
from .isolation import network_name
from .plan import LaunchPlan, Options, check_options, plan
from .probe import HostFacts, probe_host

T = TypeVar("T")


def facts_for(options: Options, serve: bool) -> HostFacts:
    """Host facts for these options; serve: a lab with a name and a port, not a one-off container."""
    check_options(options)  # bad flags fail before any probing
    if options.image:  # an image on a classroom registry is pulled when missing
        from .registry import pull_missing

        pull_missing(options.image)
    refs = [options.image] if options.image else [default_image(f) for f in FLAVORS]
    return probe_host(image_refs=refs, name=options.name if serve else None, port=options.port if serve else None,
                      public=options.public, work=options.work, network=network_name(),
                      tls=(options.certfile, options.keyfile) if options.certfile and options.keyfile else None)


def launch(options: Options, start: Callable[[LaunchPlan], T], serve: bool = True) -> tuple[LaunchPlan, T | None]:
    """(plan, what start returned), or (plan of the running lab, None) when the lab is already up."""
    facts = facts_for(options, serve)
    for _attempt in range(ATTEMPTS):
        launch = plan(facts, options)
        if launch.build and launch.gpus != "none":
            # Ask the engine before building an image for GPUs it might not give.
            facts.gpu_refused = act.gpus_refused(launch.gpus, facts.images)
            if facts.gpu_refused:
                continue
        ui.say(*launch.notes)
        if launch.reuse:
            return launch, None
        act.prepare(launch)
        if facts.work is not None:
            facts.work = dataclasses.replace(facts.work, exists=True, is_dir=True, writable=True)
        facts.existing = None
        facts.lab_network = "isolated" if launch.network else facts.lab_network
        built = engine.inspect_image(launch.image) if launch.build else None
        if built is not None:
            facts.images[launch.image] = built
        try:
            return launch, start(launch)
        except engine.GpuRefused as refusal:
            facts.gpu_refused = refusal.reason
        except engine.PortTaken as taken:
            facts.busy_ports = (*facts.busy_ports, taken.port)
    raise DlabError("the lab would not start after several tries", "run `dlab doctor` and try again")
