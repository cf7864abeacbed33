"""The idle screen: who is at the counter? (national card, QR code, purchase code, typed ID)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input

from ..widgets.text import BidiText
from .base import PosScreen

__all__ = ["IdentifyScreen"]


class IdentifyScreen(PosScreen[None]):
    """Waits for a scan or a typed national ID or purchase code, then asks the checkout."""

    TITLE_KEY = "identify.title"
    BINDINGS: ClassVar = [
        Binding("f2", "app.void_last", "key.void", key_display="F2"),
        Binding("f3", "app.reprint", "key.reprint", key_display="F3"),
        Binding("f4", "app.problems", "key.problems", key_display="F4"),
        Binding("f5", "app.sync", "key.sync", key_display="F5"),
        Binding("f6", "app.x_report", "key.x_report", key_display="F6"),
        Binding("f7", "app.z_report", "key.z_report", key_display="F7"),
        Binding("f8", "app.settings", "key.settings", key_display="F8"),
        Binding("f9", "app.diagnostics", "key.diagnostics", key_display="F9"),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="identify-box"):
            yield BidiText(self.t("identify.prompt"), classes="prompt")
            yield BidiText(self.t("identify.hint", digits=8), classes="hint")
            yield Input(
                placeholder=self.texts.line("identify.placeholder"),
                id="identify-input",
                max_length=4096,
                compact=True,
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#identify-input", Input).focus()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        field = self.query_one("#identify-input", Input)
        field.value = ""
        field.focus()

    @on(Input.Submitted, "#identify-input")
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        event.input.value = ""
        if not text:
            self.say(self.t("identify.empty"), "warn")
            return
        self.identify(text)

    def handle_scan(self, text: str) -> None:
        """A scan (serial, virtual or a keyboard-mode burst) while idle."""
        self.query_one("#identify-input", Input).value = ""
        self.identify(text)

    def identify(self, text: str) -> None:
        self.pos.flow.identify(text)
