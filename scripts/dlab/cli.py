"""The `dlab` command line: one argparse tree built from the command modules."""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import DlabError, UserError

# Each module exposes add_parser(subparsers); a module not written yet is skipped.
COMMAND_MODULES = ("up", "instances", "check", "doctor", "build", "bundle")


class Parser(argparse.ArgumentParser):
    """argparse with our two-line errors (exit 2) instead of its usage dump."""

    def error(self, message):
        raise UserError(message, f"see `{self.prog} --help`")


def build_parser():
    parser = Parser(
        prog="dlab",
        description="Start and check the deep-learning lab (JupyterLab in Docker).",
    )
    subparsers = parser.add_subparsers(metavar="<command>", parser_class=Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        return args.func(args) or 0
    except DlabError as exc:
        sys.stdout.flush()
        for line in exc.lines():
            print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
