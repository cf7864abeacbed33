"""The small interfaces the services need (ledger, store, devices, clock) and the values they pass.

The services (checkout, forwarder, refresh) are written against these
Protocols; :mod:`pos_client.adapters` implements them (httpx, SQLite), the
drivers implement the devices (printer, scanners, scale), and unit tests pass
fakes. Nothing here does
I/O. Imports the standard library and the domain only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import BinaryIO, Literal, Protocol

from pos_client.domain.lane_state import LaneState
from pos_client.domain.models import Product, Wallet
from pos_client.domain.receipt import Receipt
from pos_client.domain.redemption import (
    BatchItemResult,
    Identity,
    OtpChallenge,
    RedemptionAnswer,
    Settlement,
    VoidAnswer,
)
from pos_client.domain.states import RedemptionStatus

__all__ = [
    "ArchiveRun",
    "ArchiveStore",
    "CatalogDownload",
    "CatalogStore",
    "Clock",
    "Intent",
    "JournalEntry",
    "JournalStore",
    "LaneFigures",
    "Ledger",
    "MetaStore",
    "NewRedemption",
    "NoTelemetry",
    "OutboxItem",
    "Printer",
    "ProblemRecord",
    "ProblemStore",
    "Scale",
    "Scanners",
    "SignedDocument",
    "Store",
    "SystemClock",
    "Telemetry",
    "TelemetryStatus",
]

Intent = Literal["hold", "deliver", "abandon", "void"]
"""What the outbox owes the ledger for a redemption:

- ``hold``: a sale in progress at the counter; only the checkout (or the
  recovery after a crash) may send or resolve it, never the forwarder;
- ``deliver``: it must reach the ledger (an offline approval, or a sale the
  cashier finished): resolve by id if it may have been sent, else send;
- ``abandon``: the sale did not go ahead: resolve by id, void it if the
  ledger committed it, and never send it;
- ``void``: the cashier voided it: ask the ledger to void it.
"""


# --------------------------------------------------------------------------- clock


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass(frozen=True, slots=True)
class SignedDocument:
    """A signed document's exact bytes, its ``X-Signature`` and its ``ETag``."""

    body: bytes
    signature: str | None
    etag: str | None


@dataclass(frozen=True, slots=True)
class CatalogDownload:
    """A catalog written to a sink: how many bytes, its signature and its ETag."""

    size: int
    signature: str | None
    etag: str | None


# --------------------------------------------------------------------------- ledger


class Ledger(Protocol):
    """The central ledger as the services see it (see ``ledger-api.md``)."""

    async def inquire_wallet(self, identity: Identity) -> Wallet: ...

    async def request_otp(self, national_id: str) -> OtpChallenge: ...

    async def submit_redemption(self, redemption_id: str, body: bytes) -> RedemptionAnswer: ...

    async def get_redemption(self, redemption_id: str) -> RedemptionAnswer | None: ...

    async def submit_batch(self, items: Sequence[tuple[str, bytes]]) -> list[BatchItemResult]: ...

    async def void_redemption(self, redemption_id: str) -> VoidAnswer: ...

    async def settlement(self, business_date: date) -> Settlement: ...

    async def get_rules(self, *, etag: str | None = None) -> SignedDocument | None: ...

    async def get_terminal_config(self, *, etag: str | None = None) -> SignedDocument | None: ...

    async def download_catalog(
        self,
        sink: BinaryIO,
        *,
        since: str | None = None,
        etag: str | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> CatalogDownload | None: ...


# --------------------------------------------------------------------------- store values


@dataclass(frozen=True, slots=True)
class NewRedemption:
    """A redemption about to be written (journal and outbox together, before it is sent)."""

    id: str
    created_at: datetime
    business_date: date
    identity_kind: str
    mode: str
    body: bytes = field(repr=False)
    basket: str  # JSON: the whole basket and the plan, for receipts and problems
    total_rial: int
    covered_rial: int
    payable_rial: int
    intent: Intent = "hold"
    nid_hash: str | None = None
    nid_masked: str | None = None
    beneficiary_ref: str | None = None
    display_name: str | None = None
    token_jti: str | None = None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One redemption as the electronic journal keeps it."""

    seq: int
    id: str
    created_at: datetime
    business_date: date
    identity_kind: str
    mode: str
    offline: bool  # the sale went ahead on the terminal's own approval
    body: bytes = field(repr=False)
    basket: str = field(repr=False)
    total_rial: int = 0
    covered_rial: int = 0
    payable_rial: int = 0
    status: RedemptionStatus = RedemptionStatus.PENDING
    reason: str | None = None
    answer: bytes | None = field(default=None, repr=False)
    ledger_covered_rial: int | None = None
    declined_rial: int | None = None
    receipt_code: str | None = None
    seen: bool = False
    nid_hash: str | None = field(default=None, repr=False)
    nid_masked: str | None = None
    beneficiary_ref: str | None = None
    display_name: str | None = None
    token_jti: str | None = None
    updated_at: datetime | None = None
    intent: Intent | None = None  # None: not in the outbox


@dataclass(frozen=True, slots=True)
class OutboxItem:
    redemption_id: str
    intent: Intent
    status: RedemptionStatus
    body: bytes = field(repr=False)
    attempts: int
    sent: bool  # may have reached the ledger: resolve by id before sending again
    enqueued_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    offline: bool
    covered_rial: int


@dataclass(frozen=True, slots=True)
class ProblemRecord:
    """Something a person must look at (a decline after an offline approval, a refusal...)."""

    seq: int
    redemption_id: str
    kind: str
    created_at: datetime
    collect_rial: int  # what the shop must collect from the household
    detail: str
    resolved_at: datetime | None = None


# --------------------------------------------------------------------------- store


class JournalStore(Protocol):
    """The journal and the outbox: what the checkout, the forwarder and recovery write and read."""

    def record_new_redemption(self, new: NewRedemption, *, at: datetime) -> None: ...

    def redemption(self, redemption_id: str) -> JournalEntry | None: ...

    def journal(
        self, *, since: date | None = None, until: date | None = None
    ) -> Iterator[JournalEntry]: ...

    def outbox(self, *, intents: Iterable[Intent] | None = None) -> list[OutboxItem]: ...

    def set_status(
        self,
        redemption_id: str,
        status: RedemptionStatus,
        *,
        at: datetime,
        note: str = "",
        reason: str | None = None,
        answer: RedemptionAnswer | None = None,
        leave_outbox: bool = False,
        intent: Intent | None = None,
        problem: tuple[str, int, str] | None = None,
        release_token: bool = False,
    ) -> JournalEntry: ...

    def approve_offline(
        self,
        redemption_id: str,
        *,
        at: datetime,
        body: bytes | None,
        nid_hash: str | None,
        by_program: Mapping[str, int],
        business_date: date,
        note: str = "",
    ) -> JournalEntry: ...

    def set_intent(
        self, redemption_id: str, intent: Intent, *, at: datetime, note: str
    ) -> None: ...

    def mark_sent(self, redemption_ids: Sequence[str], *, at: datetime) -> None: ...

    def schedule_retry(
        self, redemption_ids: Sequence[str], *, next_attempt_at: datetime | None, error: str
    ) -> None: ...

    def mark_not_received(self, redemption_id: str) -> None: ...

    def replace_body(self, redemption_id: str, body: bytes, *, mode: str, at: datetime) -> None: ...

    def last_sale(self) -> JournalEntry | None: ...

    def mark_seen(self, redemption_id: str) -> None: ...

    def unseen(self) -> list[JournalEntry]: ...

    def batch(self) -> AbstractContextManager[None]: ...

    def checkpoint(self) -> bool: ...

    def offline_totals(self, *, business_date: date, nid_hash: str) -> Mapping[str, int]: ...

    def outstanding_offline_rial(self) -> int: ...

    def token_used(self, jti: str) -> bool: ...


class ProblemStore(Protocol):
    """The problems list: what a person must look at."""

    def problems(self, *, include_resolved: bool = False) -> list[ProblemRecord]: ...

    def problem_count(self) -> int: ...

    def z_report(
        self, terminal_id: str, *, number: int | None = None, business_date: date | None = None
    ) -> object | None: ...

    def add_problem(
        self, redemption_id: str, kind: str, *, at: datetime, collect_rial: int, detail: str
    ) -> None: ...


class CatalogStore(Protocol):
    """Approved products, the shop's prices and its scale items."""

    def product(self, gtin: str) -> Product | None: ...

    def price(self, gtin: str) -> int | None: ...

    def scale_item(self, lookup_key: str) -> str | None: ...


class MetaStore(Protocol):
    """The lane's small keepings: contact time, cached wallets, meta values, household keys."""

    def last_contact(self) -> datetime | None: ...

    def record_contact(self, at: datetime) -> None: ...

    def household_key(self, national_id: str) -> str | None:
        """The lane's keyed hash of a household (never the ID, never its bare hash)."""
        ...

    def cache_wallet(self, nid_hash: str, wallet_json: str, *, at: datetime) -> None: ...

    def cached_wallet(self, nid_hash: str) -> tuple[str, datetime] | None: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ArchiveRun:
    """What a retention run moved (or, ``dry_run``, would move) to the monthly archives.

    ``months``: each month (``YYYY-MM``) with its rows moved; ``kept_live``:
    rows older than ``cutoff`` that stay in the store (owed, open, unreconciled).
    """

    cutoff: date
    months: Mapping[str, int]
    kept_live: int
    dry_run: bool

    @property
    def rows(self) -> int:
        return sum(self.months.values())


class ArchiveStore(Protocol):
    """Old journal rows in monthly archives beside the store (see ``adapters/sqlite/archive``)."""

    def archive_before(self, cutoff: date, *, dry_run: bool = False) -> ArchiveRun: ...

    def journal_between(
        self, first: date | None = None, last: date | None = None
    ) -> Iterator[JournalEntry]: ...

    def pack_old_rows(self, *, limit: int = 500) -> int: ...

    def give_space_back(self, *, pages: int = 1000, convert: bool = False) -> int: ...


class Store(JournalStore, ProblemStore, CatalogStore, MetaStore, Protocol):
    """The lane's durable store, whole (see :class:`pos_client.adapters.sqlite.SqliteStore`).

    A caller that needs only a part asks for that part (:class:`JournalStore`,
    :class:`ProblemStore`, :class:`CatalogStore`, :class:`MetaStore`), which a
    test can fake in a few lines.
    """


# --------------------------------------------------------------------------- printer


class Printer(Protocol):
    """A receipt printer (``drivers.printer``), printing the domain's receipt value."""

    def print_receipt(self, receipt: Receipt) -> None: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- scanners and scale


class Scanners(Protocol):
    """A lane's scanners, started and stopped together (``drivers.scanner.ScannerGroup``).

    Opened by the composition root (:meth:`pos_client.compose.Lane.open_scanners`)
    with the callbacks the screen gives; those run on the scanners' reader
    threads and must only hand the scan over.
    """

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def status(self) -> StrEnum: ...


class Scale(Protocol):
    """A weighing scale (``drivers.scale``), opened by the composition root."""

    def read_weight(self, *, timeout: float = 3.0) -> int: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- telemetry


@dataclass(frozen=True, slots=True)
class TelemetryStatus:
    """What the lane's telemetry link is doing now (for the doctor and the logs).

    ``problem`` is a code when it cannot publish: ``not_authorised`` (the broker
    refused the user name or password, or the topic), ``unreachable`` (no
    answer, or the connection dropped), ``tls`` (the broker's certificate was
    not trusted); None while it publishes, or before its first try."""

    configured: bool
    connected: bool = False
    session: int = 0
    problem: str | None = None
    detail: str = ""
    published: int = 0


@dataclass(frozen=True, slots=True)
class LaneFigures:
    """What the store tells the lane's telemetry, read in one short pass."""

    queue_count: int
    queue_rial: int
    oldest_queued_at: datetime | None
    sales_today: int
    problems: int
    last_contact: datetime | None
    catalog_version: str | None


class Telemetry(Protocol):
    """Where the lane's state goes (``fleet-api.md``, "Lane telemetry").

    Fire-and-forget: :meth:`publish` hands the latest state over and returns at
    once; it never blocks, never raises and keeps only the latest state (an
    unsent older one is replaced). The adapter stamps the connection's
    ``session`` and the time it sends. The default adapter (:class:`NoTelemetry`)
    does nothing: a lane with no broker sells exactly as before."""

    def start(self) -> None: ...

    def publish(self, state: LaneState) -> None: ...

    def stop(self, *, timeout: float = 2.0) -> None: ...

    def status(self) -> TelemetryStatus: ...


class NoTelemetry:
    """No broker configured: nothing is published, nothing is started."""

    def start(self) -> None:
        return None

    def publish(self, state: LaneState) -> None:
        return None

    def stop(self, *, timeout: float = 2.0) -> None:
        return None

    def status(self) -> TelemetryStatus:
        return TelemetryStatus(configured=False)
