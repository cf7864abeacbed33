"""One SQLite file as the store uses it: a connection, a lock, translated errors, migrations.

Every file: WAL, ``synchronous=FULL`` (a commit is on disk when it returns),
created with mode 0600 before SQLite opens it, schema versioned by ``PRAGMA
user_version`` (each version's step runs once, in one transaction; a read-only
open reads an older schema as it is, back to a given version). Every
``sqlite3`` error is translated into :class:`StoreError` with a sentence a
shopkeeper can act on (disk full, read-only, damaged, busy). SQLite rolls a
failed transaction back whole, so nothing already written is ever lost.

Imports the standard library and the project's errors.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pos_client.errors import StoreError

log = logging.getLogger(__name__)

__all__ = ["Db", "Step", "create_private_file", "parse_time", "translate", "utc"]

#: A schema step: an SQL script, or a function given the connection inside the step's transaction.
Step = str | Callable[[sqlite3.Connection], None]


def utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("times are stored timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 (its folder 0700) if missing; tighten it if it is looser."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return
        os.close(fd)
    except OSError as exc:
        raise StoreError(f"cannot create the store at {path}: {exc.strerror}") from None


def translate(exc: sqlite3.Error, where: Path) -> StoreError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return StoreError(
            "the disk is full: nothing new was saved and nothing saved was lost; "
            "free some space and try again"
        )
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return StoreError(
            f"the store at {where} is read-only: nothing new can be saved, so no sale "
            "can be made; nothing saved was lost"
        )
    if name.startswith("SQLITE_BUSY") or "locked" in text:
        return StoreError("the store is busy (another program is using it); try again")
    if (
        name.startswith("SQLITE_CORRUPT")
        or name.startswith("SQLITE_NOTADB")
        or ("not a database" in text or "malformed" in text)
    ):
        return StoreError(f"the store at {where} is damaged; restore it from a backup")
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return StoreError(f"cannot open the store at {where}")
    if name.startswith("SQLITE_IOERR") or "disk i/o" in text:
        return StoreError(f"the disk under the store at {where} failed to read or write")
    return StoreError(f"the store at {where} failed ({exc})")


def _execute(
    conn: sqlite3.Connection,
    sql: str,
    args: Sequence[Any],
    refusals: Mapping[str, Callable[[], Exception]] | None,
) -> None:
    """Run one statement; a broken constraint named in ``refusals`` raises its error instead."""
    try:
        conn.execute(sql, args)
    except sqlite3.IntegrityError as exc:
        refusal = (refusals or {}).get(str(exc))
        if refusal is None:
            raise
        raise refusal() from None


class Db:
    """One SQLite file: a connection, a lock and translated transactions."""

    def __init__(
        self,
        path: Path,
        *,
        schema: str,
        version: int,
        read_only: bool,
        max_size_bytes: int | None,
        upgrades: Mapping[int, Step] | None = None,
        wal_autocheckpoint: int | None = None,
        readable_from: int = 1,
        secure_delete: bool = False,
        functions: Callable[[sqlite3.Connection], None] | None = None,
        auto_vacuum: str | None = None,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self.secure_delete = secure_delete
        self.functions = functions
        #: Why nothing may be written any more (the file went away under the lane), if so.
        self.lost: str | None = None
        #: The schema version this open brought up to date (``None``: it was up to date or new).
        self.upgraded_from: int | None = None
        self.lock = threading.RLock()
        self.batching = 0  # > 0 inside SqliteStore.batch: writes join its transaction
        self.commits = 0  # write transactions since the last checkpoint
        if not read_only:
            create_private_file(path)
        elif not path.exists():
            raise StoreError(f"there is no store at {path}")
        try:
            self.conn = self.connect()
            if not read_only and auto_vacuum is not None:
                # Takes effect only in a file with no tables yet, and only before WAL is set.
                self.conn.execute(f"PRAGMA auto_vacuum={auto_vacuum}")
            if not read_only:
                mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"the store at {path} cannot use write-ahead logging")
                if wal_autocheckpoint is not None:
                    self.conn.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
            if max_size_bytes is not None:
                page = int(self.conn.execute("PRAGMA page_size").fetchone()[0])
                self.conn.execute(f"PRAGMA max_page_count={max(1, max_size_bytes // page)}")
            current = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
            if current > version:
                raise StoreError(
                    f"the store at {path} was written by a newer pos-client (schema {current})"
                )
            if current < version:
                if read_only:
                    if current == 0:
                        raise StoreError(f"the store at {path} is not set up")
                    if current < readable_from:
                        raise StoreError(
                            f"the store at {path} was written by an older pos-client"
                            f" (schema {current}); start pos-client on this lane once"
                            " to bring it up to date"
                        )
                    # A schema this version still reads is read as it is (upgraded on write).
                else:
                    self._migrate(current, schema, version, upgrades or {})
                    if current > 0:
                        self.upgraded_from = current
        except sqlite3.Error as exc:
            raise translate(exc, path) from None
        for suffix in ("-wal", "-shm"):
            extra = Path(f"{path}{suffix}")
            try:
                if extra.exists() and extra.stat().st_mode & 0o077:
                    os.chmod(extra, 0o600)
            except OSError:
                pass

    def connect(self) -> sqlite3.Connection:
        """A new connection to this file, set up as every connection here is."""
        if self.read_only:
            uri = f"file:{self.path.resolve().as_posix()}?mode=ro"
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        else:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        if self.secure_delete:
            # What is deleted or overwritten is zeroed in the file, not left in free space.
            conn.execute("PRAGMA secure_delete=ON")
        if self.functions is not None:
            self.functions(conn)
        return conn

    @contextmanager
    def write_elsewhere(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on its own connection (long loads: readers go on meanwhile)."""
        try:
            conn = self.connect()
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise translate(exc, self.path) from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None
        finally:
            conn.close()

    def _migrate(
        self, current: int, schema: str, version: int, upgrades: Mapping[int, Step]
    ) -> None:
        # Version 1 is ``schema``; each later version adds its step, each in one transaction.
        # Foreign keys are off while a step rebuilds tables (SQLite's own procedure) and
        # checked whole before the step commits.
        steps: dict[int, Step] = {1: schema, **upgrades}
        self.conn.execute("PRAGMA foreign_keys=OFF")
        try:
            for target in range(current + 1, version + 1):
                try:
                    step = steps[target]
                    if isinstance(step, str):
                        self.conn.executescript(
                            "BEGIN IMMEDIATE;" + step + f"PRAGMA user_version={target};"
                        )
                    else:
                        self.conn.execute("BEGIN IMMEDIATE")
                        step(self.conn)
                        self.conn.execute(f"PRAGMA user_version={target}")
                    broken = self.conn.execute("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(
                            f"the store at {self.path} could not be brought up to date:"
                            f" {len(broken)} rows lost their redemption (nothing was changed)"
                        )
                    self.conn.execute("COMMIT")
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise
        finally:
            self.conn.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self._refuse_if_lost()
            if self.batching:
                # Inside a batch: a savepoint keeps this write all-or-nothing on its own;
                # the batch's transaction commits it.
                yield from self._savepoint()
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from None
            try:
                yield self.conn
                self.conn.execute("COMMIT")
                self.commits += 1
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise translate(exc, self.path) from None
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def write_one(
        self,
        sql: str,
        args: Sequence[Any],
        *,
        refusals: Mapping[str, Callable[[], Exception]] | None = None,
    ) -> None:
        """One statement as a transaction of its own (SQLite's autocommit): all of it, or none.

        What :meth:`write` does for one statement, without the two statements
        that open and close a transaction around it (inside a batch: a write
        of the batch's transaction, as with :meth:`write`). ``refusals`` maps
        the message of a constraint the statement broke to the error to raise.
        """
        with self.lock:
            if self.batching:
                with self.write() as conn:
                    _execute(conn, sql, args, refusals)
                return
            self._refuse_if_lost()
            try:
                _execute(self.conn, sql, args, refusals)
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from None
            self.commits += 1

    def _refuse_if_lost(self) -> None:
        if self.lost is not None:
            raise StoreError(self.lost, code="store_lost")

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        try:
            self.conn.execute("SAVEPOINT one_write")
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None
        try:
            yield self.conn
            self.conn.execute("RELEASE one_write")
        except sqlite3.Error as exc:
            self.conn.execute("ROLLBACK TO one_write")
            self.conn.execute("RELEASE one_write")
            raise translate(exc, self.path) from None
        except BaseException:
            self.conn.execute("ROLLBACK TO one_write")
            self.conn.execute("RELEASE one_write")
            raise

    def checkpoint(
        self,
        *,
        min_commits: int,
        restart: tuple[str, Sequence[Any]] | None = None,
        wipe: bool = False,
    ) -> bool:
        """Copy the WAL into the file (PASSIVE) after ``min_commits`` commits; never raises.

        With ``restart`` (a small write), once the whole WAL was copied, that
        write starts the WAL afresh now, paying the sync of its new header here
        rather than in the next caller's commit. With ``wipe``, the WAL is
        also cut to nothing once copied (``TRUNCATE``, waiting for no reader),
        so that what was overwritten in the file is gone from the WAL too;
        returns ``False`` if a reader kept it from being cut (try again later).
        """
        if self.read_only or self.lost is not None:
            return False
        with self.lock:
            if self.conn.in_transaction or self.commits < min_commits:
                return False
            try:
                if wipe:
                    self.conn.execute("PRAGMA busy_timeout=0")
                    try:
                        busy, frames, copied = self.conn.execute(
                            "PRAGMA wal_checkpoint(TRUNCATE)"
                        ).fetchone()
                    finally:
                        self.conn.execute("PRAGMA busy_timeout=10000")
                    if busy:
                        return False
                else:
                    busy, frames, copied = self.conn.execute(
                        "PRAGMA wal_checkpoint(PASSIVE)"
                    ).fetchone()
                if restart is not None and not busy and (wipe or (frames > 0 and copied == frames)):
                    self.conn.execute(*restart)
            except sqlite3.Error as exc:
                log.warning("checkpoint of %s skipped: %s", self.path, exc)
                return False
            self.commits = 0
        return True

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                yield self.conn
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from None

    def close(self) -> None:
        with self.lock:
            self.conn.close()
