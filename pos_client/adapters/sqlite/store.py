"""The lane store: its two files opened together, one transaction for a batch, idle housekeeping.

Two files side by side, so that loading a million-product catalog never makes
a sale wait for the disk:

- ``<path>`` (the lane store): the electronic journal of every redemption
  with its body, its status history and final status; the outbox; the
  problems list; cached signed rules and the keys learnt from them; the shop's
  price list and scale items; used token ids; offline totals per household per
  business day and cached wallets for offline service (keyed by the lane's
  keyed hash of the household, never the ID); the last successful contact with
  the ledger; the Z reports that closed business dates (numbered per terminal).
- ``<path stem>.catalog.sqlite``: the approved products, keyed by GTIN.

:class:`SqliteStore` is made of the parts by table family: :mod:`.journal`
(journal and outbox; :mod:`.archive`, its monthly archives), :mod:`.catalog`
(catalog and prices), :mod:`.meta` (meta, wallets, rules and keys),
:mod:`.problems` (problems and Z reports); the schema and its migrations are
:mod:`.schema`; one file's connection is
:class:`~pos_client.adapters.sqlite.db.Db`. A redemption enters the journal and
the outbox in one transaction before it is sent; it leaves the outbox only with
a final status. :meth:`SqliteStore.batch` makes several writes one transaction
(the forwarder records a batch's answers with one commit).

Checkpoints of the lane store: SQLite's automatic checkpoint runs inside the
commit that crosses ``wal_autocheckpoint`` pages, so with the default (1,000
pages) about every 80th sale's own commit also copied the WAL into the file and
fsynced it (the enqueue's p99). The lane store sets ``wal_autocheckpoint`` to
10,000 pages, a backstop only, and checkpoints when the lane is idle instead:
:meth:`SqliteStore.checkpoint` (``PRAGMA wal_checkpoint(PASSIVE)``, never
waiting for anyone, once 50 commits went by: a checkpoint after every sale
makes the next commit restart the WAL, an extra fsync) runs after a sale's
outcome and from the forwarder's idle pass. Durability is unchanged: a commit
is on disk in the WAL when it returns.

No identity for good: deleted and overwritten content is zeroed in the file
(``secure_delete``), and once rows left the outbox (their bodies scrubbed),
the next idle checkpoint cuts the WAL to nothing, so the old pages that held
the identity are gone from it too. At most one checkpoint's worth of sales
(50 commits) keeps identities in the WAL, and a lane that closes leaves none.

The lane's files are watched at idle: a store file or WAL deleted or replaced
under a running lane (:meth:`SqliteStore.checkpoint`) stops every write with a
sentence (``StoreError`` code ``store_lost``): a sale written then would be
lost when the lane closes. Whether the store at a lane's path is the one the
lane had is the identity file's business (:mod:`.identity`).

Imports the standard library, the domain, the project's errors and the sibling modules.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pos_client.adapters.sqlite.archive import ArchiveTables
from pos_client.adapters.sqlite.catalog import CatalogTables
from pos_client.adapters.sqlite.db import Db, utc
from pos_client.adapters.sqlite.lane_figures import LaneFigureTables
from pos_client.adapters.sqlite.meta import MetaTables
from pos_client.adapters.sqlite.problems import ProblemTables
from pos_client.adapters.sqlite.schema import (
    CATALOG_SCHEMA_V1,
    CATALOG_SCHEMA_VERSION,
    CHECKPOINT_AFTER_COMMITS,
    LANE_AUTO_VACUUM,
    LANE_UPGRADES,
    LANE_WAL_AUTOCHECKPOINT,
    READABLE_FROM,
    SCHEMA_V1,
    SCHEMA_VERSION,
    register_functions,
)

log = logging.getLogger(__name__)

__all__ = ["SqliteStore"]

#: What a lane says when its store's files went away under it.
LOST = (
    "the store's file at {path} was deleted or replaced while the lane was running:"
    " sales made now would be lost, so selling has stopped; close the lane and"
    " start it again"
)


class SqliteStore(ArchiveTables, CatalogTables, MetaTables, ProblemTables, LaneFigureTables):
    """The lane store (see the module docstring). Thread-safe; calls are short."""

    def __init__(self, main: Db, catalog: Db, *, catalog_path: Path) -> None:
        self._db = main
        self._cat = catalog
        self.path = main.path
        self.catalog_path = catalog_path
        self._files: dict[Path, tuple[int, int]] = {}
        self._scrubbed_at_seq = 0  # rows out of the outbox since the WAL was last cut
        #: Called with the store at idle checkpoints and when it closes (the identity file).
        self.on_idle: Callable[[SqliteStore], None] | None = None

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        max_size_bytes: int | None = None,
    ) -> SqliteStore:
        """Open (creating if need be) the store at ``path`` and its catalog file beside it.

        ``read_only`` opens existing files without writing; ``max_size_bytes``
        caps the lane store's size (it then behaves as a full disk would).
        """
        main_path = Path(path)
        catalog_path = main_path.with_name(main_path.stem + ".catalog.sqlite")
        main = Db(
            main_path,
            schema=SCHEMA_V1,
            version=SCHEMA_VERSION,
            upgrades=LANE_UPGRADES,
            readable_from=READABLE_FROM,
            read_only=read_only,
            max_size_bytes=max_size_bytes,
            wal_autocheckpoint=LANE_WAL_AUTOCHECKPOINT,
            secure_delete=True,
            functions=register_functions,
            auto_vacuum=LANE_AUTO_VACUUM,
        )
        try:
            catalog = Db(
                catalog_path,
                schema=CATALOG_SCHEMA_V1,
                version=CATALOG_SCHEMA_VERSION,
                read_only=read_only and catalog_path.exists(),
                max_size_bytes=None,
            )
        except BaseException:
            main.close()
            raise
        store = cls(main, catalog, catalog_path=catalog_path)
        store.raise_open_mark()  # a lane that only runs one command at a time keeps it close too
        if not read_only:
            if main.upgraded_from is not None:
                # The upgrade scrubbed bodies and re-keyed hashes: none of the old pages stay.
                main.commits = CHECKPOINT_AFTER_COMMITS
                main.checkpoint(min_commits=0, wipe=True)
            store._note_files()
        return store

    def close(self) -> None:
        try:
            if self.on_idle is not None and self._db.lost is None:
                self.on_idle(self)
        except Exception:  # housekeeping never keeps the store from closing
            log.warning("the lane's identity file was not brought up to date", exc_info=True)
        finally:
            self._db.close()
            self._cat.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The writes made inside the block as one transaction: one commit for all, or none.

        Each write inside stays all-or-nothing on its own (a savepoint); an
        exception out of the block rolls every one of them back. The block holds
        the store's lock: keep it short and never ``await`` inside it.
        """
        with self._db.write():
            self._db.batching += 1
            try:
                yield
            finally:
                self._db.batching -= 1

    def checkpoint(self) -> bool:
        """Checkpoint the lane store's WAL when the lane is idle (see the module docstring).

        ``PRAGMA wal_checkpoint(PASSIVE)``: it copies what no reader needs and
        waits for no one. It runs only once :data:`CHECKPOINT_AFTER_COMMITS`
        commits have gone by since the last one: the first commit after a
        checkpoint starts the WAL afresh and pays an extra fsync of its header,
        so checkpointing after every sale would slow every sale; and once the
        whole WAL was copied, a one-row write here starts it afresh, so that
        extra sync is paid now, while the lane is idle, not by the next sale.
        When rows left the outbox since the last one, the WAL is cut to nothing
        (their identities were in its old pages). Housekeeping only: it never
        raises; returns whether it ran. Checks first that the store's files
        are still those it opened (else every write is refused from now on),
        and raises the open mark, if it fell behind (:meth:`raise_open_mark`).
        """
        if not self.verify_files():
            return False
        self.raise_open_mark()
        restart = (
            "INSERT INTO meta(key, value) VALUES ('wal_restarted_at', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (utc(datetime.now(UTC)),),
        )
        wipe = self._db.commits >= CHECKPOINT_AFTER_COMMITS and self._left_outbox()
        ran = self._db.checkpoint(min_commits=CHECKPOINT_AFTER_COMMITS, restart=restart, wipe=wipe)
        if ran and self.on_idle is not None:
            try:
                self.on_idle(self)
            except Exception:  # housekeeping never raises
                log.warning("the lane's identity file was not brought up to date", exc_info=True)
        return ran

    def _left_outbox(self) -> bool:
        """Whether a row left the outbox (its body scrubbed) since the WAL was last cut."""
        # The last event only (one lookup by the table's key, never a count of the history).
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT seq FROM journal_events WHERE seq > ? ORDER BY seq DESC LIMIT 1",
                (self._scrubbed_at_seq,),
            ).fetchone()
        if row is None:
            return False
        self._scrubbed_at_seq = int(row[0])
        return True

    # ------------------------------------------------------------------ the files under the lane

    def _note_files(self) -> None:
        for path in (self.path, Path(f"{self.path}-wal")):
            try:
                st = path.stat()
            except OSError:
                continue
            self._files[path] = (st.st_dev, st.st_ino)

    def verify_files(self) -> bool:
        """Whether the store's file and WAL are still those it opened (read-only: always).

        If not, every write is refused from now on (``StoreError`` ``store_lost``,
        :data:`LOST`), and this is logged once. Two ``stat`` calls: cheap.
        """
        if self._db.read_only:
            return True
        if self._db.lost is not None:
            return False
        for path, (dev, ino) in self._files.items():
            try:
                st = path.stat()
                same = (st.st_dev, st.st_ino) == (dev, ino)
            except OSError:
                same = False
            if not same:
                self._db.lost = LOST.format(path=path)
                log.error("%s", self._db.lost)
                return False
        return True

    @property
    def lost(self) -> str | None:
        """Why this store refuses every write (its files went away under it), if it does."""
        return self._db.lost
