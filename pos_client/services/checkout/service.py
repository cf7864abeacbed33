"""The checkout service: builds sessions; sends, recovers and voids what outlives one.

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

from pos_client.domain.offline import OfflineLimits
from pos_client.domain.redemption import OtpChallenge, RedemptionAnswer, body_with_mode
from pos_client.domain.states import RedemptionStatus, SaleStatus, VoidStatus
from pos_client.errors import (
    CheckoutError,
    CheckoutRefused,
    LedgerRejected,
    LedgerUnavailable,
    StoreError,
    UnknownOutcome,
)
from pos_client.ports import Clock, JournalEntry, Ledger, Store
from pos_client.services.checkout.session import CheckoutSession
from pos_client.services.checkout.values import (
    MIN_SEND_WINDOW,
    SALE_BUDGET,
    OfflineApproval,
    Progress,
    RulesSource,
    SendPhase,
    Settings,
    VoidOutcome,
    national_identity,
    outcome_with_answer,
    past_deadline,
    store_failed_outcome,
    unsaved_outcome,
)
from pos_client.services.delivery import NOT_RECEIVED, RESOLVE_MAX_PAUSE, AnswerNotSaved, Delivery
from pos_client.services.forwarder import DEFAULT_ABANDON_GRACE, deliver_one, settle_abandoned
from pos_client.services.lane_standing import LaneStanding
from pos_client.services.ledger_time import LedgerTime
from pos_client.services.redemptions import (
    SaleOutcome,
    new_redemption_id,
    outcome_from_entry,
)
from pos_client.services.reports.days import sale_business_date, void_refusal_reason

log = logging.getLogger("pos_client.services.checkout")


def _quiet(phase: SendPhase) -> None:
    """Nobody watches the progress."""


class CheckoutService:
    """Builds sessions and handles what outlives one: recovery after a crash and voids."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        store: Store,
        clock: Clock,
        rules: RulesSource,
        terminal_id: str,
        city: str,
        offline: OfflineLimits,
        new_id: Callable[[datetime], str] = new_redemption_id,
        abandon_grace: timedelta = DEFAULT_ABANDON_GRACE,
        resolve_max_pause: float = RESOLVE_MAX_PAUSE,
        sale_budget: float = SALE_BUDGET,
        ledger_time: LedgerTime | None = None,
    ) -> None:
        self.abandon_grace = abandon_grace
        self.resolve_max_pause = resolve_max_pause
        self.sale_budget = sale_budget
        #: Answers the ledger gave that this lane could not save yet, by redemption id.
        self.unsaved: dict[str, RedemptionAnswer] = {}
        self.ledger = ledger
        self.store = store
        self.clock = clock
        #: The lane's clock against the ledger's (offline approval asks whether to trust it).
        if ledger_time is None:
            ledger_time = clock if isinstance(clock, LedgerTime) else LedgerTime(clock=clock)
        self.ledger_time = ledger_time
        self.rules = rules
        self.settings = Settings(terminal_id=terminal_id, city=city, limits=offline)
        self.new_id = new_id
        #: Revoked or retired: no sale starts (set by the composition root).
        self.standing: LaneStanding | None = None
        #: The terminal config version the settings come from (None: the lane's file alone).
        self.config_version: str | None = None
        self._staged: tuple[OfflineLimits | None, float | None, str | None] | None = None

    def stage_settings(
        self, *, limits: OfflineLimits | None, sale_budget: float | None, version: str | None
    ) -> None:
        """New settings from a terminal config, put to work when the next sale starts.

        Never inside a sale: the session in progress keeps the settings it began
        with. ``None``: that setting is left as it is.
        """
        if self._staged is not None:  # one not taken yet: what it changed still holds
            limits = limits if limits is not None else self._staged[0]
            sale_budget = sale_budget if sale_budget is not None else self._staged[1]
        self._staged = (limits, sale_budget, version)

    def staged_version(self) -> str | None:
        """The version waiting for the next sale (None: nothing waits)."""
        return None if self._staged is None else self._staged[2]

    def new_session(self) -> CheckoutSession:
        if self._staged is not None:  # between sales: the new config takes over
            limits, budget, self.config_version = self._staged
            if limits is not None:
                self.settings = replace(self.settings, limits=limits)
            if budget is not None:
                self.sale_budget = budget
            self._staged = None
        return CheckoutSession(self)

    @property
    def delivery(self) -> Delivery:
        """The one delivery path (see :mod:`pos_client.services.delivery`)."""
        return Delivery(
            ledger=self.ledger,
            store=self.store,
            clock=self.clock,
            resolve_max_pause=self.resolve_max_pause,
        )

    async def request_otp(self, national_id: str) -> OtpChallenge:
        """Ask the ledger to text a verification code (``otp request`` on the CLI)."""
        identity = national_identity(national_id)
        try:
            return await self.ledger.request_otp(identity.value)
        except LedgerRejected as exc:
            raise CheckoutRefused(exc.message, code=exc.code) from None

    def acknowledge(self, redemption_id: str) -> None:
        """The cashier has seen this outcome (shown or printed): it is no longer interrupted."""
        self.store.mark_seen(redemption_id)

    # ------------------------------------------------------------------ recovery

    def interrupted(self) -> list[SaleOutcome]:
        """Sales written whose outcome the cashier never saw (a crash, a closed window)."""
        return [outcome_from_entry(e) for e in self.store.unseen()]

    async def resolve_interrupted(self, redemption_id: str) -> SaleOutcome:
        """Ask the ledger what became of an interrupted sale and record it (nothing is sent).

        ``status`` is the journal's; ``reason="not_received"`` means the ledger
        never got it (``finish`` sends it, ``cancel`` drops it).
        """
        entry = self._entry(redemption_id)
        if entry.status not in (RedemptionStatus.PENDING, RedemptionStatus.UNKNOWN_OUTCOME):
            return outcome_from_entry(entry)
        try:
            answer = await self.ledger.get_redemption(redemption_id)
        except (LedgerUnavailable, LedgerRejected) as exc:
            return replace(
                outcome_from_entry(entry),
                status=SaleStatus.UNKNOWN,
                reason="ledger_unavailable",
                detail=exc.message,
            )
        if answer is None:
            return replace(
                outcome_from_entry(entry),
                reason="not_received",
                detail="the ledger never received it",
            )
        return await self._recorded(entry, answer, note="resolved after restart")

    async def finish_interrupted(self, redemption_id: str) -> SaleOutcome:
        """Let an interrupted sale go ahead: resolve it, send it if the ledger never got it."""
        outcome = await self.resolve_interrupted(redemption_id)
        entry = self._entry(redemption_id)
        if outcome.reason == "not_received" and entry.status in (
            RedemptionStatus.PENDING,
            RedemptionStatus.UNKNOWN_OUTCOME,
        ):
            self.store.mark_not_received(redemption_id)
            outcome = await self.send(entry, offline=None)
        if outcome.status not in (SaleStatus.UNKNOWN, SaleStatus.APPROVED_UNSAVED):
            self.store.mark_seen(redemption_id)
        return outcome

    async def cancel_interrupted(self, redemption_id: str) -> SaleOutcome:
        """The interrupted sale does not go ahead: void it if the ledger took it, else drop it."""
        entry = self._entry(redemption_id)
        now = self.clock.now()
        if entry.status in (RedemptionStatus.APPROVED, RedemptionStatus.PARTIALLY_APPROVED):
            result = await self._void(entry)
            self.store.mark_seen(redemption_id)
            return replace(
                outcome_from_entry(self._entry(redemption_id)),
                reason=result.reason or entry.reason,
                detail=result.detail,
            )
        if entry.status in (
            RedemptionStatus.PENDING,
            RedemptionStatus.UNKNOWN_OUTCOME,
            RedemptionStatus.APPROVED_OFFLINE,
        ):
            self.store.set_intent(redemption_id, "abandon", at=now, note="cancelled by the cashier")
            try:
                await settle_abandoned(
                    self.ledger, self.store, self.clock, redemption_id, grace=self.abandon_grace
                )
            except (LedgerUnavailable, UnknownOutcome) as exc:
                log.info("cancelled sale %s will be settled later: %s", redemption_id, exc)
        self.store.mark_seen(redemption_id)
        return outcome_from_entry(self._entry(redemption_id))

    # ------------------------------------------------------------------ sending

    async def send(
        self,
        entry: JournalEntry,
        *,
        offline: Callable[[datetime], OfflineApproval] | None,
        deadline: float | None = None,
        progress: Progress | None = None,
    ) -> SaleOutcome:
        """Send a written redemption and record what came of it (the counter's send path).

        ``offline``: how the sale may go ahead offline when the ledger has no
        final answer (None: it may not). ``deadline`` (monotonic seconds): no
        new lookup or retry starts after it. ``progress`` is told each step
        (sending, asking again) for the screen. After the redemption was written
        no failure is told as "nothing charged": an answer the store cannot
        take is told as it is (``approved_unsaved``), and a store that fails
        before any answer leaves the outcome unknown.
        """
        try:
            return await self._send(
                entry, offline=offline, deadline=deadline, progress=progress or _quiet
            )
        except StoreError as exc:
            return store_failed_outcome(entry, exc)

    async def _send(
        self,
        entry: JournalEntry,
        *,
        offline: Callable[[datetime], OfflineApproval] | None,
        deadline: float | None,
        progress: Progress,
    ) -> SaleOutcome:
        delivery = self.delivery
        redemption_id, body = entry.id, entry.body
        sends = 0
        while True:
            sends += 1
            progress(SendPhase.SENDING)
            try:
                answer = await self._submit(delivery, redemption_id, body, deadline)
            except LedgerRejected as exc:
                return await self._rejected(entry, exc)
            except LedgerUnavailable as exc:
                # Never reached the ledger, or not processed (429): nothing is there.
                if (
                    exc.retry_after is not None
                    and exc.retry_after <= self.resolve_max_pause
                    and sends < 2
                    and not past_deadline(self.clock, deadline, exc.retry_after)
                ):
                    await self.clock.sleep(exc.retry_after + random.uniform(0, 0.25))
                    continue
                return self._not_reached(entry, body, exc, sent="never", offline=offline)
            except UnknownOutcome as exc:
                self.store.set_status(
                    redemption_id,
                    RedemptionStatus.UNKNOWN_OUTCOME,
                    at=self.clock.now(),
                    note=f"no final answer: {exc.message}",
                )
                progress(SendPhase.ASKING_AGAIN)
                resolved = await delivery.lookup(
                    redemption_id, retry_after=exc.retry_after, deadline=deadline
                )
                if (
                    resolved == NOT_RECEIVED
                    and sends < 2
                    and not past_deadline(self.clock, deadline)
                ):
                    self.store.set_status(
                        redemption_id,
                        RedemptionStatus.PENDING,
                        at=self.clock.now(),
                        note="the ledger never received it: sending again",
                    )
                    continue
                if not isinstance(resolved, RedemptionAnswer):
                    return self._not_reached(
                        entry,
                        body,
                        exc,
                        sent="not_received" if resolved == NOT_RECEIVED else "maybe",
                        offline=offline,
                    )
                answer = resolved
            return await self._recorded(entry, answer, note="answered")

    async def _submit(
        self, delivery: Delivery, redemption_id: str, body: bytes, deadline: float | None
    ) -> RedemptionAnswer:
        """Submit within what is left of the sale's budget; cut short, the outcome is unknown."""
        if deadline is None:
            return await delivery.submit(redemption_id, body)
        left = max(deadline - self.clock.monotonic(), MIN_SEND_WINDOW)
        try:
            return await asyncio.wait_for(delivery.submit(redemption_id, body), timeout=left)
        except TimeoutError:
            raise UnknownOutcome("the ledger did not answer within the sale's time") from None

    async def resolve_unknown(
        self,
        entry: JournalEntry,
        *,
        offline: Callable[[datetime], OfflineApproval] | None,
        progress: Progress | None = None,
    ) -> SaleOutcome:
        """Ask the ledger again about a sale of unknown outcome (send it again after a 404)."""
        (progress or _quiet)(SendPhase.ASKING_AGAIN)
        resolved = await self.delivery.lookup(entry.id, retry_after=None)
        if isinstance(resolved, RedemptionAnswer):
            return await self._recorded(entry, resolved, note="resolved")
        try:
            if resolved == NOT_RECEIVED:
                self.store.set_status(
                    entry.id,
                    RedemptionStatus.PENDING,
                    at=self.clock.now(),
                    note="the ledger never received it: sending again",
                )
                return await self.send(self._entry(entry.id), offline=offline, progress=progress)
            return self._not_reached(
                entry, entry.body, UnknownOutcome("no answer"), sent="maybe", offline=offline
            )
        except StoreError as exc:
            return store_failed_outcome(entry, exc)

    async def _recorded(
        self, entry: JournalEntry, answer: RedemptionAnswer, *, note: str
    ) -> SaleOutcome:
        """Record the ledger's answer; if the store cannot take it, tell the answer anyway."""
        try:
            recorded = await self.delivery.record_kept(entry.id, answer, note=note)
        except AnswerNotSaved as exc:
            self.unsaved[entry.id] = answer
            return unsaved_outcome(entry, answer, exc)
        self.unsaved.pop(entry.id, None)
        return outcome_with_answer(recorded, answer)

    async def _rejected(self, entry: JournalEntry, exc: LedgerRejected) -> SaleOutcome:
        """A problem document at the counter: the one rule decides (domain.answers)."""
        try:
            decision = await self.delivery.reject(
                entry.id, exc.status, exc.code, exc.detail, at_counter=True
            )
        except (LedgerUnavailable, UnknownOutcome) as lookup_failed:
            # A 409 conflict could not be looked up: the ledger may hold this id.
            return self._not_reached(entry, entry.body, lookup_failed, sent="maybe", offline=None)
        current = self._entry(entry.id)
        if decision.retry:
            return self._not_reached(
                current, entry.body, LedgerUnavailable(exc.message), sent="never", offline=None
            )
        if decision.told in (SaleStatus.APPROVED, SaleStatus.PARTIALLY_APPROVED):
            return outcome_from_entry(current)
        return replace(outcome_from_entry(current), detail=exc.message)

    def _not_reached(
        self,
        entry: JournalEntry,
        body: bytes,
        exc: Exception,
        *,
        sent: Literal["never", "not_received", "maybe"],
        offline: Callable[[datetime], OfflineApproval] | None,
    ) -> SaleOutcome:
        """No final answer: approve offline within the limits, else say so plainly.

        ``sent``: ``never`` (the request never reached the ledger), ``not_received``
        (the ledger says it has no such id, though a late copy might still
        arrive), ``maybe`` (it may have committed it). Only when the ledger
        surely has nothing may the stored body become an offline one.
        """
        redemption_id = entry.id
        now = self.clock.now()
        approval = offline(now) if offline is not None else None
        decision = approval.decision if approval is not None else None
        if approval is not None and approval.decision.allowed:
            approved = self.store.approve_offline(
                redemption_id,
                at=now,
                body=None if sent == "maybe" else body_with_mode(body, "offline"),
                nid_hash=approval.nid_hash,
                by_program=approval.by_program,
                business_date=sale_business_date(self.store, self.settings.terminal_id, now),
                note="approved offline" + (" (outcome unknown)" if sent == "maybe" else ""),
            )
            if sent == "maybe":
                self.store.mark_sent([redemption_id], at=now)
            return outcome_from_entry(approved)
        reason = decision.reason if decision is not None else "ledger_unavailable"
        detail = decision.detail if decision is not None else str(exc)
        if sent == "never":
            declined = self.store.set_status(
                redemption_id,
                RedemptionStatus.DECLINED,
                at=now,
                reason=f"refused_offline:{reason}",
                note="the ledger cannot be reached",
                leave_outbox=True,
                release_token=True,
            )
            return replace(
                outcome_from_entry(declined),
                status=SaleStatus.REFUSED_OFFLINE,
                reason=reason,
                detail=detail,
            )
        current = self._entry(redemption_id)
        if sent == "not_received":
            # Not sent again: the outbox checks later that no late copy was taken.
            self.store.set_intent(
                redemption_id, "abandon", at=now, note="refused: the ledger cannot be reached"
            )
            return replace(
                outcome_from_entry(current),
                status=SaleStatus.REFUSED_OFFLINE,
                goes_ahead=False,
                reason=reason,
                detail=detail,
            )
        return replace(
            outcome_from_entry(current),
            status=SaleStatus.UNKNOWN,
            goes_ahead=False,
            reason=reason,
            detail=f"the outcome is not known yet; {detail}",
        )

    # ------------------------------------------------------------------ void

    async def void_last(self) -> VoidOutcome:
        """Void the terminal's last sale at the ledger (same business day only)."""
        entry = self.store.last_sale()
        if entry is None:
            raise CheckoutError("there is no sale to void", code="nothing_to_void")
        return await self._void_sale(entry)

    async def void(self, redemption_id: str) -> VoidOutcome:
        """Void one of this terminal's sales by its id (same business day, as the contract allows).

        :class:`CheckoutError` (nothing asked of the ledger): ``not_found`` for an
        id this terminal never wrote, ``another_day`` for a sale of another
        business day, ``already_voided``, ``not_voidable`` for one that did not go
        ahead (declined, refused, or still unknown).
        """
        text = redemption_id.strip().lower()
        entry = self.store.redemption(text) if text else None
        if entry is None:
            raise CheckoutError(
                f"there is no sale {redemption_id} on this terminal", code="not_found"
            )
        if entry.status is RedemptionStatus.VOIDED:
            raise CheckoutError(f"the sale {entry.id} is already voided", code="already_voided")
        today = sale_business_date(self.store, self.settings.terminal_id, self.clock.now())
        if entry.business_date != today:
            raise CheckoutError(
                f"the sale {entry.id} is of {entry.business_date.isoformat()}; only today's"
                " sales can be voided",
                code="another_day",
            )
        if entry.status not in (
            RedemptionStatus.APPROVED,
            RedemptionStatus.PARTIALLY_APPROVED,
            RedemptionStatus.APPROVED_OFFLINE,
        ):
            raise CheckoutError(
                f"the sale {entry.id} did not go ahead ({entry.status.value}): nothing to void",
                code="not_voidable",
            )
        return await self._void_sale(entry)

    async def _void_sale(self, entry: JournalEntry) -> VoidOutcome:
        if entry.status is RedemptionStatus.APPROVED_OFFLINE:
            try:
                await deliver_one(self.ledger, self.store, self.clock, entry.id)
            except (LedgerUnavailable, UnknownOutcome) as exc:
                raise CheckoutRefused(
                    "the sale was approved offline and the ledger cannot be reached to void it",
                    code="ledger_unavailable",
                ) from exc
            entry = self._entry(entry.id)
            if entry.status not in (
                RedemptionStatus.APPROVED,
                RedemptionStatus.PARTIALLY_APPROVED,
            ):
                return VoidOutcome(
                    id=entry.id, status=VoidStatus.REFUSED, reason=entry.status.value
                )
        return await self._void(entry)

    async def _void(self, entry: JournalEntry) -> VoidOutcome:
        self.store.set_intent(entry.id, "void", at=self.clock.now(), note="void asked")
        try:
            refused = await self.delivery.void(entry.id, at_counter=True)
        except (LedgerUnavailable, UnknownOutcome) as exc:
            return VoidOutcome(
                id=entry.id,
                status=VoidStatus.PENDING,
                reason="ledger_unavailable",
                detail=exc.message,
            )
        if refused is not None:
            reason = void_refusal_reason(entry, refused.code, self.clock.now())
            return VoidOutcome(
                id=entry.id, status=VoidStatus.REFUSED, reason=reason, detail=refused.message
            )
        return VoidOutcome(id=entry.id, status=VoidStatus.VOIDED)

    def _entry(self, redemption_id: str) -> JournalEntry:
        entry = self.store.redemption(redemption_id)
        if entry is None:
            raise CheckoutError(f"no sale {redemption_id} in the journal", code="not_found")
        return entry
