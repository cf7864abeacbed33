"""Subcommands of ``pos-client``, one module each.

Each module defines ``register(subparsers)``, which adds its parser(s) and sets
``handler`` to a function ``(args) -> int`` (the exit code). Handlers stay thin:
they parse, call the services built by :mod:`pos_client.compose`, and print.
"""

from __future__ import annotations

import argparse

COMMAND_MODULES: tuple[str, ...] = (
    "pos_client.commands.version",
    "pos_client.commands.demo",
    "pos_client.commands.config_file",
    "pos_client.commands.redeem",
    "pos_client.commands.otp",
    "pos_client.commands.queue",
    "pos_client.commands.problems",
    "pos_client.commands.journal",
    "pos_client.commands.rules",
    "pos_client.commands.prices",
    "pos_client.commands.recover",
    "pos_client.commands.void",
    "pos_client.commands.receipt",
    "pos_client.commands.report",
    "pos_client.commands.sandbox",
    "pos_client.commands.scan",
    "pos_client.commands.scanner",
    "pos_client.commands.scale",
    "pos_client.commands.bench",
    "pos_client.commands.doctor",
    "pos_client.commands.fleet",
    "pos_client.commands.enrol",
    "pos_client.commands.token",
    "pos_client.commands.lane_retire",
    "pos_client.commands.agent",
)


def add_runtime_dir(parser: argparse.ArgumentParser) -> None:
    """``--runtime-dir DIR``: where virtual scanners and scales are published."""
    parser.add_argument(
        "--runtime-dir",
        metavar="DIR",
        help="where virtual devices are published (default: $POS_CLIENT_RUNTIME_DIR,"
        " else $XDG_RUNTIME_DIR/pos-client)",
    )
