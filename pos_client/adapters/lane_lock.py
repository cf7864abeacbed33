"""One owner per lane's store: the checkout screen (``pos-client run``) or the lane agent.

:func:`hold_lane` takes an exclusive ``flock`` on ``<store>.lock`` beside the
lane's store and keeps it until the returned :class:`LaneLock` is released or
the process ends (the operating system lets go of it on any death, SIGKILL
too, so a crash never leaves a stale lock). The file says who holds it (the
program and its pid), for the sentence the second one reads. The commands of
the JSON command line do not take it: they share the store with its owner as
they always have.

Imports the standard library and the error tree.
"""

from __future__ import annotations

import os
from pathlib import Path

from pos_client.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: the lock is not taken
    fcntl = None  # type: ignore[assignment]

__all__ = ["LaneLock", "hold_lane", "lock_path"]

_HOLDERS = {
    "en": {"screen": "the checkout screen (pos-client run)", "agent": "the lane agent"},
    "fa": {"screen": "صفحه صندوق (pos-client run)", "agent": "سرویس پایانه (pos-client agent)"},
}
_SENTENCE = {
    "en": (
        "this lane's store {store} is already in use by {holder}{pid}: one lane runs either"
        " the checkout screen or the lane agent, not both; stop the other one first"
    ),
    "fa": (
        "فایل ذخیره‌سازی این پایانه ({store}) در دست {holder}{pid} است: روی هر پایانه یا"
        " صفحه صندوق اجرا می‌شود یا سرویس پایانه، نه هر دو؛ اول آن یکی را ببندید"
    ),
}


def lock_path(store_path: str | Path) -> Path:
    """The lock file of a lane's store: ``<store>.lock`` beside it."""
    path = Path(store_path)
    return path.with_name(path.name + ".lock")


class LaneLock:
    """The held lock; :meth:`release` lets it go (the process's end does too)."""

    def __init__(self, fd: int | None, path: Path) -> None:
        self._fd = fd
        self.path = path

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> LaneLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold_lane(store_path: str | Path, *, holder: str, lang: str = "en") -> LaneLock:
    """Take the lane's store for ``holder`` (``screen`` or ``agent``), or refuse at once.

    :class:`StoreError` (code ``lane_in_use``) with one sentence naming the
    holder when another process holds it; never waits.
    """
    path = lock_path(store_path)
    if fcntl is None:  # pragma: no cover
        return LaneLock(None, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            said = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        except OSError:
            said = []
        os.close(fd)
        words = "fa" if lang == "fa" else "en"
        who = _HOLDERS[words].get(said[0] if said else "", _HOLDERS[words]["screen"])
        if not said:
            who = "another pos-client" if words == "en" else "برنامه دیگری"
        pid = f" (pid {said[1]})" if len(said) > 1 and said[1].isdigit() else ""
        raise StoreError(
            _SENTENCE[words].format(store=store_path, holder=who, pid=pid), code="lane_in_use"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder} {os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the lock holds; only the sentence of a second one is poorer
    return LaneLock(fd, path)
