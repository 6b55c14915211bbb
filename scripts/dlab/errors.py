"""The two kinds of failure the launcher reports: the user's (exit 2) and ours (exit 1)."""

from __future__ import annotations


class DlabError(Exception):
    """A failure with one line saying what failed and one saying what to do."""

    exit_code = 1

    def __init__(self, what: str, fix: str):
        super().__init__(what)
        self.what = what
        self.fix = fix

    def lines(self) -> list[str]:
        return [f"error: {self.what}", f"fix: {self.fix}"]


class UserError(DlabError):
    """Bad input: a flag, a folder, a port, a name."""

    exit_code = 2
