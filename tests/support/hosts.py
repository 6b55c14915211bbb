"""Recorded hosts (tests/launcher/hosts/*.json) as the planner's HostFacts, and recorded engine answers."""

import json

from dlab import engine, probe
from dlab.images import default_image
from tests.support.paths import ROOT

HOSTS = ROOT / "tests" / "launcher" / "hosts"
ENGINE_ANSWERS = ROOT / "tests" / "launcher" / "engine"


def load_host(name, **overrides):
    """HostFacts from a recorded host (raw docker info and nvidia-smi output go through the real parsers)."""
    record = json.loads((HOSTS / f"{name}.json").read_text())
    fields = dict(record["host"])
    fields.update(probe.parse_docker_info(record["docker_info"]))
    smi = record.get("nvidia_smi")
    if smi:
        fields.update(probe.nvidia_smi_facts(smi["path"], smi.get("returncode", 0), smi["stdout"]))
    fields["toolkit_tools"] = tuple(record.get("toolkit_tools", ()))
    fields["busy_ports"] = tuple(record.get("busy_ports", ()))
    fields["images"] = {default_image(f): engine.Image(id=f"sha256:{f}", labels={"org.dlab.flavor": f})
                        for f in record.get("images", ())}
    fields["work"] = probe.Work(path="/home/student/work", exists=True, is_dir=True, writable=True)
    fields.update(overrides)
    return probe.HostFacts(**fields)


def recorded_image(name):
    """engine.Image of what a real engine said of a real image (tests/launcher/engine/<name>.json)."""
    answer = json.loads((ENGINE_ANSWERS / f"{name}.json").read_text())
    return engine.image_from_inspect(json.loads(answer["stdout"])[0])
