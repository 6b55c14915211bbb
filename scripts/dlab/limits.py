"""A lab's limits: memory, CPUs, processes, shared memory. Pure: sizes in, `docker run` values out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import defaults
from .errors import UserError

SIZE = re.compile(r"(\d+(?:\.\d+)?)([bkmg]?)", re.IGNORECASE)
UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
UNLIMITED = ("0", "none")


@dataclass(frozen=True)
class Limits:
    """0 means no limit."""

    memory: int = 0       # bytes
    cpus: float = 0.0
    pids: int = 0
    shm: int = 0          # bytes

    def run_options(self, swap_limit: bool) -> dict[str, str]:
        """`docker run --<key>=<value>` for each limit set; no swap beyond memory where the engine can say so."""
        out: dict[str, str] = {}
        if self.memory:
            out["memory"] = str(self.memory)
            if swap_limit:
                out["memory-swap"] = str(self.memory)
        if self.cpus:
            out["cpus"] = f"{self.cpus:g}"
        if self.pids:
            out["pids-limit"] = str(self.pids)
        if self.shm:
            out["shm-size"] = str(self.shm)
        return out

    def text(self) -> str:
        parts = [f"memory {size_text(self.memory)}" if self.memory else "memory unlimited",
                 f"{self.cpus:g} CPU{'' if self.cpus == 1 else 's'}" if self.cpus else "all CPUs",
                 f"{self.pids} processes" if self.pids else "processes unlimited",
                 f"shm {size_text(self.shm)}" if self.shm else "shm 64M"]
        return ", ".join(parts)


def parse_size(value: str, flag: str) -> int:
    """Bytes from 6g, 512m, 1.5G, 1073741824; 0 for none/0."""
    value = (value or "").strip()
    if value.lower() in UNLIMITED:
        return 0
    found = SIZE.fullmatch(value) if value.isascii() else None
    if not found:
        raise UserError(f"bad {flag} value {value!r}", "use a size such as 4g or 512m (or none for no limit)")
    return int(float(found[1]) * UNITS[found[2].lower()])


def size_text(n: int) -> str:
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= factor:
            return f"{n / factor:.1f}".rstrip("0").rstrip(".") + unit
    return f"{n}B"


def choose(memory: str, cpus: str, pids: str, shm: str, engine_memory: int, engine_cpus: int) -> Limits:
    """The asked limits ("" = the default for this engine), checked against what the engine has."""
    if memory:
        mem = parse_size(memory, "--memory")
        if mem and mem < 1 << 30:
            raise UserError(f"--memory {memory} is too little for JupyterLab and TensorFlow", "give it 1g or more")
        if mem and engine_memory and mem > engine_memory:
            raise UserError(f"--memory {memory} is more than the engine has ({size_text(engine_memory)})",
                            f"use {size_text(engine_memory)} or less")
    else:
        mem = int(engine_memory * defaults.MEMORY_SHARE) // (1 << 20) * (1 << 20)
    if cpus:
        text = cpus.strip().lower()
        if text in UNLIMITED:
            cpu = 0.0
        else:
            try:
                cpu = float(text) if text.isascii() else -1.0
            except ValueError:
                cpu = -1.0
            if not 0.01 <= cpu:
                raise UserError(f"bad --cpus value {cpus!r}", "use a number of CPUs such as 2 or 0.5 (or none)")
            if engine_cpus and cpu > engine_cpus:
                raise UserError(f"--cpus {cpus} is more than the engine has ({engine_cpus})",
                                f"use {engine_cpus} or less")
    else:
        cpu = float(engine_cpus - defaults.HOST_CPUS) if engine_cpus > 2 else 0.0
    if pids:
        text = pids.strip().lower()
        if text in UNLIMITED:
            pid = 0
        elif text.isascii() and text.isdigit() and int(text) >= 64:
            pid = int(text)
        else:
            raise UserError(f"bad --pids-limit value {pids!r}", "use a whole number of 64 or more, such as 4096 (or none)")
    else:
        pid = defaults.PIDS_LIMIT
    return Limits(memory=mem, cpus=cpu, pids=pid, shm=parse_size(shm or defaults.SHM_SIZE, "--shm-size"))


def from_host_config(config: dict) -> Limits:
    """The limits a container runs with, from `docker inspect`'s HostConfig."""
    return Limits(memory=config.get("Memory") or 0, cpus=(config.get("NanoCpus") or 0) / 1e9,
                  pids=max(config.get("PidsLimit") or 0, 0), shm=config.get("ShmSize") or 0)
