"""Small dialogs: a yes/no question and a one-line answer (a quantity, a price)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from ..widgets.text import BidiText
from .base import PosModal

__all__ = ["ConfirmDialog", "PromptDialog"]


class ConfirmDialog(PosModal[bool]):
    """A question answered with Enter (yes) or Esc (no)."""

    BINDINGS: ClassVar = [
        Binding("enter", "answer(True)", "key.confirm", key_display="Enter", priority=True),
        Binding("escape", "answer(False)", "key.cancel", key_display="Esc", priority=True),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.quitting = False  # the question is whether to close the screen

    def compose_body(self) -> ComposeResult:
        yield BidiText(self.question, classes="question")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PromptDialog(PosModal[str | None]):
    """A question with a line to type the answer; ``check`` may refuse it with a sentence."""

    BINDINGS: ClassVar = [
        Binding("enter", "submit", "key.confirm", key_display="Enter", priority=True),
        Binding("escape", "cancel", "key.cancel", key_display="Esc", priority=True),
    ]

    def __init__(
        self,
        question: str,
        *,
        value: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.check = check

    def compose_body(self) -> ComposeResult:
        yield BidiText(self.question, classes="question")
        yield Input(value=self.value, id="answer")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#answer", Input).focus()

    @on(Input.Submitted, "#answer")
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit(event.value)

    def action_submit(self) -> None:
        self.submit(self.query_one("#answer", Input).value)

    def submit(self, value: str) -> None:
        problem = self.check(value) if self.check else None
        if problem:
            self.say(problem, "error")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def handle_scan(self, text: str) -> None:
        """A scan (or a fast typist) while the dialog is open: the answer, as if typed."""
        self.submit(text)
