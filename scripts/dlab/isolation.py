"""Who a lab runs as and what it may reach: the user mapping (sudo, --root, rootless Docker, Podman),
capabilities, and the network labs share without reaching each other. Pure, like plan()."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import defaults
from .errors import UserError
from .images import REPOSITORY
from .probe import HostFacts

SECURITY = ("no-new-privileges",)   # a setuid program never gains privileges in a lab
NETWORK_OPTION = "com.docker.network.bridge.enable_icc"


@dataclass(frozen=True)
class Identity:
    """How the lab's processes run, and how its files end up owned on the host."""

    user: str | None                 # uid:gid inside the container; None where the engine maps users (Windows)
    groups: tuple[str, ...] = ()
    userns: str = ""
    root: bool = False               # Jupyter runs as root inside (the image allows it only when told)
    cap_add: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {defaults.ALLOW_ROOT: "1"} if self.root else {}


def identity(facts: HostFacts, root: bool) -> Identity:
    """The lab runs as the person who called dlab (the caller of sudo under sudo), so the work folder's files
    are theirs, with no capability. Jupyter runs as root only where root inside is that person (a root login,
    rootless Docker) or when asked (--root, which also gives root the capabilities to manage the system)."""
    ids = facts.caller.ids
    caps = defaults.ROOT_CAPS if root else ()
    if facts.rootless and facts.engine_name == "podman" and not root and ids:
        # Podman maps the caller's own uid into the container: the files stay theirs.
        return Identity(f"{ids[0]}:{ids[1]}", (defaults.ENV_GROUP,), userns="keep-id")
    if facts.rootless:
        # Rootless Docker maps container root to the caller and every other uid to a sub-uid range: only root
        # inside writes the work folder as its owner. Capabilities stay inside the engine's user namespace.
        return Identity("0:0", (defaults.ENV_GROUP,), root=True, cap_add=caps, notes=[
            f"rootless {facts.engine_name.capitalize()}: the lab runs as root inside, which is you on the host"])
    if root:
        return Identity("0:0", root=True, cap_add=caps,
                        notes=["a root lab (--root): Jupyter runs as root; what it writes in work belongs to root"])
    if ids is None:
        return Identity(None)
    if ids[0] == 0:
        return Identity("0:0", (defaults.ENV_GROUP,), root=True, notes=[
            "you run dlab as root (not through sudo): the lab runs as uid 0 with no capabilities, so its files are "
            "root's; run dlab as your own user for a lab of yours"])
    notes = [f"run by sudo: the lab runs as uid {ids[0]} (who called sudo), not root"] if facts.caller.sudo else []
    return Identity(f"{ids[0]}:{ids[1]}", (defaults.ENV_GROUP,), notes=notes)


def network_name() -> str:
    """The network this checkout's labs share (a side-by-side checkout, DLAB_REPOSITORY, gets its own)."""
    return f"{REPOSITORY}-labs"


def network(facts: HostFacts) -> tuple[str, bool, list[str]]:
    """(the network to run labs on, whether to create it first, notes)."""
    if facts.engine_name == "podman":
        # Rootless Podman gives each container its own network namespace; rootful Podman's default network
        # is a bridge on which labs can reach each other.
        return "", False, [] if facts.rootless else [
            "rootful Podman: labs share its default network and can reach each other (rootless Podman or Docker keep "
            "them apart)"]
    name = network_name()
    if facts.lab_network == "open":
        raise UserError(f"the network {name} lets containers on it reach each other ({NETWORK_OPTION} is not false)",
                        f"remove it while no container uses it (`docker network rm {name}`); dlab makes it again, isolated")
    return name, facts.lab_network == "absent", []


def network_create_args(name: str) -> list[str]:
    """`docker network create` for the labs' network: containers on it cannot reach each other's
    addresses; each still reaches DNS and the internet (a package index) through the host."""
    return ["network", "create", "--driver", "bridge", "--opt", f"{NETWORK_OPTION}=false",
            "--label", f"{defaults.Label.NETWORK}=labs", name]
