"""The forwarder: drains the outbox to the ledger, in the background and on demand.

For each outbox item, by its intent (see :data:`pos_client.ports.Intent`):

- ``deliver``: if it may already have reached the ledger (``sent``: its batch
  was answered ``503``, or not at all), send the same stored
  body again, byte for byte under the same id, in the next batch: each item is
  idempotent by its id, so the ledger answers its stored result if it had
  recorded it (resolved by id, never guessed, in one request per batch rather
  than one lookup per item, which would spend the terminal's request budget
  on a ledger that is shedding load). Asked by id first
  (``GET /v1/redemptions/{id}``, sent again only on ``404``) only where the
  stored body is not the one to send (see :func:`must_ask_first`: a body
  missing, or a sale approved offline still holding its online attempt). It
  all goes with ``POST /v1/redemptions/batch`` (up to 100 at a time,
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

Pacing follows :mod:`pos_client.domain.pacing`: after any failure to reach the
ledger the next request is ``GET /v1/health``, never a batch; a healthy answer
is followed by a wait of ``uniform(0, drain_window_s)`` (in the background run),
then the drain; a ``429``/``503`` with ``Retry-After`` (of the whole request, or of a
batch item: its ``headers`` member, the longest of a batch's) is waited out, plus 0-10 %;
retries draw on a retry budget, and a lane that only fails falls back to health
probes at a capped backoff. How it stands (probe first, a ``Retry-After``
still running, the budget) is kept in the store for the next process
(:mod:`pos_client.services.pacing_state`), so a fresh ``queue sync`` after a
failed one probes first. ``401``/``403`` stop the forwarder until a person
fixes the token. :meth:`Forwarder.push` (``queue push --now``) probes at once
and drains right after a healthy answer. Nothing is ever dropped: an item
leaves the outbox only with a final answer or as a problem for a person. Nor
does it loop silently: an item still undecided after ``stuck_after`` (see
:func:`stuck_items`) gets a ``stuck`` problem saying what to do, and shows on
the status line and in ``doctor``.

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pos_client.domain.pacing import Action, PacingPolicy, PacingSettings, Step
from pos_client.domain.redemption import BatchItemResult
from pos_client.errors import (
    ForwarderStopped,
    LedgerRejected,
    LedgerUnavailable,
    StoreError,
    UnknownOutcome,
)
from pos_client.ports import Clock, Ledger, OutboxItem, Store
from pos_client.services.delivery import Delivery
from pos_client.services.outbox_items import (
    _AUTH_STATUSES,
    BATCH_SIZE,
    DEFAULT_ABANDON_GRACE,
    DEFAULT_STUCK_AFTER,
    OWED_INTENTS,
    STUCK_ADVICE,
    Batch,
    DrainReport,
    Request,
    _handle_rejection,
    _record,
    _record_all,
    deliver_one,
    is_stuck,
    must_ask_first,
    settle_abandoned,
    stuck_items,
    void_one,
)
from pos_client.services.pacing_state import PacingState, load_pacing, retry_until, save_pacing

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_ABANDON_GRACE",
    "DEFAULT_STUCK_AFTER",
    "OWED_INTENTS",
    "STUCK_ADVICE",
    "DrainReport",
    "Forwarder",
    "ForwarderStopped",
    "deliver_one",
    "is_stuck",
    "settle_abandoned",
    "stuck_items",
    "void_one",
]

log = logging.getLogger(__name__)

#: The probes' backoff stops at this many times the first pause.
PROBE_CAP_FACTOR = 6.0

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
        idle_interval: float = 30.0,
        abandon_grace: timedelta = DEFAULT_ABANDON_GRACE,
        stuck_after: timedelta = DEFAULT_STUCK_AFTER,
        rng: random.Random | None = None,
        pacing: PacingSettings | None = None,
    ) -> None:
        if not 1 <= batch_size <= BATCH_SIZE:
            raise ValueError("batch_size must be 1 to 100")
        self.ledger = ledger
        self.store = store
        self.clock = clock
        self.delivery = Delivery(ledger=ledger, store=store, clock=clock)
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.abandon_grace = abandon_grace
        self.stuck_after = stuck_after
        self._rng = rng or random.Random()
        self.pacing = PacingPolicy(rng=self._rng, settings=pacing or PacingSettings())
        self.base_delay = base_delay
        self.step = Step(Action.DRAIN, 0.0)  # what the policy said to do next
        self._urgent = False
        self._not_before = float("-inf")  # no request before this (monotonic): a Retry-After
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        #: Housekeeping run after each idle checkpoint (each never raises).
        self.idle_work: list[Callable[[], Awaitable[object]]] = []
        self.last_report: DrainReport | None = None
        self._failed_at: datetime | None = None  # the last failure (kept for the next process)
        self._retry_until: datetime | None = None  # the end of a Retry-After (wall clock)
        self._kept: PacingState | None = None
        self._restore_pacing()
        #: Items of this pass that may have reached the ledger, sent again by their stored body.
        self._resending: set[str] = set()

    @property
    def base_delay(self) -> float:
        """The first pause after a failure; the probes' cap is six times it (at most 6 s)."""
        return self._base_delay

    @base_delay.setter
    def base_delay(self, value: float) -> None:
        self._base_delay = value
        settings = self.pacing.settings
        cap = max(value, min(PacingSettings().probe_cap, value * PROBE_CAP_FACTOR))
        self.pacing.settings = replace(settings, probe_base=value, probe_cap=cap)

    def _restore_pacing(self) -> None:
        """Take over how the last process ended (see :mod:`pos_client.services.pacing_state`):
        after a failure to reach the ledger, the first request is a probe; a ``Retry-After``
        still running is waited out."""
        state = load_pacing(self.store)
        if state is None:  # nothing kept: a lane that never failed (nothing to write yet)
            self._kept = PacingState()
            return
        state.apply(self.pacing)
        self._failed_at = state.failed_at
        left = state.retry_left(self.clock.now())
        if left > 0:
            self._retry_until = state.retry_until
            self._not_before = self.clock.monotonic() + left
        self._kept = state

    def _keep_pacing(self) -> None:
        """Keep the pacing state for the next process, when it changed.

        A ``Retry-After`` is kept only when the next request is the backlog
        again; when it is a health probe (never limited, and what ``queue push
        --now`` makes at once) the next process probes first instead.
        """
        now = self.clock.now()
        until = self._retry_until if self._retry_until and self._retry_until > now else None
        if self.pacing.must_probe:
            until = None
        state = PacingState.of(self.pacing, failed_at=self._failed_at, retry_until=until)
        if state != self._kept and save_pacing(self.store, state):
            self._kept = state

    def pending(self) -> list[OutboxItem]:
        """What the forwarder owes the ledger (everything but sales held at the counter)."""
        return self.store.outbox(intents=("deliver", "abandon", "void"))

    def wake(self, *, unreached: bool = False) -> None:
        """Drain now (e.g. after an offline approval or when the network comes back).

        ``unreached``: the lane has just failed to reach the ledger elsewhere (a
        sale approved offline), so the next request is a health probe.
        """
        if unreached:
            self.pacing.suspect()
            self._keep_pacing()
        self._wake.set()

    def push(self) -> None:
        """A person says the network is back: probe the ledger now, drain if it answers.

        Never trusted blindly: the ledger's health is asked first, and a
        healthy answer is followed by the drain without the spreading window
        (one lane a person pushes is not a herd).
        """
        self._urgent = True
        self._wake.set()

    async def push_now(self, *, timeout: float | None = None) -> DrainReport:
        """``queue push --now``: probe the ledger at once and, if it answers, drain until empty.

        The probe comes first whatever the lane believes (an operating system's
        "online" is never trusted); a healthy answer is followed by the drain
        at once, without the spreading window; a failed one by the policy's
        backoff, within ``timeout``.
        """
        self.pacing.suspect()
        return await self.sync(until_empty=True, timeout=timeout)

    async def probe(self) -> Step:
        """One ``GET /v1/health``, as the pacing policy asks after a failure; the next step."""
        self.pacing.begin(Action.PROBE)
        try:
            probe = getattr(self.ledger, "probe", None)
            window = await probe() if probe is not None else None
        except LedgerRejected:  # the ledger answered: it is reached (auth shows at the drain)
            self.step = self.pacing.on_health(None)
        except (LedgerUnavailable, UnknownOutcome) as exc:
            self.step = self._failed(exc)
        except BaseException:
            self.pacing.in_flight = None
            raise
        else:
            self.step = self.pacing.on_health(window)
        return self.step

    def _failed(self, exc: LedgerUnavailable | UnknownOutcome) -> Step:
        """The policy's next step after a request that failed with ``exc``."""
        retry_after = getattr(exc, "retry_after", None)
        self._failed_at = self.clock.now()
        if retry_after is not None:
            step = self.pacing.on_refused(retry_after)
            self._not_before = self.clock.monotonic() + step.delay
            self._retry_until = retry_until(self._failed_at, step.delay)
            return step
        return self.pacing.on_unreachable(timeout=isinstance(exc, UnknownOutcome))

    async def drain_once(self, report: DrainReport | None = None) -> DrainReport:
        """One pass over the outbox. Stops at the first sign the ledger is unavailable."""
        report = report or DrainReport()
        async with self._lock:
            report.passes += 1
            report.wait = None
            report.retry_after = None
            report.unreachable = False
            if self.pacing.must_probe and (await self.probe()).action is Action.PROBE:
                report.error = "the ledger could not be reached (health probe)"
                report.errors.append(report.error)
                report.retry_after = self.step.delay
                report.unreachable = True
            else:
                await self._drain(report)
            self._keep_pacing()
            report.remaining = len(self.pending())
            report.stuck = self._tell_stuck()
        self.last_report = report
        return report

    async def _drain(self, report: DrainReport) -> None:
        """One pass of drain requests (one in flight at a time), its outcome told to the policy."""
        self.pacing.begin(Action.DRAIN)
        try:
            await self._pass(report)
            report.error = None
            self.step = self.pacing.on_drained()
        except ForwarderStopped as exc:
            report.stopped = True
            report.error = exc.message
            report.errors.append(exc.message)
            self.pacing.in_flight = None
            self.step = Step(Action.DRAIN, self.idle_interval)
        except (LedgerUnavailable, UnknownOutcome) as exc:
            report.error = exc.message
            report.errors.append(exc.message)
            report.retry_after = getattr(exc, "retry_after", None)
            report.unreachable = True
            self.step = self._failed(exc)
        except BaseException:
            self.pacing.in_flight = None
            raise

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
        self._resending.clear()
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
            if item.sent and not must_ask_first(item):
                # Settled by sending the same stored body again: idempotent by its id.
                to_send.append((item.redemption_id, item.body))
                self._resending.add(item.redemption_id)
            elif item.sent:
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

        Each batch is noted as sent before it can leave (the write-ahead), a
        batch ahead of time: the second while the first is on the wire, and
        from then on the one after next in the same transaction as a batch's
        answers (one commit for both, in a worker thread; the store is
        thread-safe). So once an answer is in, the next request goes out at
        once, and the answers are recorded while the ledger works on it. A
        batch noted as sent that never left (the one before it failed, or
        asked to slow down) is noted as not received again. If recording
        fails, the request already out is waited for and left as sent: the
        next pass asks the ledger by id, as after a crash.
        """
        if not batches:
            return
        ahead: Request | None = (batches[0], self._submit(batches[0]))
        noted: list[Batch] = []  # noted as sent, not yet out, in order
        noting: asyncio.Future[None] | None = None
        try:
            for index, batch in enumerate(batches):
                following = batches[index + 1] if index + 1 < len(batches) else None
                if following is not None and not noted:
                    noted.append(following)
                    noting = self._note_sent(following)
                assert ahead is not None
                request, ahead = ahead[1], None
                results = await self._results(batch, request, report)
                if noting is not None:
                    await noting
                    noting = None
                # Refused items first: a Retry-After is waited out, a conflict asked by id
                # (a request of its own: the next batch waits for it).
                hold = results is not None and any(
                    result.kind in ("not_processed", "rejected") for result in results
                )
                if noted and not hold:
                    ahead = (noted[0], self._send(noted.pop(0)))
                after = batches[index + 2] if index + 2 < len(batches) else None
                if after is not None:
                    noted.append(after)
                if results is not None:
                    await self._settle(results, report, note=after)
                elif after is not None:
                    noting = self._note_sent(after)
                if noted and ahead is None and following is not None:
                    # held: it leaves now that the refusals are settled
                    ahead = (noted[0], self._send(noted.pop(0)))
        except asyncio.CancelledError:
            if ahead is not None:  # shutting down: its items stay sent, asked by id next time
                ahead[1].cancel()
                ahead = None
            raise
        finally:
            if noting is not None:
                with contextlib.suppress(Exception):
                    await noting
            for never_left in noted:  # it may be sent again
                for redemption_id, _ in never_left:
                    self.store.mark_not_received(redemption_id)
            if ahead is not None:
                await self._leave_as_sent(*ahead)

    def _note_sent(self, batch: Batch) -> asyncio.Future[None]:
        """Note ``batch`` as sent in a worker thread (while the batch before it is out)."""
        ids = [i for i, _ in batch]
        return asyncio.ensure_future(
            asyncio.to_thread(self.store.mark_sent, ids, at=self.clock.now())
        )

    def _send(self, batch: Batch) -> asyncio.Task[list[BatchItemResult]]:
        """Send ``batch``, already noted as sent, in a task."""
        return asyncio.ensure_future(self.ledger.submit_batch(batch))

    def _submit(self, batch: Batch) -> asyncio.Task[list[BatchItemResult]]:
        """Note ``batch`` as sent (before anything leaves), then send it in a task."""
        self.store.mark_sent([i for i, _ in batch], at=self.clock.now())
        return self._send(batch)

    def _not_received(self, batch: Batch) -> None:
        """Note that none of ``batch`` reached the ledger, in one transaction."""
        with self.store.batch():
            for redemption_id, _ in batch:
                self.store.mark_not_received(redemption_id)

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
            self._not_received(batch)  # it never reached the ledger
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
            self._not_received(batch)  # it never reached the ledger (e.g. 429): one commit
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
            self._resending.difference_update(redemption_id for redemption_id, _ in batch)
            for redemption_id, _ in batch:
                await deliver_one(self.ledger, self.store, self.clock, redemption_id, report)
                report.sent += 1
            return None
        resent = sum(1 for redemption_id, _ in batch if redemption_id in self._resending)
        self._resending.difference_update(redemption_id for redemption_id, _ in batch)
        report.resolved += resent
        report.sent += len(batch) - resent
        return results

    async def _settle(
        self, results: Sequence[BatchItemResult], report: DrainReport, *, note: Batch | None = None
    ) -> None:
        """Record one batch's answers (one transaction, with ``note`` noted as sent), then what
        was refused or not processed."""
        answers = [
            (result.id, result.answer)
            for result in results
            if result.kind == "answer" and result.answer is not None
        ]
        ahead = [i for i, _ in note] if note is not None else []
        await asyncio.to_thread(_record_all, self.store, answers, self.clock, report, ahead)
        not_processed = False
        retry_after: float | None = None
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
                if result.retry_after is not None:
                    retry_after = max(retry_after or 0.0, result.retry_after)
            # unknown: stays "sent"; the next pass asks by id.
        if not_processed:
            # Reached, and asked to wait: the rest goes after Retry-After (or a probe).
            raise LedgerUnavailable("the ledger asked to slow down", retry_after=retry_after)

    async def sync(self, *, until_empty: bool = False, timeout: float | None = None) -> DrainReport:
        """Drain on demand: one pass, or passes with backoff until empty (or ``timeout``)."""
        report = DrainReport()
        deadline = None if timeout is None else self.clock.monotonic() + timeout
        hold = self._not_before - self.clock.monotonic()  # a Retry-After still running
        if hold > 0:
            await self.clock.sleep(hold if timeout is None else min(hold, timeout))
        while True:
            await self.drain_once(report)
            if report.remaining == 0 or not until_empty:
                return report
            if report.stopped:
                return report
            pause = self.step.delay if report.error else (report.wait or 0.0)
            if deadline is not None:
                left = deadline - self.clock.monotonic()
                if left <= 0:
                    return report
                pause = min(pause, left)
            await self.clock.sleep(pause)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain in the background until ``stop`` is set; :meth:`wake` drains at once.

        After a failure to reach the ledger it probes first (never a batch),
        waits the ledger's drain window after a healthy answer, and only then
        drains. A :meth:`wake` does not cut a probe's backoff, a drain window
        or a ``Retry-After`` short; :meth:`push` cuts a probe's backoff and the
        window, never a ``Retry-After``.
        """
        hold = self._not_before - self.clock.monotonic()  # a Retry-After kept from before
        if hold > 0:
            await self._pause(stop, hold, wakeable=False)
        while not stop.is_set():
            urgent, self._urgent = self._urgent, False
            if self.pacing.must_probe:
                async with self._lock:
                    step = await self.probe()
                    self._keep_pacing()
                if step.action is Action.PROBE:  # a wake may cut it: the next request is a probe
                    await self._pause(stop, step.delay, wakeable=True)
                    continue
                if not urgent and step.delay > 0:
                    await self._pause(stop, step.delay, wakeable=False)
                    if stop.is_set():
                        return
            report = await self.drain_once()
            if report.error:  # a Retry-After is never cut short; a probe's backoff may be
                pause, wakeable = self.step.delay, self.pacing.must_probe
            elif report.remaining == 0:
                pause, wakeable = self.idle_interval, True
                self.store.checkpoint()  # idle: the WAL goes into the file off any sale's commit
                for work in self.idle_work:  # e.g. the daily retention run (compose.py)
                    await work()
            else:
                pause, wakeable = (report.wait if report.wait is not None else 0.0), True
            await self._pause(stop, pause, wakeable=wakeable)

    async def _pause(self, stop: asyncio.Event, seconds: float, *, wakeable: bool) -> None:
        """Wait ``seconds``, or until ``stop``; a :meth:`wake` ends it if ``wakeable``, a
        :meth:`push` if the policy's next request is a probe."""
        loop = asyncio.get_running_loop()
        until = loop.time() + max(0.0, seconds)
        self._wake.clear()
        while not stop.is_set():
            left = until - loop.time()
            if left <= 0:
                return
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(waiters, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if self._wake.is_set():
                if wakeable or (self._urgent and self.step.action is not Action.DRAIN):
                    return
                self._wake.clear()
