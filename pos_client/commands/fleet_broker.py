"""What ``fleet status`` and ``fleet serve`` share: the broker's options and its password.

``--broker mqtt://USER@HOST:PORT`` (or ``mqtts://``; default
``$POS_CLIENT_BROKER_URL``) names the broker and the reader account; the
password is never on the command line: it comes from ``--password-file FILE``
(private, mode 600, or ``-`` for standard input) or else from
``$POS_CLIENT_BROKER_PASSWORD``. ``--ca-file`` trusts a private CA for mqtts
(verification is never turned off).

Not a command itself (it registers nothing).
"""

from __future__ import annotations

import argparse
import os

from pos_client.commands.secrets import read_secret
from pos_client.errors import ConfigError

__all__ = ["BROKER_PASSWORD_ENV", "BROKER_URL_ENV", "add_broker_options", "broker_password"]

BROKER_URL_ENV = "POS_CLIENT_BROKER_URL"
BROKER_PASSWORD_ENV = "POS_CLIENT_BROKER_PASSWORD"  # noqa: S105 (the name of a variable)


def add_broker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        metavar="URL",
        default=os.environ.get(BROKER_URL_ENV),
        help=f"the chain's MQTT broker as mqtt://USER@HOST:PORT or mqtts://USER@HOST:PORT, USER"
        f" being a reader account (default: ${BROKER_URL_ENV}); never put the password in it",
    )
    parser.add_argument(
        "--password-file",
        metavar="FILE",
        help=f"read the reader's password from FILE (mode 600) or standard input with -"
        f" (default: ${BROKER_PASSWORD_ENV})",
    )
    parser.add_argument(
        "--ca-file", metavar="FILE", help="trust this CA certificate for mqtts (PEM)"
    )


def broker_url(args: argparse.Namespace) -> str:
    url = getattr(args, "broker", None)
    if not url:
        raise ConfigError(
            f"say which broker: pass --broker mqtt://USER@HOST:PORT or set {BROKER_URL_ENV}",
            key="broker",
        )
    return str(url)


def broker_password(args: argparse.Namespace) -> str:
    """The reader's password from ``--password-file`` or ``POS_CLIENT_BROKER_PASSWORD``."""
    path = getattr(args, "password_file", None)
    if path:
        return read_secret(path, what="broker password")
    password = os.environ.get(BROKER_PASSWORD_ENV, "")
    if not password:
        raise ConfigError(
            f"the broker's password is needed: set {BROKER_PASSWORD_ENV} or pass --password-file",
            key="broker_password",
        )
    return password
