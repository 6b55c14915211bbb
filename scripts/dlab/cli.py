"""The `dlab` command line: one argparse tree built from the command modules listed here."""

from __future__ import annotations

import argparse
import sys

from . import build, bundle, check, doctor, hub, instances, load, registry, up
from .errors import DlabError, UserError

# Every command module, in the order `dlab --help` lists them; each has add_parser(subparsers).
# Their top level imports only what `dlab --help` needs (tests/launcher/test_cli.py holds them to it).
COMMANDS = (up, instances, check, doctor, build, bundle, load, registry, hub)


class Parser(argparse.ArgumentParser):
    """argparse with our two-line errors (exit 2) instead of its usage dump."""

    def error(self, message):
        raise UserError(message, f"see `{self.prog} --help`")


def build_parser() -> Parser:
    parser = Parser(prog="dlab", description="Start and check the deep-learning lab (JupyterLab in Docker).")
    subparsers = parser.add_subparsers(metavar="<command>", parser_class=Parser)
    subparsers.required = True
    for module in COMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
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
