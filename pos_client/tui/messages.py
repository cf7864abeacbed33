"""Messages that reach the App from other threads and from background workers.

A scanner's reader thread and the status reader only ``post_message`` (which
is thread-safe) and return; the App's handlers do the rest on the UI thread.
"""

from __future__ import annotations

from textual.message import Message

from .widgets.status import StatusView

__all__ = ["ScanArrived", "ScannerChanged", "StatusRead"]


class ScanArrived(Message):
    """A scan from a serial or virtual scanner, or a keyboard-mode burst."""

    def __init__(self, text: str, *, source: str) -> None:
        super().__init__()
        self.text = text
        self.source = source

    def __repr__(self) -> str:  # a scanned national ID or token never reaches a log
        return f"ScanArrived(<{len(self.text)} chars>, source={self.source!r})"


class ScannerChanged(Message):
    """A scanner was connected, unplugged or came back."""

    def __init__(self, status: str, *, source: str) -> None:
        super().__init__()
        self.status = status
        self.source = source


class StatusRead(Message):
    """A fresh reading of the lane's status (network, queue, rules)."""

    def __init__(self, view: StatusView) -> None:
        super().__init__()
        self.view = view
