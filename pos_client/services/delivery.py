"""The one delivery path: submit a written redemption, resolve an unknown outcome, record.

The sale at the counter (:mod:`pos_client.services.checkout`), the recovery
after a crash, the forwarder (single items and batches) and a void of an
offline sale all go through here:

- :meth:`Delivery.submit` sends a written redemption under its id (the
  ``Idempotency-Key``);
- :meth:`Delivery.lookup` resolves an unknown outcome by
  ``GET /v1/redemptions/{id}``: the answer, :data:`NOT_RECEIVED` (the ledger
  has no such id: send again) or :data:`UNDECIDED`;
- :func:`record_answer` / :meth:`Delivery.record_kept` write the ledger's
  final answer (the latter keeps the answer and tries again when the store
  cannot write: :class:`AnswerNotSaved` carries it when it still cannot);
- :meth:`Delivery.reject` applies a problem document;
- :meth:`Delivery.file_problem` puts something in front of a person.

What an answer does to the journal and the problems list is decided by
:func:`pos_client.domain.answers.decide`, nowhere else.

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Literal

from pos_client.domain.answers import (
    AUTH_STATUSES,
    Answer,
    AnswerKind,
    Decision,
    EntryFacts,
    decide,
)
from pos_client.domain.redemption import RedemptionAnswer, body_mode, body_with_mode
from pos_client.domain.states import RedemptionStatus
from pos_client.errors import AnswerNotSaved, LedgerRejected, LedgerUnavailable, StoreError
from pos_client.ports import Clock, JournalEntry, Ledger, Store

__all__ = [
    "NOT_RECEIVED",
    "UNDECIDED",
    "AnswerNotSaved",
    "Delivery",
    "Lookup",
    "answer_of",
    "facts_of",
    "problem_of",
    "record_answer",
]

log = logging.getLogger(__name__)

NOT_RECEIVED: Literal["not_received"] = "not_received"
UNDECIDED: Literal["unknown"] = "unknown"
#: What a lookup by id found: the ledger's answer, "it never got it", or "still not known".
Lookup = RedemptionAnswer | Literal["not_received", "unknown"]

#: How many times an unknown outcome is asked by id before it is left unknown.
RESOLVE_ATTEMPTS = 3
#: Longest pause between those lookups (seconds), whatever Retry-After says.
RESOLVE_MAX_PAUSE = 1.0
#: How many times the ledger's answer is written before the lane says it could not save it.
#: However little of a sale's time is left, one lookup gets at least this long (seconds).
MIN_LOOKUP_WINDOW = 1.0
SAVE_ATTEMPTS = 3
SAVE_PAUSE = 0.2


def facts_of(entry: JournalEntry, *, at_counter: bool = False) -> EntryFacts:
    """What :func:`~pos_client.domain.answers.decide` needs to know about ``entry``."""
    return EntryFacts(
        went_ahead_offline=entry.offline or entry.status is RedemptionStatus.APPROVED_OFFLINE,
        covered_rial=entry.covered_rial,
        identity_kind=entry.identity_kind,
        mode=entry.mode,
        at_counter=at_counter,
    )


def answer_of(answer: RedemptionAnswer, *, after_conflict: bool = False) -> Answer:
    kind = {
        "approved": AnswerKind.APPROVED,
        "partially_approved": AnswerKind.PARTIALLY_APPROVED,
    }.get(answer.status, AnswerKind.DECLINED)
    return Answer(
        kind=kind,
        covered_rial=answer.covered_rial,
        reason=answer.reason,
        after_conflict=after_conflict,
    )


def problem_of(status: int, code: str, detail: str, *, after_conflict: bool = False) -> Answer:
    return Answer(
        kind=AnswerKind.PROBLEM,
        http_status=status,
        code=code,
        detail=detail,
        after_conflict=after_conflict,
    )


def _entry(store: Store, redemption_id: str) -> JournalEntry:
    entry = store.redemption(redemption_id)
    if entry is None:
        raise ValueError(f"no redemption {redemption_id}")
    return entry


def record_answer(
    store: Store,
    redemption_id: str,
    answer: RedemptionAnswer,
    *,
    at: datetime,
    note: str,
    after_conflict: bool = False,
) -> JournalEntry:
    """Write the ledger's final answer to the journal and take it out of the outbox.

    What it does to the problems list (a sale that went ahead offline and
    was declined or paid less) is :func:`~pos_client.domain.answers.decide`'s.
    """
    entry = _entry(store, redemption_id)
    decision = decide(facts_of(entry), answer_of(answer, after_conflict=after_conflict))
    assert decision.status is not None
    return store.set_status(
        redemption_id,
        decision.status,
        at=at,
        note=note,
        answer=answer,
        reason=answer.reason,
        leave_outbox=decision.leaves_outbox,
        problem=None if decision.problem is None else decision.problem.as_tuple(),
        release_token=decision.release_token,
    )


class Delivery:
    """Sends, resolves and records redemptions for every caller (see the module docstring)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        store: Store,
        clock: Clock,
        resolve_max_pause: float = RESOLVE_MAX_PAUSE,
        resolve_attempts: int = RESOLVE_ATTEMPTS,
        save_attempts: int = SAVE_ATTEMPTS,
        save_pause: float = SAVE_PAUSE,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.clock = clock
        self.resolve_max_pause = resolve_max_pause
        self.resolve_attempts = resolve_attempts
        self.save_attempts = save_attempts
        self.save_pause = save_pause

    # ------------------------------------------------------------------ the ledger

    async def submit(self, redemption_id: str, body: bytes) -> RedemptionAnswer:
        """``POST /v1/redemptions`` (raises what the ledger port raises)."""
        return await self.ledger.submit_redemption(redemption_id, body)

    async def lookup(
        self,
        redemption_id: str,
        *,
        retry_after: float | None = None,
        attempts: int | None = None,
        deadline: float | None = None,
    ) -> Lookup:
        """Resolve an unknown outcome by id: the answer, :data:`NOT_RECEIVED` or :data:`UNDECIDED`.

        ``deadline`` (the clock's monotonic seconds): no new lookup starts after it.
        """
        most = self.resolve_max_pause
        pause = min(retry_after or 0.2, most)
        for attempt in range(self.resolve_attempts if attempts is None else attempts):
            if attempt:
                if deadline is not None and self.clock.monotonic() + pause >= deadline:
                    break
                await self.clock.sleep(pause)
                pause = min(pause * 2, most)
            try:
                answer = await self._get(redemption_id, deadline)
            except LedgerUnavailable as exc:
                if exc.retry_after:
                    pause = min(exc.retry_after, most)
                continue
            except (LedgerRejected, TimeoutError):
                continue
            return NOT_RECEIVED if answer is None else answer
        return UNDECIDED

    async def _get(self, redemption_id: str, deadline: float | None) -> RedemptionAnswer | None:
        if deadline is None:
            return await self.ledger.get_redemption(redemption_id)
        left = max(deadline - self.clock.monotonic(), MIN_LOOKUP_WINDOW)
        return await asyncio.wait_for(self.ledger.get_redemption(redemption_id), timeout=left)

    # ------------------------------------------------------------------ the journal

    def record(
        self,
        redemption_id: str,
        answer: RedemptionAnswer,
        *,
        note: str,
        after_conflict: bool = False,
    ) -> JournalEntry:
        return record_answer(
            self.store,
            redemption_id,
            answer,
            at=self.clock.now(),
            note=note,
            after_conflict=after_conflict,
        )

    async def record_kept(
        self, redemption_id: str, answer: RedemptionAnswer, *, note: str
    ) -> JournalEntry:
        """:meth:`record`, tried again a few times; :class:`AnswerNotSaved` if it never could.

        The ledger has already decided: its answer is the sale's outcome
        whether or not this lane could write it down.
        """
        failure: StoreError | None = None
        for attempt in range(max(1, self.save_attempts)):
            if attempt:
                await self.clock.sleep(self.save_pause * attempt)
            try:
                return self.record(redemption_id, answer, note=note)
            except StoreError as exc:
                log.warning("the ledger's answer could not be saved (try %d)", attempt + 1)
                failure = exc
        raise AnswerNotSaved(
            "the ledger's answer could not be saved on this lane"
            + (f": {failure.message}" if failure is not None else ""),
            answer=answer,
        )

    async def reject(
        self, redemption_id: str, status: int, code: str, detail: str, *, at_counter: bool
    ) -> Decision:
        """Apply a problem document the ledger answered for this redemption; the decision taken.

        A ``409 idempotency_conflict`` is looked up by id first: the ledger's
        record wins. ``stop`` and ``retry`` decisions change nothing here.
        """
        entry = _entry(self.store, redemption_id)
        facts = facts_of(entry, at_counter=at_counter)
        decision = decide(facts, problem_of(status, code, detail))
        if decision.lookup_first:
            answer = await self.ledger.get_redemption(redemption_id)
            if answer is not None:
                self.record(
                    redemption_id, answer, note="resolved after a conflict", after_conflict=True
                )
                return decide(facts, answer_of(answer, after_conflict=True))
            decision = decide(facts, problem_of(status, code, detail, after_conflict=True))
        if decision.status is not None:
            self.store.set_status(
                redemption_id,
                decision.status,
                at=self.clock.now(),
                reason=code,
                note=f"refused by the ledger ({status})",
                leave_outbox=decision.leaves_outbox,
                problem=None if decision.problem is None else decision.problem.as_tuple(),
                release_token=decision.release_token,
            )
        return decision

    async def void(self, redemption_id: str, *, at_counter: bool) -> LedgerRejected | None:
        """Ask the ledger to void a redemption it took and record the result; the refusal, if any.

        A refusal is recorded (the sale stays as it was, out of the outbox); in
        the background it is also a ``void_refused`` problem, and a ``401``/``403``
        is raised (the ledger refuses the terminal: a person must act).
        Unreachable: raised, nothing changed (the outbox voids it later).
        """
        entry = _entry(self.store, redemption_id)
        try:
            await self.ledger.void_redemption(redemption_id)
        except LedgerRejected as exc:
            if exc.status in AUTH_STATUSES and not at_counter:
                raise
            problem = (
                None
                if at_counter
                else (
                    "void_refused",
                    0,
                    f"the ledger would not void it ({exc.code}); the household was charged",
                )
            )
            self.store.set_status(
                redemption_id,
                entry.status,
                at=self.clock.now(),
                note=f"void refused: {exc.code}",
                leave_outbox=True,
                problem=problem,
            )
            return exc
        self.store.set_status(
            redemption_id,
            RedemptionStatus.VOIDED,
            at=self.clock.now(),
            note="voided",
            leave_outbox=True,
        )
        return None

    def file_problem(
        self, redemption_id: str, kind: str, *, collect_rial: int, detail: str
    ) -> None:
        self.store.add_problem(
            redemption_id, kind, at=self.clock.now(), collect_rial=collect_rial, detail=detail
        )

    def make_sendable(self, redemption_id: str) -> bytes:
        """After a 404 the ledger has nothing: a sale that went ahead offline is sent as offline."""
        entry = _entry(self.store, redemption_id)
        self.store.mark_not_received(redemption_id)
        body = entry.body
        if entry.status is RedemptionStatus.APPROVED_OFFLINE and body_mode(body) == "online":
            body = body_with_mode(body, "offline")
            self.store.replace_body(redemption_id, body, mode="offline", at=self.clock.now())
        return body
