"""The lane's records as the screen and the command line read and change them.

The outbox (what the ledger is still owed), the journal (every redemption),
the problems list (sales a person must look at, and what to collect), the
catalog held and the shop's price list. The screen and the commands ask :class:`Records`; they never
reach into the store themselves, so that what they may read and change is
named here, and a test can fake it with a few methods.

Imports the standard library, the domain, the ports, the project's errors and
:mod:`pos_client.services.prices`; never an adapter, textual or httpx.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from pos_client.domain.models import Product
from pos_client.ports import Clock, Intent, JournalEntry, OutboxItem, ProblemRecord
from pos_client.services.prices import PriceRow, check_price_rows

__all__ = ["OutboxSummary", "ProblemSale", "Records", "RecordsStore"]


class RecordsStore(Protocol):
    """What :class:`Records` needs of the lane's store."""

    def journal(
        self, *, since: date | None = None, until: date | None = None
    ) -> Iterator[JournalEntry]: ...

    def journal_between(
        self, first: date | None = None, last: date | None = None
    ) -> Iterator[JournalEntry]: ...

    def redemption(self, redemption_id: str) -> JournalEntry | None: ...

    def outbox(self, *, intents: Iterable[Intent] | None = None) -> list[OutboxItem]: ...

    def outbox_stats(self) -> dict[str, Any]: ...

    def unseen(self) -> list[JournalEntry]: ...

    def problems(self, *, include_resolved: bool = False) -> list[ProblemRecord]: ...

    def resolve_problem(self, seq: int, *, at: datetime) -> bool: ...

    def import_prices(
        self, rows: Iterable[tuple[str, int, str | None]], *, at: datetime
    ) -> int: ...

    def product(self, gtin: str) -> Product | None: ...

    def catalog_state(self) -> tuple[str | None, str | None, int]: ...


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """The outbox counted: what waits, by intent, and what a person must look at.

    ``by_intent``: intent → ``{"count", "covered_rial"}``; ``last_contact``: when
    the ledger last answered (ISO text), or None.
    """

    count: int
    by_intent: dict[str, dict[str, int]]
    outstanding_offline_rial: int
    last_contact: str | None
    problems: int
    interrupted: int
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """As ``pos-client queue stats --json`` prints it (the store's counts and ours)."""
        return {**self.details, "problems": self.problems, "interrupted": self.interrupted}


@dataclass(frozen=True, slots=True)
class ProblemSale:
    """A problem with the sale it is about (None when the journal no longer has it)."""

    problem: ProblemRecord
    sale: JournalEntry | None


class Records:
    """The outbox, the journal, the problems and the prices of one lane."""

    def __init__(self, *, store: RecordsStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # ------------------------------------------------------------------ outbox

    def outbox(self, *, intents: Iterable[Intent] | None = None) -> list[OutboxItem]:
        """What the outbox holds (``intents``: only those), oldest first."""
        return self._store.outbox(intents=intents)

    def held_at_counter(self) -> int:
        """How many interrupted sales wait for a person to finish or void them."""
        return len(self._store.outbox(intents=("hold",)))

    def outbox_summary(self) -> OutboxSummary:
        stats = self._store.outbox_stats()
        return OutboxSummary(
            count=int(stats["count"]),
            by_intent=dict(stats["by_intent"]),
            outstanding_offline_rial=int(stats["outstanding_offline_rial"]),
            last_contact=stats.get("last_contact"),
            problems=len(self._store.problems()),
            interrupted=len(self._store.unseen()),
            details=stats,
        )

    # ------------------------------------------------------------------ journal

    def journal(
        self, *, since: date | None = None, until: date | None = None
    ) -> Iterator[JournalEntry]:
        """Every redemption in the order written, read in pages as it is consumed.

        ``since``/``until``: only those of these business dates (inclusive, either
        may be left open). The one row source of every export: those moved to the
        monthly archives merged with the live store's by seq, as if never moved,
        so an export never holds more than a page.
        """
        return self._store.journal_between(since, until)

    # ------------------------------------------------------------------ problems

    def problems(self, *, include_resolved: bool = False) -> list[ProblemRecord]:
        return self._store.problems(include_resolved=include_resolved)

    def open_problems(self) -> list[ProblemSale]:
        """The open problems, each with its sale (for the problems screen)."""
        return [ProblemSale(p, self._store.redemption(p.redemption_id)) for p in self.problems()]

    def resolve_problem(self, seq: int) -> bool:
        """Mark problem ``seq`` handled (now); False when there is no such open problem."""
        return self._store.resolve_problem(seq, at=self._clock.now())

    # ------------------------------------------------------------------ catalog and prices

    def product(self, gtin: str) -> Product | None:
        """The catalog's product ``gtin`` (None when the catalog does not hold it)."""
        return self._store.product(gtin)

    def catalog_size(self) -> int:
        """How many products the lane's catalog holds (0: none was fetched yet)."""
        return self._store.catalog_state()[2]

    def import_prices(self, rows: Iterable[PriceRow]) -> int:
        """Upsert the shop's prices in one transaction; how many rows were imported.

        All or nothing: rows that price a GTIN twice or give one scale item to
        two products raise :class:`~pos_client.errors.PriceListError` before
        anything is written (see :func:`~pos_client.services.prices.check_price_rows`).
        """
        return self._store.import_prices(check_price_rows(rows), at=self._clock.now())
