"""What the lane's commands share: ``--config``, building the app, running it, printing JSON.

Not a command itself (it registers nothing). Imports the standard library and
the project's config, composition root and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

from pos_client.compose import Lane, open_app
from pos_client.config import CONFIG_ENV, Config, load_config

__all__ = [
    "NEW_STORE_HELP",
    "add_config_option",
    "business_date_arg",
    "emit_json",
    "load",
    "run_with_app",
]

#: ``--new-store``: what it does, as ``--help`` says it.
NEW_STORE_HELP = (
    "take the store now at the configured path (made empty if there is none) as this lane's"
    " store from now on; without it, a missing, empty or other store is refused"
)

T = TypeVar("T")


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"the lane's config file (default: ${CONFIG_ENV}, then the usual place)",
    )
    parser.add_argument("--new-store", action="store_true", help=NEW_STORE_HELP)


def business_date_arg(text: str) -> date:
    """A business date on the command line (``YYYY-MM-DD``, the Gregorian date the lane keeps)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def load(args: argparse.Namespace) -> Config:
    return load_config(getattr(args, "config", None))


def run_with_app(
    args: argparse.Namespace, work: Callable[[Lane], Awaitable[T]], **options: Any
) -> T:
    """Build the lane from ``--config`` and run ``work(lane)`` to completion, then close it."""
    config = load(args)

    options.setdefault("new_store", bool(getattr(args, "new_store", False)))

    async def main() -> T:
        async with open_app(config, **options) as lane:
            return await work(lane)

    return asyncio.run(main())


def emit_json(value: Any) -> None:
    """One JSON value and a newline, in one write (``json.dump`` makes one per token)."""
    text = json.dumps(value, ensure_ascii=False, indent=None, separators=(",", ":"))
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
