"""The verification code texted to the household: ask for it, type it, send it again later."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from pos_client.domain.money import to_ascii_digits
from pos_client.domain.redemption import OtpChallenge
from pos_client.services.checkout import Household

from ..views import household_line
from ..widgets.text import BidiText
from .base import PosScreen

__all__ = ["OtpScreen"]

#: Seconds before the code may be sent again.
RESEND_AFTER = 30


class OtpScreen(PosScreen[None]):
    TITLE_KEY = "otp.title"
    BINDINGS: ClassVar = [
        Binding("f2", "resend", "key.resend", key_display="F2"),
        Binding("escape", "cancel", "key.cancel", key_display="Esc"),
    ]

    def __init__(self, household: Household, challenge: OtpChallenge, *, hint: str | None) -> None:
        super().__init__()
        self.household = household
        self.challenge = challenge
        self.hint = hint
        self.wait = RESEND_AFTER
        self.sent_at = 0.0

    def compose_body(self) -> ComposeResult:
        yield BidiText(household_line(self.household, self.texts), id="household")
        yield BidiText(self.t("otp.sent"), classes="prompt")
        yield BidiText(self._hint_text(), id="otp-hint", classes="hint")
        yield Input(
            placeholder=self.texts.line("otp.placeholder"),
            id="otp-input",
            max_length=16,
            compact=True,
        )
        yield BidiText("", id="otp-wait", classes="hint")

    def _hint_text(self) -> str:
        return self.t("help.demo.otp", code=self.texts.digits(self.hint)) if self.hint else ""

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#otp-input", Input).focus()
        self.sent_at = self.pos.now().timestamp()
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """Count down on the lane's clock until the code may be sent again."""
        label = self.query_one("#otp-wait", BidiText)
        waited = int(self.pos.now().timestamp() - self.sent_at)
        was = self.wait
        self.wait = max(0, RESEND_AFTER - waited)
        if self.wait > 0:
            label.text = self.t("otp.resend_wait", seconds=self.wait)
        else:
            label.text = self.t("otp.resend_ready")
        if (was > 0) != (self.wait > 0):
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resend" and self.wait > 0:
            return None  # shown, dimmed, until the wait is over
        return True

    def challenge_sent(self, challenge: OtpChallenge, *, hint: str | None) -> None:
        self.challenge = challenge
        self.hint = hint
        self.query_one("#otp-hint", BidiText).text = self._hint_text()
        self.sent_at = self.pos.now().timestamp()
        self._tick()

    @on(Input.Submitted, "#otp-input")
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit(event.value)

    def handle_scan(self, text: str) -> None:
        self.submit(text)

    def submit(self, text: str) -> None:
        code = to_ascii_digits(text.strip())
        if not code:
            self.say(self.t("otp.empty"), "warn")
            return
        if not code.isdigit():
            self.say(self.t("otp.not_digits"), "error")
            return
        self.query_one("#otp-input", Input).value = ""
        self.pos.flow.enter_otp(code)

    def action_resend(self) -> None:
        if self.wait > 0:
            self.say(self.t("otp.resend_wait", seconds=self.wait), "warn")
            return
        self.pos.flow.resend_otp()

    def action_cancel(self) -> None:
        self.pos.flow.go_idle()
