"""``pos-client version``: print the program's version."""

from __future__ import annotations

import argparse

from pos_client import __version__


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("version", help="print the version")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    print(__version__)
    return 0
