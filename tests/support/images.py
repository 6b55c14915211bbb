"""The images under test (one per flavor), the flavors this run tests, and throwaway tags."""

import os
import secrets

from dlab.images import FLAVORS, REPOSITORY, default_image
from tests.support.paths import VERSION
from tests.support.runner import docker


def image_ref(flavor):
    """The image tested for a flavor: DLAB_IMAGE_<FLAVOR>, else the one `dlab build` makes."""
    return os.environ.get(f"DLAB_IMAGE_{flavor.upper()}") or default_image(flavor)


def tested_flavors():
    """The flavors DLAB_TEST_FLAVORS names (scripts/test builds those), all of them when it is unset."""
    named = os.environ.get("DLAB_TEST_FLAVORS", "").split() or list(FLAVORS)
    unknown = [f for f in named if f not in FLAVORS]
    if unknown:
        raise ValueError(f"DLAB_TEST_FLAVORS names {' '.join(unknown)}; the flavors are {', '.join(FLAVORS)}")
    return tuple(f for f in FLAVORS if f in named)


def image_args(image):
    """`--image REF` when the tests run another image than the checkout's default, else nothing."""
    return [] if image == default_image("cpu") else ["--image", image]


def image_id(ref):
    """The engine's ID for ref, or None when there is no such image."""
    result = docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def fresh_tag(prefix):
    """A CPU image tag that did not exist before, for a test to make and remove: <repository>:<prefix>-<random>-<version>-cpu,
    in the lab's repository (the only one a bundle may tag)."""
    return f"{REPOSITORY}:{prefix}-{secrets.token_hex(4)}-{VERSION}-cpu"


def remove_tag(ref):
    """Untag our own ref, also while a container uses its image (the image stays); a missing tag is fine."""
    docker("image", "rm", "--force", "--no-prune", ref, check=False)
