"""Secrets on the command line (a token, a national ID, a verification code, a purchase code).

A value given as ``--token KB1...`` can be read by every user of this
computer while the command runs (``ps``, ``/proc/PID/cmdline``). Each such
option therefore has a twin ``--token-file FILE`` that reads the value from a
file, or from standard input with ``-`` (``--token-file -``). The plain
options keep working; their ``--help`` says what they expose.

A secret file must be private: a regular file that its group or other users
may read is refused (``chmod 600 FILE``), the way ``ssh`` refuses an open
private key. One trailing newline (``\\n`` or ``\\r\\n``) is stripped, nothing
else; an empty value is refused. Only one option may read standard input.

Not a command itself (it registers nothing). Imports the standard library and
the project's errors only.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Iterable
from typing import IO, Any, Final

from pos_client.errors import ConfigError

__all__ = ["MAX_SECRET_BYTES", "add_secret_option", "read_secret", "resolve_secrets"]

#: More than this is not a token, an ID or a code.
MAX_SECRET_BYTES: Final = 8192

_VISIBLE = "visible to other users of this computer while the command runs; prefer {flag}-file"


def add_secret_option(
    container: Any, flag: str, *, metavar: str, help: str, required: bool = False
) -> None:
    """Add ``flag`` and ``flag-file`` to a parser or group (``container``).

    With ``required`` the two are put in a required mutually exclusive group
    of their own (on a parser) so that exactly one is given.
    """
    if required:
        container = container.add_mutually_exclusive_group(required=True)
    container.add_argument(flag, metavar=metavar, help=f"{help} ({_VISIBLE.format(flag=flag)})")
    container.add_argument(
        f"{flag}-file",
        metavar="FILE",
        help=f"the same as {flag}, read from FILE (private: mode 600) or from standard "
        "input with -",
    )


def read_secret(path: str, *, what: str, stdin: IO[str] | None = None) -> str:
    """The secret in ``path`` (``-``: standard input), without one trailing newline.

    Raises :class:`ConfigError` (exit 2) for a missing, unreadable, open
    (group- or other-readable), oversized or empty file.
    """
    if path == "-":
        source = stdin if stdin is not None else sys.stdin
        text = source.read(MAX_SECRET_BYTES + 1)
    else:
        text = _read_private_file(path, what=what)
    if len(text) > MAX_SECRET_BYTES:
        raise ConfigError(f"{what}: more than {MAX_SECRET_BYTES} characters given", key=what)
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text.strip():
        raise ConfigError(f"{what}: the value is empty", key=what)
    return text


def _read_private_file(path: str, *, what: str) -> str:
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if os.name != "nt" and stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
                raise ConfigError(
                    f"{what}: {path} can be read by other users; make it private with "
                    f"`chmod 600 {path}`",
                    key=what,
                )
            raw = handle.read(MAX_SECRET_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{what}: no file at {path}", key=what) from None
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path}: {exc.strerror}", key=what) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: {path} is not UTF-8 text", key=what) from None


def resolve_secrets(
    args: argparse.Namespace, names: Iterable[str], *, stdin: IO[str] | None = None
) -> None:
    """For each ``name`` whose ``--NAME-file`` was given, read it into ``args.NAME``.

    ``names`` are the destinations (``token``, ``national_id``, ...). Giving
    both ``--NAME`` and ``--NAME-file`` is refused, and so is reading standard
    input twice.
    """
    from_stdin = [n for n in names if getattr(args, f"{n}_file", None) == "-"]
    if len(from_stdin) > 1:
        flags = " and ".join(_flag(n) + "-file -" for n in from_stdin)
        raise ConfigError(f"only one option can read standard input, not {flags}", key="stdin")
    for name in names:
        path = getattr(args, f"{name}_file", None)
        if path is None:
            continue
        if getattr(args, name, None) is not None:
            raise ConfigError(f"give {_flag(name)} or {_flag(name)}-file, not both", key=name)
        setattr(args, name, read_secret(path, what=_flag(name), stdin=stdin))


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")
