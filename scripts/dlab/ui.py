"""What dlab prints: notes, tables, ticks and crosses, the progress of long copies."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

# A status's mark where the terminal can show it, and a plain stand-in where it cannot.
MARKS = {"ok": ("✓", "ok"), "fail": ("✗", "FAIL"), "warn": ("!", "warn"), "skip": ("–", "-"), "info": ("i", "i")}


def say(*lines: str) -> None:
    for line in lines:
        print(f"dlab: {line}", flush=True)


def table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first row is the header."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def mark(status: str, stream: TextIO | None = None) -> str:
    fancy, plain = MARKS[status]
    try:
        fancy.encode((stream or sys.stdout).encoding or "ascii")
        return fancy
    except (UnicodeEncodeError, LookupError):
        return plain


def clip(text: str, width: int = 110) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def megabytes(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def duration(seconds: float) -> str:
    """42 s, 3 min 05 s, 1 h 02 min."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """One status line for a long copy: share done, bytes, rate, time so far.

    Rewritten in place on a terminal; elsewhere (a log, a pipe) one line per tenth of the total.
    """

    def __init__(self, label: str, total: int = 0, stream: TextIO | None = None):
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.started = self.shown_at = time.monotonic()
        self.shown_tenth = -1

    def rate(self) -> str:
        seconds = max(time.monotonic() - self.started, 1e-3)
        return f"{self.done / seconds / 1e6:,.0f} MB/s, {seconds:.0f} s"

    def text(self) -> str:
        share = f"{min(99, int(100 * self.done / self.total))}% " if self.total else ""
        return f"{self.label}: {share}({megabytes(self.done)}, {self.rate()})"

    def add(self, n: int) -> None:
        self.done += n
        if self.tty:
            if time.monotonic() - self.shown_at > 0.2:
                self.shown_at = time.monotonic()
                self.stream.write("\r" + self.text() + " " * 8)
                self.stream.flush()
        elif self.total:
            tenth = min(9, 10 * self.done // self.total)
            if tenth > self.shown_tenth:
                self.shown_tenth = tenth
                print(self.text(), file=self.stream, flush=True)

    def abort(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def finish(self, note: str = "") -> None:
        line = f"{self.label}: done, {megabytes(self.done)}{note} ({self.rate()})"
        self.stream.write(("\r" + line + " " * 16 + "\n") if self.tty else line + "\n")
        self.stream.flush()
