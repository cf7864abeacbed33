"""``pos-client fleet ...``: a chain's back office, speaking the fleet contract.

Each ``fleet`` subcommand lives in its own module (listed in
:data:`FLEET_MODULES`), which defines ``register(subparsers)`` as the top-level
commands do. This module holds what they share: the ``--ledger`` and
``--admin-token-file`` options and reading the merchant admin token, from
``POS_CLIENT_ADMIN_TOKEN`` or a private file, never from the command line and
never printed.
"""

from __future__ import annotations

import argparse
import importlib
import os

from pos_client.commands.secrets import read_secret
from pos_client.errors import ConfigError

#: The modules that add ``fleet`` subcommands.
FLEET_MODULES: tuple[str, ...] = (
    "pos_client.commands.fleet_enrol",
    "pos_client.commands.fleet_revoke",
    "pos_client.commands.fleet_config",
    "pos_client.commands.fleet_status",
    "pos_client.commands.fleet_serve",
)

ADMIN_TOKEN_ENV = "POS_CLIENT_ADMIN_TOKEN"  # noqa: S105 (the name of a variable)
LEDGER_URL_ENV = "POS_CLIENT_LEDGER_URL"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fleet",
        help="a chain's back office: enrolment codes, approvals, config layers, revocation,"
        " the lanes' live state",
        description="Commands for a chain's back office. Those that speak to the ledger take a"
        f" merchant admin token from ${ADMIN_TOKEN_ENV} or --admin-token-file, and never print"
        " it; status and serve read the lanes' state from the chain's MQTT broker as a reader"
        " account.",
    )
    sub = parser.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    for name in FLEET_MODULES:
        importlib.import_module(name).register(sub)


def add_admin_options(parser: argparse.ArgumentParser) -> None:
    """``--ledger URL`` and ``--admin-token-file FILE`` (the token: file, else environment)."""
    parser.add_argument(
        "--ledger",
        metavar="URL",
        default=os.environ.get(LEDGER_URL_ENV),
        help=f"the ledger's base URL (default: ${LEDGER_URL_ENV})",
    )
    parser.add_argument(
        "--admin-token-file",
        metavar="FILE",
        help=f"read the merchant admin token from FILE (mode 600) or standard input with -"
        f" (default: ${ADMIN_TOKEN_ENV})",
    )


def admin_token(args: argparse.Namespace) -> str:
    """The merchant admin token from ``--admin-token-file`` or ``POS_CLIENT_ADMIN_TOKEN``."""
    path = getattr(args, "admin_token_file", None)
    if path:
        return read_secret(path, what="merchant admin token")
    token = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            f"a merchant admin token is needed: set {ADMIN_TOKEN_ENV} or pass --admin-token-file",
            key="admin_token",
        )
    return token


def ledger_url(args: argparse.Namespace) -> str:
    """The ``--ledger`` URL (or ``POS_CLIENT_LEDGER_URL``), refused when missing."""
    url = getattr(args, "ledger", None)
    if not url:
        raise ConfigError(
            f"say which ledger: pass --ledger URL or set {LEDGER_URL_ENV}", key="ledger"
        )
    return str(url)
