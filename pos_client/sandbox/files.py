"""Writing the sandbox's files: private (mode 0600), whole (temp file, fsync, rename).

Imports only the standard library.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


def open_private_temp(path: Path) -> tuple[Path, int]:
    """A new temp file beside ``path`` (mode 0600) and its descriptor, for streaming writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return tmp, fd


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing; a directory the sandbox makes is 0700."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
