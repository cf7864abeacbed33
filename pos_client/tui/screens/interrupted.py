"""A sale written before a crash whose outcome nobody saw: resolved, then finished or cancelled."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding

from pos_client.services.redemptions import SaleOutcome

from ..views import outcome_reason, outcome_verdict
from ..widgets.text import BidiText
from .base import PosModal

__all__ = ["InterruptedScreen"]


class InterruptedScreen(PosModal[None]):
    TITLE_KEY = "interrupted.title"
    BINDINGS: ClassVar = [
        Binding("f2", "finish", "key.finish", key_display="F2", priority=True),
        Binding("f3", "cancel_sale", "key.cancel_sale", key_display="F3", priority=True),
    ]

    def __init__(self, outcome: SaleOutcome) -> None:
        super().__init__()
        self.outcome = outcome
        self.working = False

    def compose_body(self) -> ComposeResult:
        yield BidiText(self.t("interrupted.body"), classes="question")
        yield BidiText(self._summary(), id="interrupted-summary")

    def _summary(self) -> str:
        texts = self.texts
        outcome = self.outcome
        key, _ = outcome_verdict(outcome)
        lines = [
            texts.t("interrupted.status", status=texts.t(key)),
            texts.t("interrupted.amount", amount=texts.amount(outcome.covered_rial)),
        ]
        if outcome.display_name:
            lines.append(outcome.display_name)
        reason = outcome_reason(outcome, texts)
        if reason:
            lines.append(reason)
        return "\n".join(lines)

    def on_mount(self) -> None:
        super().on_mount()
        assert self.outcome.id is not None
        redemption_id = self.outcome.id
        self.working = True
        self.run_service(
            lambda: self.pos.lane.checkout.resolve_interrupted(redemption_id),
            done=self._resolved,
            failed=self._failed,
            busy=self.t("interrupted.checking"),
        )

    def _resolved(self, outcome: SaleOutcome) -> None:
        self.outcome = outcome
        self.working = False
        self.query_one("#interrupted-summary", BidiText).text = self._summary()
        self.say("")
        self.refresh_bindings()

    def _failed(self, exc: BaseException) -> None:
        self.working = False
        self.say(self.texts.error(exc), "error")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("finish", "cancel_sale") and self.working:
            return None
        return True

    def _act(self, method: str) -> None:
        assert self.outcome.id is not None
        redemption_id = self.outcome.id
        call = getattr(self.pos.lane.checkout, method)
        self.working = True
        self.refresh_bindings()
        self.run_service(
            lambda: call(redemption_id),
            done=self._done,
            failed=self._failed,
            busy=self.t("interrupted.checking"),
        )

    def _done(self, outcome: SaleOutcome) -> None:
        self.working = False
        if outcome.status in ("unknown", "pending"):
            self._resolved(outcome)
            self.say(self.t("result.unknown_note"), "warn")
            return
        self.pos.notify(self.texts.line("interrupted.done"))
        self.dismiss(None)

    def action_finish(self) -> None:
        self._act("finish_interrupted")

    def action_cancel_sale(self) -> None:
        self._act("cancel_interrupted")
