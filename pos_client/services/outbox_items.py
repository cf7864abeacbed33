"""The outbox's items one at a time, and the report of a drain (used by the forwarder).

Resolve-or-send one ``deliver`` item, void one, settle an abandoned sale, tell
which items are stuck; :class:`DrainReport` counts what a pass did. Split from
:mod:`pos_client.services.forwarder`, which re-exports these names.

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pos_client.domain.answers import AUTH_STATUSES
from pos_client.domain.errors import ContractError
from pos_client.domain.redemption import BatchItemResult, RedemptionAnswer, body_mode
from pos_client.domain.states import RedemptionStatus
from pos_client.errors import ForwarderStopped, LedgerRejected, LedgerUnavailable
from pos_client.ports import Clock, Intent, Ledger, OutboxItem, Store
from pos_client.services.delivery import Delivery, record_answer

log = logging.getLogger(__name__)

BATCH_SIZE = 100
#: One batch: (redemption id, body) pairs; and a batch with its request on its way.
Batch = Sequence[tuple[str, bytes]]
Request = tuple[Batch, "asyncio.Task[list[BatchItemResult]]"]
#: How long after its last change an abandoned sale's 404 is believed (see settle_abandoned).
DEFAULT_ABANDON_GRACE = timedelta(seconds=30)
_AUTH_STATUSES = AUTH_STATUSES
#: How long an outbox item may stay undecided before a person is told
#: (``[offline] stuck_after_hours``).
DEFAULT_STUCK_AFTER = timedelta(hours=6)
#: What the ``stuck`` problem tells a person to do.
STUCK_ADVICE = (
    "this sale has not reached a final answer from the ledger for hours: check the lane's"
    " network and the ledger's address and token (`pos-client doctor`), then `pos-client sync`;"
    " if it stays, call support with the sale's id; never redo the sale"
)


@dataclass(slots=True)
class DrainReport:
    """What one or more passes did."""

    sent: int = 0
    resolved: int = 0
    approved: int = 0
    partially_approved: int = 0
    declined: int = 0
    voided: int = 0
    closed: int = 0  # abandoned sales the ledger never got
    problems: int = 0
    remaining: int = 0
    error: str | None = None
    retry_after: float | None = None
    wait: float | None = None  # an abandoned sale waits this long before a 404 is believed
    stopped: bool = False  # the ledger refuses this terminal (401/403): a person must act
    unreachable: bool = False  # the last pass stopped because the ledger could not be reached
    stuck: int = 0  # items undecided for longer than the forwarder's limit
    passes: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, status: str) -> None:
        if status == "approved":
            self.approved += 1
        elif status == "partially_approved":
            self.partially_approved += 1
        elif status == "declined":
            self.declined += 1

    def to_json(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "resolved": self.resolved,
            "approved": self.approved,
            "partially_approved": self.partially_approved,
            "declined": self.declined,
            "voided": self.voided,
            "closed": self.closed,
            "problems": self.problems,
            "remaining": self.remaining,
            "stuck": self.stuck,
            "passes": self.passes,
            "error": self.error,
        }


# --------------------------------------------------------------------------- one item


def _record(
    store: Store, redemption_id: str, answer: RedemptionAnswer, clock: Clock, report: DrainReport
) -> None:
    _record_all(store, [(redemption_id, answer)], clock, report)


def _record_all(
    store: Store,
    answers: Sequence[tuple[str, RedemptionAnswer]],
    clock: Clock,
    report: DrainReport,
    note_sent: Sequence[str] = (),
) -> None:
    """Record final answers in one transaction (one commit for a whole batch's answers), and
    note ``note_sent`` as sent in it (the batch after next: its write-ahead, in the same commit)."""
    if not answers and not note_sent:
        return
    before = store.problem_count()
    with store.batch():
        if note_sent:
            store.mark_sent(note_sent, at=clock.now())
        for redemption_id, answer in answers:
            record_answer(store, redemption_id, answer, at=clock.now(), note="forwarded")
    for _, answer in answers:
        report.count(answer.status)
    report.problems += store.problem_count() - before


def _delivery(ledger: Ledger, store: Store, clock: Clock) -> Delivery:
    return Delivery(ledger=ledger, store=store, clock=clock)


async def deliver_one(
    ledger: Ledger,
    store: Store,
    clock: Clock,
    redemption_id: str,
    report: DrainReport | None = None,
) -> None:
    """Resolve-or-send one ``deliver`` item now (used before voiding an offline sale)."""
    report = report or DrainReport()
    delivery = _delivery(ledger, store, clock)
    entry = store.redemption(redemption_id)
    assert entry is not None
    item = next((i for i in store.outbox() if i.redemption_id == redemption_id), None)
    if item is None:
        return
    body = item.body
    if item.sent:
        answer = await ledger.get_redemption(redemption_id)
        if answer is not None:
            _record(store, redemption_id, answer, clock, report)
            return
        body = delivery.make_sendable(redemption_id)
    store.mark_sent([redemption_id], at=clock.now())
    try:
        answer = await delivery.submit(redemption_id, body)
    except LedgerUnavailable:
        store.mark_not_received(redemption_id)
        raise
    except LedgerRejected as exc:
        await _handle_rejection(
            ledger, store, clock, redemption_id, exc.status, exc.code, exc.detail, report
        )
        return
    _record(store, redemption_id, answer, clock, report)


async def _handle_rejection(
    ledger: Ledger,
    store: Store,
    clock: Clock,
    item_id: str,
    status: int,
    code: str,
    detail: str,
    report: DrainReport,
) -> bool:
    """A problem document for a delivered item, as the one rule decides; False: send it later.

    It goes to a person, never silently dropped (see :mod:`pos_client.domain.answers`).
    """
    decision = await _delivery(ledger, store, clock).reject(
        item_id, status, code, detail, at_counter=False
    )
    if decision.stop:
        raise ForwarderStopped(
            f"the ledger refuses this terminal ({status} {code})",
            status=status,
            code=code,
            detail=detail,
        )
    if decision.retry:
        store.mark_not_received(item_id)
        return False
    if decision.told is not None:
        report.count(decision.told.value)
    if decision.problem is not None:
        report.problems += 1
    return True


async def void_one(
    ledger: Ledger,
    store: Store,
    clock: Clock,
    redemption_id: str,
    report: DrainReport | None = None,
) -> None:
    """Ask the ledger to void a redemption it approved (a ``void`` item)."""
    report = report or DrainReport()
    try:
        refused = await _delivery(ledger, store, clock).void(redemption_id, at_counter=False)
    except LedgerRejected as exc:  # 401/403: the ledger refuses this terminal
        raise ForwarderStopped(
            f"the ledger refuses this terminal ({exc.status} {exc.code})",
            status=exc.status,
            code=exc.code,
            detail=exc.detail,
        ) from None
    if refused is not None:
        report.problems += 1
    else:
        report.voided += 1


async def settle_abandoned(
    ledger: Ledger,
    store: Store,
    clock: Clock,
    redemption_id: str,
    report: DrainReport | None = None,
    *,
    grace: timedelta = DEFAULT_ABANDON_GRACE,
) -> bool:
    """Close a sale that did not go ahead: void it if the ledger took it; never send it.

    A ``404`` closes it only once ``grace`` has passed since it was last
    touched: a request still on its way (sent just before a crash) could
    otherwise land after the lookup. Returns whether it was settled now.
    """
    report = report or DrainReport()
    entry = store.redemption(redemption_id)
    assert entry is not None
    if entry.status in (RedemptionStatus.APPROVED, RedemptionStatus.PARTIALLY_APPROVED):
        store.set_intent(redemption_id, "void", at=clock.now(), note="void the abandoned sale")
        await void_one(ledger, store, clock, redemption_id, report)
        return True
    answer = await ledger.get_redemption(redemption_id)
    report.resolved += 1
    if answer is None:
        touched = entry.updated_at or entry.created_at
        wait = (touched + grace - clock.now()).total_seconds()
        if wait > 0:
            report.wait = wait if report.wait is None else min(report.wait, wait)
            return False
        store.set_status(
            redemption_id,
            RedemptionStatus.DECLINED,
            at=clock.now(),
            reason="not_sent",
            note="the sale did not go ahead and the ledger never got it",
            leave_outbox=True,
            release_token=True,
        )
        report.closed += 1
        return True
    status = RedemptionStatus(answer.status)
    if not answer.goes_ahead:
        store.set_status(
            redemption_id,
            status,
            at=clock.now(),
            answer=answer,
            note="resolved: declined",
            leave_outbox=True,
        )
        report.declined += 1
        return True
    store.set_status(
        redemption_id,
        status,
        at=clock.now(),
        answer=answer,
        intent="void",
        note="the ledger took a sale that did not go ahead: voiding it",
    )
    await void_one(ledger, store, clock, redemption_id, report)
    return True


def must_ask_first(item: OutboxItem) -> bool:
    """Whether a ``deliver`` item that may have reached the ledger is asked by id first.

    Most are not: they are settled by sending the same stored body again, byte
    for byte under the same id, in the next batch (``ledger-api.md``: each
    item of a batch "is idempotent by its own id, exactly as if sent alone").
    The ledger answers its stored result if it had recorded the item and takes
    it as new if it had not, which is what a lookup by id followed by a send
    would have done, in one request per batch instead of one per item:
    resolved by id, never guessed. Asked first (``GET /v1/redemptions/{id}``):
    an item whose stored body is missing or unreadable, and a sale approved
    offline whose stored body is still the online attempt made at the counter
    (if the ledger never got that, the sale must go as offline instead, see
    :meth:`~pos_client.services.delivery.Delivery.make_sendable`).
    """
    if not item.body:
        return True
    try:
        mode = body_mode(item.body)
    except ContractError:
        return True
    return item.status is RedemptionStatus.APPROVED_OFFLINE and mode == "online"


#: The outbox items the lane owes the ledger (sales held at the counter are not owed yet).
OWED_INTENTS: tuple[Intent, ...] = ("deliver", "abandon", "void")


def is_stuck(enqueued_at: datetime, now: datetime, limit: timedelta) -> bool:
    """Whether an owed item enqueued at ``enqueued_at`` has waited past ``limit`` by ``now``."""
    return now - enqueued_at >= limit


def stuck_items(store: Store, now: datetime, limit: timedelta) -> list[OutboxItem]:
    """Outbox items the forwarder owes the ledger and has not settled within ``limit``.

    Sent and never resolved (lookups keep failing, answers it cannot read), or
    never accepted: whatever the cause, a person must know (``problems``,
    ``doctor``, the status line). Sales held at the counter are not counted.
    """
    return [
        item
        for item in store.outbox(intents=OWED_INTENTS)
        if is_stuck(item.enqueued_at, now, limit)
    ]
