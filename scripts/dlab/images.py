"""Image names and tags: dlab:<version>-<flavor> plus the moving dlab:<flavor>."""

import os
from pathlib import Path

from .errors import UserError

FLAVORS = ("cpu", "cuda")
# DLAB_REPOSITORY: another name for the images (a site registry, or a side-by-side checkout).
REPOSITORY = os.environ.get("DLAB_REPOSITORY") or "dlab"
ROOT = Path(__file__).resolve().parents[2]


def version():
    return (ROOT / "VERSION").read_text().strip()


def check_flavor(flavor):
    if flavor not in FLAVORS:
        raise UserError(f"unknown flavor {flavor!r}", f"use one of: {', '.join(FLAVORS)}")
    return flavor


def versioned_tag(flavor, ver=None):
    return f"{REPOSITORY}:{ver or version()}-{check_flavor(flavor)}"


def moving_tag(flavor):
    return f"{REPOSITORY}:{check_flavor(flavor)}"


def default_image(flavor):
    """The image `dlab up` runs for a flavor: the one this checkout builds."""
    return versioned_tag(flavor)
