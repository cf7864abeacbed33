"""A lane knows it had a store: a missing, empty or other store never silently becomes a new one.

A store that was deleted, cut to 0 bytes, or is not there because its disk is
not mounted would open as a new, empty store: unsent sales, used token ids
and offline totals gone, and a token already used offline could be approved
again. So the lane keeps an identity file beside its config (mode 0600,
written whole or not at all): the store's id (``meta`` ``store_id``, made
with the store), where it was, and the last journal row seen. It is brought
up to date when the lane is idle and when it closes, never inside a sale.

:func:`open_lane_store` opens the store at a lane's path only if it is the one
the identity file names (same id, not older than the last row seen), and
refuses otherwise with one sentence in the lane's language
(:class:`StoreRefused`), unless told ``new_store`` (``--new-store``: this
store, made now if need be, is the lane's from now on). With no identity file
yet: no store is a new lane (made, and its identity written); an existing
store is adopted silently (a lane upgraded from a version without identity
files); an empty file is refused (nothing says what it held).

Imports the standard library, the project's errors and the sibling modules.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pos_client.adapters.sqlite.store import SqliteStore
from pos_client.domain.money import Lang
from pos_client.errors import StoreError, StoreRefused

log = logging.getLogger(__name__)

__all__ = [
    "StoreIdentity",
    "StoreRefused",
    "check_lane_store",
    "identity_path",
    "open_lane_store",
    "read_identity",
    "write_identity",
]

#: What the lane says, per language; ``{path}``, ``{file}`` and numbers filled in.
_SENTENCES: dict[str, dict[str, str]] = {
    "missing": {
        "en": "the lane's store at {path} is missing, yet this lane had one (unsent sales and"
        " used tokens were in it): restore it from a backup, or start with --new-store to"
        " begin a new, empty store",
        "fa": "فایل ذخیره‌سازی این پایانه در {path} پیدا نشد، ولی این پایانه پیش‌تر آن را"
        " داشته است (خریدهای ارسال‌نشده و کدهای QR مصرف‌شده در آن بود): آن را از نسخه"
        " پشتیبان برگردانید، یا با ‎--new-store‎ یک فایل تازه و خالی شروع کنید",
    },
    "no_folder": {
        "en": "the folder of the lane's store, {folder}, is missing (is the data disk"
        " mounted?): nothing was started; mount it, or start with --new-store to begin a"
        " new, empty store",
        "fa": "پوشه فایل ذخیره‌سازی این پایانه، {folder}، پیدا نشد (آیا دیسک داده وصل"
        " است؟): چیزی اجرا نشد؛ دیسک را وصل کنید، یا با ‎--new-store‎ یک فایل تازه و خالی"
        " شروع کنید",
    },
    "empty": {
        "en": "the lane's store at {path} is empty (0 bytes): what it held is gone; restore it"
        " from a backup, or start with --new-store to begin a new, empty store",
        "fa": "فایل ذخیره‌سازی این پایانه در {path} خالی است (۰ بایت) و آنچه در آن بود از"
        " دست رفته است: آن را از نسخه پشتیبان برگردانید، یا با ‎--new-store‎ یک فایل تازه و"
        " خالی شروع کنید",
    },
    "other": {
        "en": "the store at {path} is not this lane's store (another or older store was put"
        " there): nothing was started; put the lane's own store back, or start with"
        " --new-store to make this one the lane's store",
        "fa": "فایل ذخیره‌سازی در {path} مال این پایانه نیست (فایل دیگر یا قدیمی‌تری جای آن"
        " گذاشته شده است): چیزی اجرا نشد؛ فایل خود پایانه را برگردانید، یا با ‎--new-store‎"
        " همین فایل را فایل این پایانه کنید",
    },
    "older": {
        "en": "the store at {path} is older than the one this lane last used (it ends at sale"
        " {found}, the lane had {expected}): sales are missing from it; put the latest store"
        " back, or start with --new-store to go on with this one",
        "fa": "فایل ذخیره‌سازی در {path} قدیمی‌تر از فایلی است که این پایانه آخرین بار به کار"
        " برد (تا ردیف {found}، ولی پایانه تا ردیف {expected} داشت) و خریدهایی از آن کم است:"
        " آخرین فایل را برگردانید، یا با ‎--new-store‎ با همین فایل ادامه دهید",
    },
    "identity_damaged": {
        "en": "the lane's identity file {file} cannot be read: nothing was started; start with"
        " --new-store to make the store at {path} the lane's store",
        "fa": "فایل شناسه این پایانه ({file}) خوانده نمی‌شود: چیزی اجرا نشد؛ با ‎--new-store‎"
        " فایل ذخیره‌سازی {path} را فایل این پایانه کنید",
    },
}


@dataclass(frozen=True, slots=True)
class StoreIdentity:
    """What the identity file keeps."""

    store_id: str
    store_path: str
    last_seq: int
    updated_at: str


def identity_path(store_path: Path, config_path: Path | None) -> Path:
    """Where a lane's identity file is: beside its config (else beside its store).

    Named after the config and the store's file name (``lane.toml.lane.store-id``):
    a config whose store's folder went away (a disk not mounted) still finds it,
    and stores of other names opened with the same config keep identities of their own.
    """
    if config_path is not None:
        name = f"{config_path.name}.{store_path.stem}.store-id"
        return config_path.absolute().with_name(name)
    return store_path.absolute().with_name(store_path.name + ".store-id")


def read_identity(path: Path) -> StoreIdentity | None:
    """The identity file at ``path`` (``None``: there is none). ``ValueError``: unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(str(exc)) from None
    try:
        data: Any = json.loads(text)
        return StoreIdentity(
            store_id=str(data["store_id"]),
            store_path=str(data["store_path"]),
            last_seq=int(data["last_seq"]),
            updated_at=str(data["updated_at"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not an identity file ({exc})") from None


def write_identity(path: Path, store_id: str, store_path: Path, last_seq: int) -> StoreIdentity:
    """Write the identity file whole or not at all (a new 0600 file renamed over the old one)."""
    identity = StoreIdentity(
        store_id=store_id,
        store_path=str(store_path),
        last_seq=last_seq,
        updated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    text = json.dumps(
        {
            "store_id": identity.store_id,
            "store_path": identity.store_path,
            "last_seq": identity.last_seq,
            "updated_at": identity.updated_at,
        },
        indent=1,
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text.encode("utf-8") + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        try:
            temporary.unlink()
        except OSError:
            pass
        raise StoreError(f"cannot write the lane's identity file {path}: {exc.strerror}") from None
    return identity


def _state(path: Path) -> Literal["no_folder", "missing", "empty", "present"]:
    if not path.parent.is_dir():
        return "no_folder"
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size == 0:
        wal = Path(f"{path}-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            return "empty"
    return "present"


class _Tracker:
    """Brings the identity file up to date when the store is idle or closes (if it moved)."""

    def __init__(self, path: Path, identity: StoreIdentity) -> None:
        self.path = path
        self.identity = identity

    def __call__(self, store: SqliteStore) -> None:
        last = store.last_seq()
        if last != self.identity.last_seq:
            self.identity = write_identity(self.path, self.identity.store_id, store.path, last)


def _refusal(path: Path, file: Path, lang: str) -> Callable[..., StoreRefused]:
    language: Lang = "en" if lang == "en" else "fa"

    def refuse(reason: str, **values: object) -> StoreRefused:
        sentence = _SENTENCES[reason][language].format(
            path=path, folder=path.parent, file=file, **values
        )
        return StoreRefused(sentence, reason=reason)

    return refuse


def check_lane_store(
    store_path: str | os.PathLike[str], *, config_path: Path | None, lang: str = "fa"
) -> StoreIdentity | None:
    """What can be told before opening: the identity file, and the store's file is there.

    Returns the identity (``None``: none yet). :class:`StoreRefused` when the
    identity file cannot be read, or names a store and the path holds no
    store, an empty file, or no folder at all. Touches nothing.
    """
    path = Path(store_path)
    file = identity_path(path, config_path)
    refuse = _refusal(path, file, lang)
    try:
        identity = read_identity(file)
    except ValueError:
        log.warning("the identity file %s cannot be read", file)
        raise refuse("identity_damaged") from None
    state = _state(path)
    if state == "empty" or (identity is not None and state != "present"):
        raise refuse(state)
    return identity


def open_lane_store(
    store_path: str | os.PathLike[str],
    *,
    config_path: Path | None,
    read_only: bool = False,
    new_store: bool = False,
    max_size_bytes: int | None = None,
    lang: str = "fa",
) -> SqliteStore:
    """Open the lane's store at ``store_path`` if it is the lane's (see the module docstring).

    :class:`StoreRefused` (one sentence in ``lang``) when it is not; the
    identity file is left as it is then. A read-only open checks the same,
    and writes nothing (not even a first identity file).
    """
    path = Path(store_path)
    file = identity_path(path, config_path)
    refuse = _refusal(path, file, lang)
    if new_store and not read_only:
        store = SqliteStore.open(path, max_size_bytes=max_size_bytes)
        return _track(store, file, adopt=True)
    identity = check_lane_store(path, config_path=config_path, lang=lang)
    store = SqliteStore.open(path, read_only=read_only, max_size_bytes=max_size_bytes)
    if identity is None:
        return store if read_only else _track(store, file, adopt=True)
    try:
        if store.store_id != identity.store_id:
            raise refuse("other")
        found = store.last_seq()
        if found < identity.last_seq:
            raise refuse("older", found=found, expected=identity.last_seq)
    except BaseException:
        store.close()
        raise
    return store if read_only else _track(store, file, adopt=False, identity=identity)


def _track(
    store: SqliteStore, file: Path, *, adopt: bool, identity: StoreIdentity | None = None
) -> SqliteStore:
    try:
        if adopt or identity is None:
            store_id = store.store_id
            if store_id is None:  # cannot be: every store written by this version has one
                raise StoreError(f"the store at {store.path} has no id")
            identity = write_identity(file, store_id, store.path, store.last_seq())
        store.on_idle = _Tracker(file, identity)
    except BaseException:
        store.close()
        raise
    return store
