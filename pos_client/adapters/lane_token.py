"""The terminal token in the lane's config file: written atomically, read again when it changes.

A rotation (:mod:`pos_client.services.token_rotation`) gets a new token from
the ledger; :func:`write_token` puts it into the ``[ledger] token`` line of
the config file, keeping every other byte (comments too), through a private
temporary file in the same folder (mode 0600, fsynced) renamed over the old
one, the folder fsynced after: a crash leaves the old file or the new one,
never half of one. The new text is read back with :mod:`tomllib` before the
rename, so a file that would not parse is never written.

:class:`TokenFile` is how a running lane learns of a token written by another
process (``pos-client token rotate`` beside a running checkout): before each
request the ledger client asks it, and it reads the file again only when its
size or modification time changed; a file that cannot be read or parsed
keeps the token it had (the old token works 10 minutes more anyway).

The token is never logged or put into an error message. Imports the standard
library and the project's errors only.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

from pos_client.errors import ConfigError

__all__ = ["TokenFile", "rotation_lock", "token_digest", "write_token"]

_TABLE = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*(#.*)?$")
_TOKEN_LINE = re.compile(r"^(\s*token\s*=\s*)(\"[^\"\n]*\"|'[^'\n]*')(\s*(#.*)?)$")


def token_digest(token: str) -> str:
    """The SHA-256 of a token (what the lane keeps to recognise it, never the token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _read_token(text: str) -> str | None:
    try:
        ledger = tomllib.loads(text).get("ledger")
    except tomllib.TOMLDecodeError:
        return None
    token = ledger.get("token") if isinstance(ledger, dict) else None
    return token if isinstance(token, str) else None


def _with_token(text: str, token: str) -> str:
    lines = text.splitlines(keepends=True)
    table = ""
    for index, line in enumerate(lines):
        head = _TABLE.match(line)
        if head is not None:
            table = head.group(1)
            continue
        if table != "ledger":
            continue
        match = _TOKEN_LINE.match(line.rstrip("\r\n"))
        if match is not None:
            ending = line[len(line.rstrip("\r\n")) :]
            lines[index] = f'{match.group(1)}"{token}"{match.group(3)}{ending}'
            return "".join(lines)
    raise ConfigError(
        'ledger.token: the config file has no `token = "..."` line in [ledger] to replace',
        key="ledger.token",
    )


def write_token(config_path: Path, token: str) -> None:
    """Replace the ``[ledger] token`` of ``config_path`` atomically (0600, fsynced)."""
    if not token or not token.isascii() or any(c.isspace() or c in "\"'\\" for c in token):
        raise ConfigError(
            "ledger.token: the ledger sent a token that cannot be kept", key="ledger.token"
        )
    path = Path(config_path)
    text = path.read_text(encoding="utf-8")
    new_text = _with_token(text, token)
    if _read_token(new_text) != token:
        raise ConfigError(
            "ledger.token: the config file could not be rewritten with the new token",
            key="ledger.token",
        )
    folder = path.resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(new_text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextmanager
def rotation_lock(config_path: Path) -> Iterator[bool]:
    """Hold ``<config>.rotating`` (an exclusive ``flock``) while one process rotates the token.

    Yields ``False`` at once when another process holds it: two rotations at the
    same time would each get a token and only one could be kept, and the other
    lane's token would stop working after its grace. Never waits (the screen's
    loop must not). Where ``flock`` does not exist the lock is not taken.
    """
    if fcntl is None:
        yield True
        return
    path = Path(config_path)
    lock = path.with_name(f".{path.name}.rotating")
    handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


class TokenFile:
    """The token of a config file, read again when the file changes (thread-safe)."""

    def __init__(self, path: Path, token: str) -> None:
        self.path = Path(path)
        self._token = token
        self._lock = threading.Lock()
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def set(self, token: str) -> None:
        """The token this process just wrote (no need to read the file for it)."""
        with self._lock:
            self._token = token
            self._seen = self._stamp()

    def current(self) -> str:
        stamp = self._stamp()
        with self._lock:
            if stamp is None or stamp == self._seen:
                return self._token
            try:
                token = _read_token(self.path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                token = None
            if token:
                self._token = token.strip()
            self._seen = stamp
            return self._token
