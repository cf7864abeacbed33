"""Monthly archives of old journal rows beside the lane store, and the space given back.

A lane keeps a sale's full row in the store for ``[retention] keep_days``
(:class:`~pos_client.config.RetentionConfig`); older rows move to one
compressed file per business month in ``<store stem>.archive/`` beside the
store, so a lane that has sold for years stays as small as a new one.

- **Which rows move** (:data:`_MAY_ARCHIVE`): final (approved, partially
  approved, declined or voided), out of the outbox (owed nothing), seen by the
  cashier, with no open problem, on a business date that a reconciled Z report
  (``agreed`` or ``explained``) closed, and older than the cut-off. The
  journal's last row and the row of the last history event always stay, so
  that no seq is ever used twice. A month holding a row that may not move
  keeps that row live; the rest of the month moves, and the row joins its
  month's archive on a later run, once it may.
- **One file per month**, gzip-compressed JSON lines (a header line, then
  one row per line: every journal column, the body, basket and answer as
  text, and the row's history events), written to a temporary file, fsynced
  and renamed; mode 0600. ``manifest.json`` names each month's current file
  with its SHA-256, its row count and its dates; writing the manifest
  (atomically, the same way) is what makes a new file count. A month's file
  is rewritten whole when rows join it (its old rows and the new ones merged
  by seq), under a new name; the old file goes once the manifest no longer
  names it.
- **Removed from the store in one transaction per month**, after its file
  and the manifest are on disk, and only rows that still may move and are
  unchanged since they were written out (``updated_at``). A crash between
  the file and the delete leaves the rows in both places: readers take the
  live row, and the next run writes the month again and deletes them.
  Running twice is harmless.
- **Read back** by :meth:`ArchiveTables.journal_between` (archives and the
  live store merged by seq, the same entries in the same order as the live
  store's paging would give) and by :meth:`ArchiveTables.journal_on` (a
  report for an archived date). A file whose SHA-256 is not the manifest's is
  refused with a ``StoreError`` (code ``archive_damaged``), never read.
- **The space given back**: :meth:`ArchiveTables.give_space_back` runs
  ``PRAGMA incremental_vacuum`` (a new store is made with
  ``auto_vacuum=INCREMENTAL``); a store made before that is converted once by
  a ``VACUUM`` when asked to (``pos-client journal archive``), or at idle
  when it is small enough to be quick. :meth:`ArchiveTables.pack_old_rows`
  packs rows written before schema 6 (see :mod:`.packing`), a few hundred at a
  time.

Imports the standard library, the domain, the project's errors and ports, and
the sibling modules.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import heapq
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from pos_client.adapters.sqlite.db import Db
from pos_client.adapters.sqlite.journal import _JOURNAL_COLUMNS, JournalTables, _entry
from pos_client.adapters.sqlite.packing import unpack, unpack_text
from pos_client.adapters.sqlite.schema import PACK_FUNCTION, PACKED_BELOW_KEY, SCRUB_FUNCTION
from pos_client.errors import StoreError
from pos_client.ports import ArchiveRun, JournalEntry

log = logging.getLogger(__name__)

__all__ = ["MANIFEST", "ArchiveTables", "archive_dir"]

#: The manifest's name inside the archive folder.
MANIFEST = "manifest.json"
_FORMAT = "pos-client journal archive"
_FORMAT_VERSION = 1
#: A store made before ``auto_vacuum`` is converted at idle only below this size.
QUICK_VACUUM_BYTES = 64 * 1024 * 1024
_PAGE = 500

# Rows written before the cut-off date's first row: a range of the table's own key, so a
# daily run reads the old rows only (a row dated back by a clock set back, written later,
# stays live: never archived is always safe). ``?1`` is the cut-off date.
_OLD = """
    j.seq < COALESCE(
        (SELECT MIN(first_seq) FROM journal_days WHERE business_date >= ?1),
        (SELECT MAX(seq) FROM journal) + 1
    )
    AND j.business_date < ?1
"""
# A row that may move to an archive (see the module docstring). The subqueries do not
# depend on the row: each is made once per statement.
_MAY_ARCHIVE = (
    _OLD  # noqa: S608 - constant text
    + """
    AND j.intent IS NULL
    AND j.seen = 1
    AND j.status IN ('approved', 'partially_approved', 'declined', 'voided')
    AND j.seq < (SELECT MAX(seq) FROM journal)
    AND j.id IS NOT (SELECT redemption_id FROM journal_events ORDER BY seq DESC LIMIT 1)
    AND j.id NOT IN (SELECT redemption_id FROM problems WHERE resolved_at IS NULL)
    AND j.business_date IN (
        SELECT business_date FROM z_reports WHERE status IN ('agreed', 'explained')
    )
"""
)
_NAMES = tuple(name.strip() for name in _JOURNAL_COLUMNS.split(","))
_TEXT_DOCUMENTS = ("basket", "answer")
_ID, _DATE, _UPDATED_AT = (_NAMES.index(n) for n in ("id", "business_date", "updated_at"))


def archive_dir(store_path: Path) -> Path:
    """The folder of ``store_path``'s monthly archives (named after the store)."""
    return store_path.with_name(store_path.stem + ".archive")


@dataclass(slots=True)
class _MonthFile:
    file: str
    sha256: str
    rows: int
    first_seq: int
    last_seq: int
    dates: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "rows": self.rows,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "dates": dict(sorted(self.dates.items())),
        }


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform opens folders
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _private_temp(folder: Path, name: str) -> tuple[Path, IO[bytes]]:
    temp = folder / f".{name}.tmp"
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return temp, os.fdopen(fd, "wb")


def _publish(temp: Path, handle: IO[bytes], target: Path) -> None:
    """Sync ``temp``'s contents, then rename it to ``target`` and sync the folder."""
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(temp, target)
    _fsync_dir(target.parent)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _row_json(names: Iterable[str], values: Iterable[Any], events: list[list[str]]) -> bytes:
    row: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        if name == "body":
            raw = unpack(value) or b""
            try:
                value = raw.decode("utf-8")
            except UnicodeDecodeError:  # never written so, but kept byte for byte all the same
                value = None
                row["body_base64"] = base64.b64encode(raw).decode("ascii")
        elif name in _TEXT_DOCUMENTS:
            value = unpack_text(value)
        row[name] = value
    row["events"] = events
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _entry_of(row: dict[str, Any]) -> JournalEntry:
    values = [row[name] for name in _NAMES]
    body_at = _NAMES.index("body")
    if values[body_at] is None:
        values[body_at] = base64.b64decode(row["body_base64"])
    else:
        values[body_at] = str(values[body_at]).encode("utf-8")
    return _entry(values)


class ArchiveTables(JournalTables):
    """Monthly archives of old rows (a part of ``SqliteStore``; see the module docstring)."""

    _db: Db
    path: Path
    #: The manifest as last read, with the file's identity then (read again once it changed).
    _manifest_seen: tuple[tuple[int, int, int], dict[str, _MonthFile]] | None = None

    @property
    def archive_dir(self) -> Path:
        return archive_dir(self.path)

    # ------------------------------------------------------------------ the manifest

    def _manifest(self) -> dict[str, _MonthFile]:
        path = self.archive_dir / MANIFEST
        try:
            st = path.stat()
        except FileNotFoundError:
            return {}
        except OSError:
            st = None
        key = None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns)
        if key is not None and self._manifest_seen is not None and self._manifest_seen[0] == key:
            return dict(self._manifest_seen[1])
        months = self._read_manifest(path)
        if key is not None:
            self._manifest_seen = (key, dict(months))
        return months

    @staticmethod
    def _read_manifest(path: Path) -> dict[str, _MonthFile]:
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"the archive manifest at {path} cannot be read ({exc}); restore it from a backup",
                code="archive_damaged",
            ) from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise StoreError(f"{path} is not a pos-client archive manifest", code="archive_damaged")
        try:
            return {month: _MonthFile(**entry) for month, entry in data["months"].items()}
        except (KeyError, TypeError, AttributeError):
            raise StoreError(
                f"the archive manifest at {path} is damaged; restore it from a backup",
                code="archive_damaged",
            ) from None

    def _write_manifest(self, months: dict[str, _MonthFile]) -> None:
        folder = self.archive_dir
        document = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "months": {m: months[m].to_json() for m in sorted(months)},
        }
        temp, handle = _private_temp(folder, MANIFEST)
        with handle:
            handle.write(json.dumps(document, indent=1, sort_keys=True).encode("utf-8"))
            _publish(temp, handle, folder / MANIFEST)

    def archived_months(self) -> dict[str, int]:
        """Each archived month (``YYYY-MM``) with its number of rows."""
        return {month: entry.rows for month, entry in sorted(self._manifest().items())}

    # ------------------------------------------------------------------ reading

    def _verified(self, entry: _MonthFile) -> Path:
        path = self.archive_dir / entry.file
        try:
            actual = _file_sha256(path)
        except OSError as exc:
            raise StoreError(
                f"the archive {path} cannot be read ({exc.strerror}); restore it from a backup",
                code="archive_damaged",
            ) from None
        if actual != entry.sha256:
            raise StoreError(
                f"the archive {path} is damaged (its SHA-256 is not the manifest's);"
                " it was not read: restore it from a backup",
                code="archive_damaged",
            )
        return path

    def _archived_rows(self, entry: _MonthFile) -> Iterator[dict[str, Any]]:
        for _line, row in self._archived_lines(entry):
            yield row

    def _archived_lines(self, entry: _MonthFile) -> Iterator[tuple[bytes, dict[str, Any]]]:
        path = self._verified(entry)
        try:
            with gzip.open(path, "rb") as handle:
                header = json.loads(handle.readline())
                if header.get("format") != _FORMAT:
                    raise ValueError("not an archive")
                for line in handle:
                    yield line, json.loads(line)
        except (OSError, EOFError, ValueError) as exc:
            raise StoreError(
                f"the archive {path} is damaged ({exc}); restore it from a backup",
                code="archive_damaged",
            ) from None

    def _archived_entries(
        self, entry: _MonthFile, first: date | None, last: date | None
    ) -> Iterator[JournalEntry]:
        low = None if first is None else first.isoformat()
        high = None if last is None else last.isoformat()
        for row in self._archived_rows(entry):
            day = row["business_date"]
            if (low is None or day >= low) and (high is None or day <= high):
                yield _entry_of(row)

    def journal_between(
        self, first: date | None = None, last: date | None = None
    ) -> Iterator[JournalEntry]:
        """The redemptions of business dates ``first`` to ``last`` (inclusive; ``None``: open).

        From the archives and the live store, in the order written (by seq),
        as :meth:`journal` gives the live rows: each row once (a row in both,
        after an interrupted run, is the live one). Read a page at a time.
        """
        months = self._manifest()
        wanted = [
            entry
            for month, entry in sorted(months.items())
            if (first is None or month >= first.isoformat()[:7])
            and (last is None or month <= last.isoformat()[:7])
        ]
        for entry in wanted:
            self._verified(entry)  # every damaged file is reported before a row is given
        live = self.journal(since=first, until=last)
        sources = [live, *(self._archived_entries(e, first, last) for e in wanted)]
        yield from _once_by_seq(heapq.merge(*sources, key=lambda e: e.seq))

    def journal_on(self, business_date: date) -> list[JournalEntry]:
        """The redemptions made on ``business_date``, archived ones too, in the order written."""
        live = super().journal_on(business_date)
        entry = self._manifest().get(business_date.isoformat()[:7])
        if entry is None or business_date.isoformat() not in entry.dates:
            return live
        archived = self._archived_entries(entry, business_date, business_date)
        return list(_once_by_seq(heapq.merge(live, archived, key=lambda e: e.seq)))

    # ------------------------------------------------------------------ archiving

    def archive_before(self, cutoff: date, *, dry_run: bool = False) -> ArchiveRun:
        """Move the rows that may move, of business dates before ``cutoff``, to monthly archives.

        ``dry_run``: count them, change nothing. See the module docstring.
        """
        cut = cutoff.isoformat()
        with self._db.read() as conn:
            # The rows that may move, found in one pass over the old rows; each month's
            # are then read by seq from here (the temporary table is this connection's).
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS movable"
                " (seq INTEGER PRIMARY KEY, month TEXT NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS temp.movable_by_month ON movable(month, seq)")
            conn.execute("DELETE FROM temp.movable")
            conn.execute(
                "INSERT INTO temp.movable(seq, month)"  # noqa: S608
                f" SELECT j.seq, substr(j.business_date, 1, 7) FROM journal j WHERE {_MAY_ARCHIVE}",
                (cut,),
            )
            movable = conn.execute(
                "SELECT month, COUNT(*) FROM temp.movable GROUP BY month ORDER BY month"
            ).fetchall()
            older = conn.execute(
                f"SELECT COUNT(*) FROM journal j WHERE {_OLD}",  # noqa: S608
                (cut,),
            ).fetchone()
        by_month = {str(m): int(n) for m, n in movable}
        kept = int(older[0]) - sum(by_month.values())
        if dry_run or not by_month or self._db.read_only:
            return ArchiveRun(cutoff=cutoff, months=by_month, kept_live=kept, dry_run=True)
        folder = self.archive_dir
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot make the archive folder {folder}: {exc.strerror}") from None
        moved: dict[str, int] = {}
        with _only_one(folder):
            self._remove_strays()
            for month in by_month:
                moved[month] = self._archive_month(month, cut)
        return ArchiveRun(cutoff=cutoff, months=moved, kept_live=kept, dry_run=False)

    def _remove_strays(self) -> None:
        """Files an interrupted run left that the manifest does not name."""
        named = {entry.file for entry in self._manifest().values()} | {MANIFEST}
        for path in self.archive_dir.iterdir():
            if path.name not in named and (
                path.name.endswith(".jsonl.gz") or path.name.endswith(".tmp")
            ):
                with contextlib.suppress(OSError):
                    path.unlink()

    def _live_month(self, month: str, cut: str) -> Iterator[tuple[int, str, str, bytes]]:
        """``(seq, updated_at, date, line)`` of each row of ``month`` that may move, by seq.

        Read a page at a time.
        """
        last = 0
        columns = ", ".join(f"j.{n}" for n in _NAMES)
        while True:
            with self._db.read() as conn:
                rows = conn.execute(
                    f"SELECT {columns} FROM temp.movable m JOIN journal j ON j.seq = m.seq"  # noqa: S608
                    f" WHERE m.month = ?3 AND m.seq > ?2 AND {_MAY_ARCHIVE}"
                    f" ORDER BY m.seq LIMIT {_PAGE}",
                    (cut, last, month),
                ).fetchall()
                ids = [r[_ID] for r in rows]
                events: dict[str, list[list[str]]] = {i: [] for i in ids}
                if ids:
                    marks = ",".join("?" * len(ids))
                    for rid, at, status, note in conn.execute(
                        "SELECT redemption_id, at, status, note FROM journal_events"  # noqa: S608
                        f" WHERE redemption_id IN ({marks}) ORDER BY seq",
                        ids,
                    ):
                        events[rid].append([at, status, note])
            if not rows:
                return
            for row in rows:
                rid, updated_at = row[_ID], row[_UPDATED_AT]
                yield int(row[0]), updated_at, row[_DATE], _row_json(_NAMES, row, events[rid])
            last = int(rows[-1][0])

    def _old_month(self, entry: _MonthFile | None) -> Iterator[tuple[int, str, str, bytes]]:
        if entry is None:
            return
        for line, row in self._archived_lines(entry):
            yield int(row["seq"]), "", row["business_date"], line

    def _archive_month(self, month: str, cut: str) -> int:
        months = self._manifest()
        old = months.get(month)
        folder = self.archive_dir
        generation = 1 if old is None else int(old.file.split(".")[1]) + 1
        name = f"{month}.{generation}.jsonl.gz"
        temp, handle = _private_temp(folder, name)
        written: list[tuple[int, str]] = []
        dates: dict[str, int] = {}
        count, first_seq, last_seq = 0, 0, 0
        try:
            with handle, gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as out:
                header = {"format": _FORMAT, "version": _FORMAT_VERSION, "month": month}
                out.write(json.dumps(header).encode("utf-8") + b"\n")
                merged = heapq.merge(
                    self._live_month(month, cut), self._old_month(old), key=lambda r: r[0]
                )
                previous = None
                for seq, updated_at, day, line in merged:
                    if seq == previous:
                        continue  # in the old file and live: the live row (first) is kept
                    previous = seq
                    if updated_at:
                        written.append((seq, updated_at))
                    out.write(line)
                    dates[day] = dates.get(day, 0) + 1
                    count += 1
                    first_seq = first_seq or seq
                    last_seq = seq
                out.close()
                _publish(temp, handle, folder / name)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise StoreError(
                f"the archive of {month} could not be written ({exc.strerror});"
                " nothing was removed from the store"
            ) from None
        except BaseException:  # a damaged old file, say: no half-written file is left
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        months[month] = _MonthFile(
            file=name,
            sha256=_file_sha256(folder / name),
            rows=count,
            first_seq=first_seq,
            last_seq=last_seq,
            dates=dates,
        )
        self._write_manifest(months)
        if old is not None:
            with contextlib.suppress(OSError):
                (folder / old.file).unlink()
        return self._remove_archived(written, cut)

    def _remove_archived(self, written: list[tuple[int, str]], cut: str) -> int:
        """Delete the rows written out, in one transaction, if they still may move, unchanged."""
        with self._db.write() as conn:
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS archived"
                " (seq INTEGER PRIMARY KEY, updated_at TEXT)"
            )
            conn.execute("DELETE FROM temp.archived")
            conn.executemany("INSERT INTO temp.archived(seq, updated_at) VALUES (?, ?)", written)
            conn.execute(
                "DELETE FROM temp.archived WHERE seq NOT IN (SELECT j.seq FROM journal j"  # noqa: S608
                " JOIN temp.archived a ON a.seq = j.seq AND a.updated_at = j.updated_at"
                f" WHERE {_MAY_ARCHIVE})",
                (cut,),
            )
            conn.execute(
                "DELETE FROM journal_events WHERE redemption_id IN"
                " (SELECT j.id FROM journal j JOIN temp.archived a ON a.seq = j.seq)"
            )
            gone = conn.execute(
                "DELETE FROM journal WHERE seq IN (SELECT seq FROM temp.archived)"
            ).rowcount
            conn.execute("DELETE FROM temp.archived")
        return int(gone)

    # ------------------------------------------------------------------ smaller rows, space back

    def pack_old_rows(self, *, limit: int = _PAGE) -> int:
        """Pack up to ``limit`` final rows written before schema 6 (see :mod:`.packing`)."""
        if self._db.read_only:
            return 0
        with self._db.read() as conn:  # nothing left to pack (the usual case): no write at all
            row = conn.execute("SELECT 1 FROM meta WHERE key = ?", (PACKED_BELOW_KEY,))
            if row.fetchone() is None:
                return 0
        with self._db.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (PACKED_BELOW_KEY,))
            found = row.fetchone()
            if found is None:
                return 0
            below = int(found[0])
            seqs = [
                int(r[0])
                for r in conn.execute(
                    "SELECT seq FROM journal WHERE seq < ? AND intent IS NULL"
                    " ORDER BY seq DESC LIMIT ?",
                    (below, limit),
                )
            ]
            if not seqs:
                conn.execute("DELETE FROM meta WHERE key = ?", (PACKED_BELOW_KEY,))
                return 0
            conn.execute(
                f"UPDATE journal SET body = {SCRUB_FUNCTION}(body),"  # noqa: S608
                f" basket = {PACK_FUNCTION}(basket), answer = {PACK_FUNCTION}(answer)"
                " WHERE seq >= ? AND seq < ? AND intent IS NULL",
                (seqs[-1], below),
            )
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = ?", (str(seqs[-1]), PACKED_BELOW_KEY)
            )
        return len(seqs)

    def give_space_back(self, *, pages: int = 1000, convert: bool = False) -> int:
        """Return free pages to the file system; returns how many pages were freed.

        ``PRAGMA incremental_vacuum(pages)`` in a store with ``auto_vacuum``
        incremental. A store made before that is converted (``VACUUM``, once)
        when ``convert`` or when it is small enough to be quick
        (:data:`QUICK_VACUUM_BYTES`). Never inside a transaction.
        """
        db = self._db
        if db.read_only:
            return 0
        with db.lock:
            if db.conn.in_transaction:
                return 0
            try:
                conn = db.conn
                before = int(conn.execute("PRAGMA page_count").fetchone()[0])
                mode = int(conn.execute("PRAGMA auto_vacuum").fetchone()[0])
                if mode == 0:
                    size = before * int(conn.execute("PRAGMA page_size").fetchone()[0])
                    if not convert and size > QUICK_VACUUM_BYTES:
                        return 0
                    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                    conn.execute("VACUUM")
                elif int(conn.execute("PRAGMA freelist_count").fetchone()[0]) == 0:
                    return 0
                else:
                    # As a script: a plain execute steps the pragma once (one page).
                    conn.executescript(f"PRAGMA incremental_vacuum({max(1, int(pages))});")
                after = int(conn.execute("PRAGMA page_count").fetchone()[0])
            except sqlite3.Error as exc:
                log.warning("the space of %s was not given back: %s", self.path, exc)
                return 0
        return max(0, before - after)


@contextlib.contextmanager
def _only_one(folder: Path) -> Iterator[None]:
    """One archiving run at a time per store (the lane at idle, the command): a file lock."""
    try:
        import fcntl
    except ImportError:  # not on this platform: the two are rare to meet
        yield
        return
    fd = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StoreError(
                "another pos-client is archiving this store now; try again in a while",
                code="archive_busy",
            ) from None
        yield
    finally:
        os.close(fd)


def _once_by_seq(entries: Iterable[JournalEntry]) -> Iterator[JournalEntry]:
    previous = None
    for entry in entries:
        if entry.seq != previous:
            yield entry
        previous = entry.seq
