"""Retention: old final rows to monthly archives, the store's space given back, once a day.

``[retention] keep_days`` (:class:`~pos_client.config.RetentionConfig`) is how
many days of full rows the live store keeps (default 400, the programme's
audit period). :meth:`Retention.run` moves older rows that may move to the
monthly archives beside the store (which rows may, and how a crash is made
harmless: :mod:`pos_client.adapters.sqlite.archive`), packs rows written
before schema 6 a page at a time, and gives the freed pages back to the disk.
``pos-client journal archive`` runs it now (``--dry-run``: says what it would
move); a running lane runs it from the forwarder's idle pass once a day
(:meth:`Retention.at_idle`), in a worker thread.

Imports the standard library, the project's errors and ports, and the services' helpers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from pos_client.errors import PosError
from pos_client.ports import ArchiveRun, ArchiveStore, Clock
from pos_client.services.redemptions import business_date

log = logging.getLogger(__name__)

__all__ = ["Retention", "RetentionRun"]

#: Rows written before schema 6 packed per idle pass (one short transaction each).
PACK_PER_PASS = 2_000
#: Free pages given back per idle pass.
VACUUM_PAGES = 2_000


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What one run did: the archive run, rows packed, pages given back."""

    archive: ArchiveRun
    packed: int = 0
    pages_freed: int = 0


class Retention:
    """The retention policy of one lane (see the module docstring)."""

    def __init__(
        self, *, store: ArchiveStore, clock: Clock, keep_days: int = 400, archive: bool = True
    ) -> None:
        self.store = store
        self.clock = clock
        self.keep_days = keep_days
        self.archive = archive
        self._ran_on: date | None = None

    def cutoff(self) -> date:
        """The first business date whose rows stay in the store, whatever they are."""
        return business_date(self.clock.now()) - timedelta(days=self.keep_days)

    def run(self, *, dry_run: bool = False, convert: bool = False) -> RetentionRun:
        """Archive what may move now; ``convert`` also turns an older store to incremental vacuum.

        With ``[retention] archive = false`` nothing is archived (the dry run
        still says what would be).
        """
        archive = self.store.archive_before(self.cutoff(), dry_run=dry_run or not self.archive)
        if dry_run:
            return RetentionRun(archive=archive)
        packed = 0
        while True:
            done = self.store.pack_old_rows(limit=500)
            packed += done
            if not done or (not convert and packed >= PACK_PER_PASS):
                break
        pages = self.store.give_space_back(pages=VACUUM_PAGES, convert=convert)
        return RetentionRun(archive=archive, packed=packed, pages_freed=pages)

    async def at_idle(self) -> RetentionRun | None:
        """Run once per business day, in a worker thread; never raises (housekeeping)."""
        today = business_date(self.clock.now())
        if self._ran_on == today:
            return None
        self._ran_on = today
        try:
            result = await asyncio.to_thread(self.run)
        except PosError as exc:
            log.warning("retention did not run: %s", exc.message)
            return None
        if result.archive.rows:
            log.info(
                "archived %d rows of %s", result.archive.rows, ", ".join(result.archive.months)
            )
        return result
