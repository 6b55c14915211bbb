"""GPUs for the labs, as a pure function over host facts (the text of `nvidia-smi -L`).

A unit is what one exclusive lab gets: a whole GPU, or one MIG slice of a GPU that is split
into slices (the slices are then the units, never the GPU they live on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GPU_LINE = re.compile(r"^GPU (\d+): (.+?) \(UUID: (GPU-[^)\s]+)\)")
MIG_LINE = re.compile(r"^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: (MIG-[^)\s]+)\)")


@dataclass(frozen=True)
class Unit:
    id: str       # what docker's device_ids takes: a GPU or MIG UUID
    label: str    # what a student reads: "GPU 0 (Tesla T4)", "GPU 0 slice 1g.5gb #2"


class NoGpuFree(Exception):
    """Every unit is held by another lab."""


def parse_listing(text: str) -> tuple[Unit, ...]:
    """The units of a host from `nvidia-smi -L`; lines it does not know are skipped."""
    gpus = []  # [(Unit for the whole GPU, [MIG units])]
    for line in (text or "").splitlines():
        gpu = GPU_LINE.match(line)
        mig = MIG_LINE.match(line)
        if gpu:
            gpus.append((Unit(gpu[3], f"GPU {gpu[1]} ({gpu[2]})"), []))
        elif mig and gpus:
            index = gpus[-1][0].label.split()[1]
            gpus[-1][1].append(Unit(mig[3], f"GPU {index} slice {mig[1]} #{mig[2]}"))
    return tuple(unit for whole, slices in gpus for unit in (slices or [whole]))


def free_units(units, held) -> tuple[Unit, ...]:
    held = set(held)
    return tuple(u for u in units if u.id not in held)


def allocate(units, held, policy: str) -> tuple[str, ...]:
    """Device ids for one more GPU lab, given the ids other labs hold.

    exclusive: the first free unit; shared: every unit (the labs share them); none: no GPU.
    """
    if policy == "none" or not units:
        raise NoGpuFree("this hub has no GPU to give")
    if policy == "shared":
        return tuple(u.id for u in units)
    free = free_units(units, held)
    if not free:
        raise NoGpuFree(f"all {len(units)} GPUs of this server are in use")
    return (free[0].id,)


def offers_gpu(units, policy: str) -> bool:
    """Whether the spawn form shows a GPU choice at all."""
    return policy != "none" and bool(units)
