"""The scanner interface: what a lane gets from any barcode scanner.

A :class:`Scanner` owns a reader thread (started by :meth:`Scanner.start`,
ended by :meth:`Scanner.stop`) and reports through two callbacks, called on
that thread (only the final ``stopped`` state comes from the thread that
called ``stop()``, after the reader has ended):

- ``on_scan(ScanFrame)`` for every complete scan, in order, once;
- ``on_state(ScannerState)`` when the device is connected, unplugged, back.

As in a Textual app's watcher thread, a callback must only hand the value over
(``app.call_from_thread(...)``, ``post_message``, ``queue.put``) and return:
the reader waits for it. An exception in a callback is logged and swallowed.

:class:`ScannerGroup` runs several scanners of one lane as one.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pos_client.domain.barcodes import parse_aim

__all__ = [
    "Clock",
    "OnScan",
    "OnState",
    "ScanFrame",
    "Scanner",
    "ScannerGroup",
    "ScannerState",
    "ScannerStatus",
    "utc_now",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ScanFrame:
    """One scan as the scanner sent it.

    ``data`` is the whole text, AIM symbology identifier included (``]E0...``),
    so that :func:`pos_client.domain.barcodes.classify_scan` sees what the
    scanner sent; ``symbology`` is that identifier (or ``None``); ``source``
    names the scanner; ``received_at`` is when its last byte arrived (UTC).
    """

    data: str
    symbology: str | None
    source: str
    received_at: datetime

    @classmethod
    def from_text(cls, text: str, *, source: str, received_at: datetime) -> ScanFrame:
        symbology, _ = parse_aim(text)
        return cls(data=text, symbology=symbology, source=source, received_at=received_at)

    @property
    def payload(self) -> str:
        """The data without its AIM identifier."""
        return parse_aim(self.data)[1]

    def __repr__(self) -> str:  # never put a scanned national ID or token in a log
        return (
            f"ScanFrame(data=<{len(self.data)} chars>, symbology={self.symbology!r}, "
            f"source={self.source!r}, received_at={self.received_at.isoformat()})"
        )


class ScannerStatus(StrEnum):
    CONNECTING = "connecting"  # started, not yet open
    CONNECTED = "connected"  # open and reading
    DISCONNECTED = "disconnected"  # unplugged or not found: retrying with backoff
    STOPPED = "stopped"  # stop() was called


@dataclass(frozen=True, slots=True)
class ScannerState:
    """A change in a scanner's connection; ``detail`` says why, in one sentence."""

    source: str
    status: ScannerStatus
    at: datetime
    detail: str = ""


OnScan = Callable[[ScanFrame], None]
OnState = Callable[[ScannerState], None]


class Scanner(ABC):
    """One scanner: opened from a URL, read on its own thread."""

    #: Names this scanner in scans and states (the URL without its options, or ``name=``).
    source: str

    @abstractmethod
    def start(self) -> None:
        """Start reading. Returns at once; a device not there yet is retried."""

    @abstractmethod
    def stop(self) -> None:
        """Stop reading and release the device. Idempotent; returns when the thread ended."""

    @property
    @abstractmethod
    def status(self) -> ScannerStatus:
        """The latest reported status."""

    def __enter__(self) -> Scanner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ScannerGroup(Scanner):
    """Several scanners on one lane, started and stopped together."""

    def __init__(self, scanners: Sequence[Scanner]) -> None:
        self.scanners = tuple(scanners)
        self.source = ", ".join(s.source for s in self.scanners)

    def start(self) -> None:
        started: list[Scanner] = []
        try:
            for scanner in self.scanners:
                scanner.start()
                started.append(scanner)
        except BaseException:
            for scanner in reversed(started):
                scanner.stop()
            raise

    def stop(self) -> None:
        for scanner in reversed(self.scanners):
            scanner.stop()

    @property
    def status(self) -> ScannerStatus:
        """Connected when every scanner is; else the first that is not."""
        for scanner in self.scanners:
            if scanner.status is not ScannerStatus.CONNECTED:
                return scanner.status
        return ScannerStatus.CONNECTED
