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

#: Rows written before schema 6 packed in one short transaction.
PACK_PAGE = 500
#: Rows packed by a daily run (an idle pass packs one page; the command, all).
PACK_PER_PASS = 2_000
#: Free pages given back per idle pass (the command gives back every one).
VACUUM_PAGES = 2_000
ALL_PAGES = 1 << 30


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
        self._all_packed = False

    def cutoff(self) -> date:
        """The first business date whose rows stay in the store, whatever they are."""
        return business_date(self.clock.now()) - timedelta(days=self.keep_days)

    def run(self, *, dry_run: bool = False, compact: bool = False) -> RetentionRun:
        """Archive what may move now, then pack older rows and give freed space back.

        ``compact`` (the command's ``--compact``) packs every row written
        before schema 6, gives every free page back, and converts a store made
        before incremental vacuum (a ``VACUUM``: it holds the store for a while,
        best run with the lane closed). With ``[retention] archive = false``
        nothing is archived (the run says what would be).
        """
        archive = self.store.archive_before(self.cutoff(), dry_run=dry_run or not self.archive)
        if dry_run:
            return RetentionRun(archive=archive)
        packed = 0
        while True:
            done = self.store.pack_old_rows(limit=PACK_PAGE)
            packed += done
            if not done or (not compact and packed >= PACK_PER_PASS):
                break
        pages = self.store.give_space_back(
            pages=ALL_PAGES if compact else VACUUM_PAGES, convert=compact
        )
        return RetentionRun(archive=archive, packed=packed, pages_freed=pages)

    def tidy(self) -> RetentionRun | None:
        """An idle pass's share between daily runs: a page of older rows packed, space back."""
        packed = 0 if self._all_packed else self.store.pack_old_rows(limit=PACK_PAGE)
        self._all_packed = packed == 0
        self.store.give_space_back(pages=VACUUM_PAGES)
        return None

    async def at_idle(self) -> RetentionRun | None:
        """The daily run once per business day, else :meth:`tidy`; in a worker thread.

        Housekeeping: it never raises; returns the daily run's result when it ran.
        """
        today = business_date(self.clock.now())
        daily = self._ran_on != today
        self._ran_on = today
        try:
            result = await asyncio.to_thread(self.run if daily else self.tidy)
        except PosError as exc:
            log.warning("retention did not run: %s", exc.message)
            return None
        if result is not None and result.archive.rows:
            log.info(
                "archived %d rows of %s", result.archive.rows, ", ".join(result.archive.months)
            )
        return result
