"""Keyboard-mode (HID "wedge") scanners: telling a scan from a person typing, by timing.

A scanner in keyboard mode types its data as a burst of keystrokes a few
milliseconds apart, then Enter. A person types tens to hundreds of
milliseconds apart. The UI feeds every key it receives, with the monotonic
time it arrived (seconds), to a :class:`BurstDetector`; on Enter the detector
answers with a :class:`KeyboardLine`:

- a scan (``is_scan``) when the keys that end the line form a *run* of at least
  ``min_length`` characters, no gap in it (Enter included) longer than
  ``max_gap`` and the mean gap at most ``max_mean_gap``. What a person typed
  before the burst is kept apart in ``typed_prefix`` (a cashier who started
  typing and then scanned);
- typed text otherwise.

A backspace or any editing key breaks a run: scanners never correct themselves.

Pure logic: no clock, no I/O; the caller passes the times. Imports only the
standard library and :mod:`pos_client.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pos_client.errors import ScannerError

__all__ = [
    "DEFAULT_MAX_GAP",
    "DEFAULT_MAX_MEAN_GAP",
    "DEFAULT_MIN_LENGTH",
    "BurstDetector",
    "KeyboardLine",
]

#: Longest pause (seconds) between two keys of one scan, Enter included.
DEFAULT_MAX_GAP: Final = 0.05
#: Longest mean pause (seconds) over a scan's keys.
DEFAULT_MAX_MEAN_GAP: Final = 0.03
#: Fewest characters in a scan (EAN-8 and purchase codes have 8).
DEFAULT_MIN_LENGTH: Final = 6


@dataclass(frozen=True, slots=True)
class KeyboardLine:
    """One line ended by Enter: a scan, or text a person typed."""

    text: str  # the scanned data (is_scan) or the whole typed line
    is_scan: bool
    typed_prefix: str = ""  # what a person typed before the scan burst

    @property
    def kind(self) -> Literal["scan", "typed"]:
        return "scan" if self.is_scan else "typed"

    def __repr__(self) -> str:  # a typed national ID must not reach a log
        return (
            f"KeyboardLine(text=<{len(self.text)} chars>, is_scan={self.is_scan}, "
            f"typed_prefix=<{len(self.typed_prefix)} chars>)"
        )


class BurstDetector:
    """Collects the keys of one line and decides, on Enter, whether a scanner typed them."""

    def __init__(
        self,
        *,
        max_gap: float = DEFAULT_MAX_GAP,
        max_mean_gap: float = DEFAULT_MAX_MEAN_GAP,
        min_length: int = DEFAULT_MIN_LENGTH,
    ) -> None:
        if not (0 < max_mean_gap <= max_gap) or min_length < 1:
            raise ScannerError("keyboard scanner timing must satisfy 0 < mean gap <= max gap")
        self.max_gap = max_gap
        self.max_mean_gap = max_mean_gap
        self.min_length = min_length
        self._chars: list[str] = []
        self._times: list[float] = []
        self._run_start = 0  # index where the current fast run began

    @property
    def text(self) -> str:
        """The line so far."""
        return "".join(self._chars)

    def clear(self) -> None:
        self._chars.clear()
        self._times.clear()
        self._run_start = 0

    def key(self, char: str, at: float) -> None:
        """A printable key (one character) arrived at ``at`` seconds."""
        if len(char) != 1:
            raise ScannerError("feed one character per key")
        if self._times and at - self._times[-1] > self.max_gap:
            self._run_start = len(self._chars)
        self._chars.append(char)
        self._times.append(at)

    def backspace(self, at: float) -> None:
        """Backspace (or another editing key): removes the last character, ends any run."""
        if self._chars:
            self._chars.pop()
            self._times.pop()
        self._run_start = len(self._chars)

    def burst_in_progress(self, now: float) -> bool:
        """Whether the line now ends in what may become a scan (for hiding the echo)."""
        run = len(self._chars) - self._run_start
        return run >= 2 and now - self._times[-1] <= self.max_gap

    def enter(self, at: float) -> KeyboardLine | None:
        """Enter arrived at ``at``: the finished line (``None`` if it was empty). Clears."""
        if not self._chars:
            self.clear()
            return None
        chars, start = self._chars, self._run_start
        run = len(chars) - start
        is_scan = False
        if run >= self.min_length and at - self._times[-1] <= self.max_gap:
            span = max(at - self._times[start], 0.0)
            is_scan = span / run <= self.max_mean_gap
        if is_scan:
            line = KeyboardLine(
                text="".join(chars[start:]), is_scan=True, typed_prefix="".join(chars[:start])
            )
        else:
            line = KeyboardLine(text="".join(chars), is_scan=False)
        self.clear()
        return line
