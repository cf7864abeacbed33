"""The forwarder: drains the outbox to the ledger, in the background and on demand.

For each outbox item, by its intent (see :data:`pos_client.ports.Intent`):

- ``deliver``: if it may already have reached the ledger (``sent``), ask by id
  first (``GET /v1/redemptions/{id}``) and send again only on ``404``; then
  send what is left with ``POST /v1/redemptions/batch`` (up to 100 at a time,
  each noted as sent *before* the request leaves; one request at a time, in
  order, the next one leaving while the answers to the one before are
  recorded). A final answer takes it out of the outbox (a batch's answers are
  recorded in one transaction); a decline
  or a partial approval of a sale the terminal had approved offline lands in
  the problems list with the amount the shop must collect; ``400``/``409`` go
  to the problems list too (a ``409 idempotency_conflict`` is first looked up
  by id: the ledger's record wins);
- ``abandon``: ask by id; void it if the ledger took it, close it if the
  ledger never got it; it is never sent;
- ``void``: ask the ledger to void it;
- ``hold`` items belong to a sale at the counter and are never touched here.

Failures back off exponentially with full jitter, never sooner than a
``Retry-After``; ``401``/``403`` stop the forwarder until a person fixes the
token. Nothing is ever dropped: an item leaves the outbox only with a final
answer or as a problem for a person. Nor does it loop silently: an item still
undecided after ``stuck_after`` (see :func:`stuck_items`) gets a ``stuck``
problem saying what to do, and shows on the status line and in ``doctor``.

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pos_client.domain.answers import AUTH_STATUSES
from pos_client.domain.redemption import BatchItemResult, RedemptionAnswer
from pos_client.domain.states import RedemptionStatus
from pos_client.errors import (
    ForwarderStopped,
    LedgerRejected,
    LedgerUnavailable,
    StoreError,
    UnknownOutcome,
)
from pos_client.ports import Clock, Intent, Ledger, OutboxItem, Store
from pos_client.services.delivery import Delivery, record_answer

__all__ = [
    "DEFAULT_STUCK_AFTER",
    "STUCK_ADVICE",
    "DrainReport",
    "Forwarder",
    "ForwarderStopped",
    "deliver_one",
    "settle_abandoned",
    "stuck_items",
    "void_one",
]

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
) -> None:
    """Record final answers in one transaction (one commit for a whole batch's answers)."""
    if not answers:
        return
    before = store.problem_count()
    with store.batch():
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


# --------------------------------------------------------------------------- forwarder


class Forwarder:
    """Drains the outbox; :meth:`run` in the background, :meth:`sync` on demand."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        store: Store,
        clock: Clock,
        batch_size: int = BATCH_SIZE,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        idle_interval: float = 30.0,
        abandon_grace: timedelta = DEFAULT_ABANDON_GRACE,
        stuck_after: timedelta = DEFAULT_STUCK_AFTER,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= batch_size <= BATCH_SIZE:
            raise ValueError("batch_size must be 1 to 100")
        self.ledger = ledger
        self.store = store
        self.clock = clock
        self.delivery = Delivery(ledger=ledger, store=store, clock=clock)
        self.batch_size = batch_size
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.idle_interval = idle_interval
        self.abandon_grace = abandon_grace
        self.stuck_after = stuck_after
        self._rng = rng or random.Random()
        self._failures = 0
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.last_report: DrainReport | None = None

    def pending(self) -> list[OutboxItem]:
        """What the forwarder owes the ledger (everything but sales held at the counter)."""
        return self.store.outbox(intents=("deliver", "abandon", "void"))

    def backoff(self, retry_after: float | None) -> float:
        """The pause after the latest failure: exponential, full jitter, at least Retry-After."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** min(self._failures, 20)))
        delay = self._rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after + self._rng.uniform(0, max(1.0, retry_after / 10)))
        return delay

    def wake(self) -> None:
        """Drain now (e.g. after an offline approval or when the network comes back)."""
        self._wake.set()

    async def drain_once(self, report: DrainReport | None = None) -> DrainReport:
        """One pass over the outbox. Stops at the first sign the ledger is unavailable."""
        report = report or DrainReport()
        async with self._lock:
            report.passes += 1
            report.wait = None
            report.retry_after = None
            report.unreachable = False
            try:
                await self._pass(report)
                self._failures = 0
                report.error = None
            except ForwarderStopped as exc:
                report.stopped = True
                report.error = exc.message
                report.errors.append(exc.message)
                self._failures += 1
            except (LedgerUnavailable, UnknownOutcome) as exc:
                report.error = exc.message
                report.errors.append(exc.message)
                report.retry_after = getattr(exc, "retry_after", None)
                report.unreachable = True
                self._failures += 1
            report.remaining = len(self.pending())
            report.stuck = self._tell_stuck()
        self.last_report = report
        return report

    def stuck(self) -> list[OutboxItem]:
        """Outbox items still undecided after :attr:`stuck_after` (see :func:`stuck_items`)."""
        return stuck_items(self.store, self.clock.now(), self.stuck_after)

    def _tell_stuck(self) -> int:
        """File a ``stuck`` problem, once, for each item undecided too long; how many there are."""
        try:
            stuck = self.stuck()
            if not stuck:
                return 0
            told = {p.redemption_id for p in self.store.problems() if p.kind == "stuck"}
            for item in stuck:
                if item.redemption_id not in told:
                    log.warning("sale %s is stuck in the outbox", item.redemption_id)
                    self.delivery.file_problem(
                        item.redemption_id, "stuck", collect_rial=0, detail=STUCK_ADVICE
                    )
        except StoreError:
            log.warning("stuck sales could not be checked", exc_info=True)
            return 0
        return len(stuck)

    async def _pass(self, report: DrainReport) -> None:
        items = self.pending()
        for item in items:
            if item.intent == "abandon":
                await settle_abandoned(
                    self.ledger,
                    self.store,
                    self.clock,
                    item.redemption_id,
                    report,
                    grace=self.abandon_grace,
                )
            elif item.intent == "void":
                await void_one(self.ledger, self.store, self.clock, item.redemption_id, report)
        to_send: list[tuple[str, bytes]] = []
        for item in items:
            if item.intent != "deliver":
                continue
            if item.sent:
                try:
                    answer = await self.ledger.get_redemption(item.redemption_id)
                except LedgerRejected as exc:  # 401/403 (a revoked terminal): stop, keep it
                    if exc.status not in _AUTH_STATUSES:
                        raise
                    raise ForwarderStopped(
                        f"the ledger refuses this terminal ({exc.status} {exc.code})",
                        status=exc.status,
                        code=exc.code,
                        detail=exc.detail,
                    ) from None
                report.resolved += 1
                if answer is not None:
                    _record(self.store, item.redemption_id, answer, self.clock, report)
                    continue
                to_send.append(
                    (item.redemption_id, self.delivery.make_sendable(item.redemption_id))
                )
            else:
                to_send.append((item.redemption_id, item.body))
        batches = [
            to_send[start : start + self.batch_size]
            for start in range(0, len(to_send), self.batch_size)
        ]
        await self._send_batches(batches, report)

    async def _send_batches(self, batches: Sequence[Batch], report: DrainReport) -> None:
        """Send ``batches`` in order, one request at a time, the next one out while answers land.

        Once a batch's answers are in, the next batch is noted as sent and its
        request goes out while those answers are recorded (in a worker thread,
        so the event loop sends meanwhile; the store is thread-safe): the
        ledger works on one batch while the lane records the one before. If
        recording fails, the request already out is waited for and left as
        sent: the next pass asks the ledger by id, as after a crash.
        """
        ahead: Request | None = None
        try:
            for index, batch in enumerate(batches):
                request = ahead[1] if ahead is not None else self._submit(batch)
                ahead = None
                results = await self._results(batch, request, report)
                if results is None:
                    continue  # refused as a whole and sent one by one
                slow_down = any(result.kind == "not_processed" for result in results)
                if index + 1 < len(batches) and not slow_down:
                    following = batches[index + 1]
                    ahead = (following, self._submit(following))
                await self._settle(results, report)
        except asyncio.CancelledError:
            if ahead is not None:  # shutting down: its items stay sent, asked by id next time
                ahead[1].cancel()
                ahead = None
            raise
        finally:
            if ahead is not None:
                await self._leave_as_sent(*ahead)

    def _submit(self, batch: Batch) -> asyncio.Task[list[BatchItemResult]]:
        """Note ``batch`` as sent (before anything leaves), then send it in a task."""
        self.store.mark_sent([i for i, _ in batch], at=self.clock.now())
        return asyncio.ensure_future(self.ledger.submit_batch(batch))

    async def _leave_as_sent(
        self, batch: Batch, request: asyncio.Task[list[BatchItemResult]]
    ) -> None:
        """Wait for a request still out when a pass stopped; its items are asked by id later.

        It is waited for, never cancelled, so no request is cut off half sent.
        Its answers are not recorded here (the pass stopped because something
        failed): its items stay noted as sent, and the next pass asks the
        ledger by id before sending any again.
        """
        try:
            await request
        except LedgerUnavailable:
            for redemption_id, _ in batch:  # it never reached the ledger
                self.store.mark_not_received(redemption_id)
        except Exception:  # its items stay sent: resolved by id next pass
            log.debug("a batch still out when the pass stopped", exc_info=True)

    async def _results(
        self,
        batch: Batch,
        request: asyncio.Task[list[BatchItemResult]],
        report: DrainReport,
    ) -> list[BatchItemResult] | None:
        """The ledger's answer to one batch; None when it refused the batch as a whole."""
        try:
            results = await request
        except LedgerUnavailable:
            for redemption_id, _ in batch:  # it never reached the ledger
                self.store.mark_not_received(redemption_id)
            raise
        except LedgerRejected as exc:
            if exc.status in _AUTH_STATUSES:
                raise ForwarderStopped(
                    f"the ledger refuses this terminal ({exc.status} {exc.code})",
                    status=exc.status,
                    code=exc.code,
                    detail=exc.detail,
                ) from None
            # The batch as a whole was refused: send them one by one.
            for redemption_id, _ in batch:
                await deliver_one(self.ledger, self.store, self.clock, redemption_id, report)
                report.sent += 1
            return None
        report.sent += len(batch)
        return results

    async def _settle(self, results: Sequence[BatchItemResult], report: DrainReport) -> None:
        """Record one batch's answers (one transaction), then what was refused or not processed."""
        answers = [
            (result.id, result.answer)
            for result in results
            if result.kind == "answer" and result.answer is not None
        ]
        await asyncio.to_thread(_record_all, self.store, answers, self.clock, report)
        not_processed = False
        for result in results:
            item_id = result.id
            if result.kind == "answer":
                continue  # recorded above, all in one transaction
            if result.kind == "rejected" and result.problem is not None:
                problem = result.problem
                settled = await _handle_rejection(
                    self.ledger,
                    self.store,
                    self.clock,
                    item_id,
                    problem.status,
                    problem.code,
                    problem.detail,
                    report,
                )
                not_processed = not_processed or not settled
            elif result.kind == "not_processed":
                self.store.mark_not_received(item_id)
                not_processed = True
            # unknown: stays "sent"; the next pass asks by id.
        if not_processed:
            raise LedgerUnavailable("the ledger asked to slow down")

    async def sync(self, *, until_empty: bool = False, timeout: float | None = None) -> DrainReport:
        """Drain on demand: one pass, or passes with backoff until empty (or ``timeout``)."""
        report = DrainReport()
        deadline = None if timeout is None else self.clock.monotonic() + timeout
        while True:
            await self.drain_once(report)
            if report.remaining == 0 or not until_empty:
                return report
            if report.stopped:
                return report
            pause = self.backoff(report.retry_after) if report.error else (report.wait or 0.0)
            if deadline is not None:
                left = deadline - self.clock.monotonic()
                if left <= 0:
                    return report
                pause = min(pause, left)
            await self.clock.sleep(pause)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain in the background until ``stop`` is set; :meth:`wake` drains at once."""
        while not stop.is_set():
            report = await self.drain_once()
            if report.error:
                pause = self.backoff(report.retry_after)
            elif report.remaining == 0:
                pause = self.idle_interval
                self.store.checkpoint()  # idle: the WAL goes into the file off any sale's commit
            else:
                pause = report.wait if report.wait is not None else 0.0
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(waiters, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
