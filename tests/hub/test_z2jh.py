"""hub/z2jh-values.yaml, checked as far as this machine allows (no cluster, no helm): it is YAML, every key
it sets is one the Zero to JupyterHub chart takes, with a value of the type the chart's schema allows, and
it runs the images this checkout builds."""

import re

import yaml

from tests.support.paths import ROOT, VERSION

VALUES = ROOT / "hub" / "z2jh-values.yaml"
NULL = type(None)
NUMBER = (int, float)

# What chart 4.3.5 takes for the keys our file sets, as read in its values.schema.yaml: for a mapping
# the keys it allows, for a value the types (or the words) it allows. Only our keys, written by hand.
CLASS_CONFIG = "traitlets classes"  # hub.config: capitalised class names, each a mapping
SHAPE = {
    "custom": dict,
    "hub": {"config": CLASS_CONFIG},
    "singleuser": {
        "image": {"name": str, "tag": str, "pullPolicy": ("IfNotPresent", "Always", "Never", "", None)},
        "cmd": (list, str, NULL), "defaultUrl": (str, NULL), "uid": (int, NULL), "fsGid": (int, NULL),
        "allowPrivilegeEscalation": (bool, NULL),
        "memory": {"limit": (*NUMBER, str, NULL), "guarantee": (*NUMBER, str, NULL)},
        "cpu": {"limit": (*NUMBER, NULL), "guarantee": (*NUMBER, NULL)},
        "storage": {"type": ("dynamic", "static", "none"), "capacity": (str, NULL), "homeMountPath": str},
        "profileList": list,
    },
    "cull": {"enabled": bool, "users": (bool, NULL), "timeout": (int, NULL), "every": (int, NULL)},
    "prePuller": {"hook": {"enabled": bool}, "continuous": {"enabled": bool}, "pullProfileListImages": bool},
}
# KubeSpawner's profile_list entries (the chart passes them through).
PROFILE_KEYS = {"display_name": str, "description": str, "default": bool, "kubespawner_override": dict}
OVERRIDE_KEYS = {"image": str, "extra_resource_limits": dict, "tolerations": list}


def mismatches(values, shape, path=""):
    """Where values leave the shape: unknown keys, wrong types."""
    if shape is CLASS_CONFIG:
        return [f"{path}.{k}" for k, v in values.items() if not (k[:1].isupper() and isinstance(v, dict))]
    if isinstance(shape, dict):
        if not isinstance(values, dict):
            return [f"{path} is not a mapping"]
        found = [f"{path}.{k} is not a key the chart takes" for k in values if k not in shape]
        return found + [m for k, v in values.items() if k in shape for m in mismatches(v, shape[k], f"{path}.{k}")]
    allowed = shape if isinstance(shape, tuple) else (shape,)
    types = tuple(a for a in allowed if isinstance(a, type))
    words = [a for a in allowed if not isinstance(a, type)]
    ok = (isinstance(values, types) and not (isinstance(values, bool) and bool not in types)) or values in words
    return [] if ok else [f"{path} = {values!r} is not one of {allowed}"]


def values():
    return yaml.safe_load(VALUES.read_text())


def test_values_are_yaml_with_the_keys_and_types_the_chart_takes():
    """Every key is one the chart's schema has, every value of a type it allows."""
    assert mismatches(values(), SHAPE) == []
    for profile in values()["singleuser"]["profileList"]:
        assert mismatches(profile, PROFILE_KEYS) == [] and isinstance(profile["display_name"], str)
        assert mismatches(profile.get("kubespawner_override", {}), OVERRIDE_KEYS) == []


def test_checker_catches_a_typo_and_a_wrong_type():
    """The check itself fails on a misspelt key and on a value of the wrong type."""
    assert mismatches({"cull": {"timout": 60}}, SHAPE) == [".cull.timout is not a key the chart takes"]
    assert mismatches({"singleuser": {"storage": {"type": "dynamik"}}}, SHAPE)
    assert mismatches({"cull": {"enabled": "yes"}}, SHAPE)


def test_values_run_this_checkouts_images():
    """CPU and GPU profiles use the pinned tags of this version; the GPU one asks for nvidia.com/gpu: 1."""
    v = values()
    assert v["singleuser"]["image"]["tag"] == f"{VERSION}-cpu"
    gpu = next(p for p in v["singleuser"]["profileList"] if p["display_name"] == "GPU")
    assert gpu["kubespawner_override"]["image"].endswith(f"/dlab:{VERSION}-cuda")
    assert gpu["kubespawner_override"]["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    assert v["singleuser"]["cmd"] is None  # the image's own CMD: jupyterhub-singleuser under a hub


def test_values_keep_work_cull_idle_labs_and_prepull():
    """A volume per student on the lab's work folder, culling after an hour (files kept), images pre-pulled."""
    v = values()
    assert v["singleuser"]["storage"]["type"] == "dynamic"
    assert v["singleuser"]["storage"]["homeMountPath"] == "/home/jovyan/work"
    assert v["cull"] == {"enabled": True, "users": False, "timeout": 3600, "every": 300}
    assert v["prePuller"]["hook"]["enabled"] and v["prePuller"]["continuous"]["enabled"]
    assert v["prePuller"]["pullProfileListImages"]


def test_chart_runs_the_labs_jupyterhub():
    """The chart named in the deploy command runs the jupyterhub the lab images carry."""
    dlab = values()["custom"]["dlab"]
    lock = (ROOT / "docker" / "requirements" / "cpu-amd64.lock").read_text()
    assert dlab["jupyterhub"] == re.search(r"^jupyterhub==(\S+)", lock, re.M).group(1)
    assert f"--version {dlab['chart']}" in VALUES.read_text()
