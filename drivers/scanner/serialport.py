"""A barcode scanner on a serial port (USB CDC-ACM, RS-232, or any pyserial URL).

Modelled on pyserial's ``threaded.ReaderThread`` and its ``LineReader``: one
thread per scanner blocks in ``read()`` (no polling; ``stop()`` wakes it with
``cancel_read()``) and hands each chunk to a :class:`~drivers.scanner.framing.Framer`.
Unlike ``ReaderThread``, it outlives the port: when the scanner is unplugged
the read fails at once, the thread reports ``disconnected``, drops any partial
frame (with a logged reason) and reopens the same path (a by-id link) with
exponential backoff until it is back. Each frame is delivered exactly once:
only whole frames are passed on, and pyserial empties the input buffer on
every open.

The port is opened with ``exclusive=True``, so a second program cannot read
the same scanner unnoticed.

What is dropped (line noise, an overlong or unterminated run of bytes) is
logged with its reason, but a flood is not logged byte run by byte run: the
first drop is a warning, the rest of the next :data:`DROP_LOG_INTERVAL`
seconds are counted and summed up in one warning (see :class:`DropLog`).

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import serial

from drivers.scanner.base import (
    Clock,
    OnScan,
    OnState,
    ScanFrame,
    Scanner,
    ScannerState,
    ScannerStatus,
    utc_now,
)
from drivers.scanner.framing import Dropped, Frame, Framer, decode_frame
from drivers.serialfaults import SERIAL_FAULTS
from pos_client.errors import ScannerError

__all__ = ["DROP_LOG_INTERVAL", "Backoff", "DropLog", "SerialScanner"]

log = logging.getLogger(__name__)

#: After a logged drop, further drops for this many seconds are only counted.
DROP_LOG_INTERVAL: Final = 10.0

#: Opens the port: ``serial.serial_for_url`` with the scanner's settings.
PortFactory = Callable[[], Any]


class Backoff:
    """Delays between reopening attempts: ``first``, doubling, at most ``longest`` seconds."""

    def __init__(self, *, first: float = 0.05, longest: float = 2.0) -> None:
        self.first, self.longest = first, longest
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.longest)
        return delay

    def reset(self) -> None:
        self._next = self.first


class DropLog:
    """Logs dropped input: the first drop at once, then one summary per interval.

    ``dropped()`` is called for every drop; within ``interval`` seconds of the
    last warning, drops are only counted (how many, how many bytes, which
    reasons). The count is logged when the next drop comes after the interval,
    or by ``flush()`` (the reader calls it when the port closes). Used from the
    scanner's reader thread only.
    """

    def __init__(
        self,
        source: str,
        *,
        interval: float = DROP_LOG_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.interval = interval
        self._monotonic = monotonic
        self._quiet_until: float | None = None
        self._count = 0
        self._bytes = 0
        self._reasons: dict[str, None] = {}

    def dropped(self, length: int, reason: str) -> None:
        now = self._monotonic()
        if self._quiet_until is not None and now < self._quiet_until:
            self._count += 1
            self._bytes += length
            self._reasons.setdefault(reason)
            return
        self.flush()
        log.warning("scanner %s: dropped %d bytes (%s)", self.source, length, reason)
        self._quiet_until = now + self.interval

    def flush(self) -> None:
        """Log the drops counted since the last warning, if any."""
        if self._count:
            log.warning(
                "scanner %s: dropped %d more times, %d bytes in all (%s)",
                self.source,
                self._count,
                self._bytes,
                ", ".join(self._reasons),
            )
        self._count = self._bytes = 0
        self._reasons = {}


class SerialScanner(Scanner):
    """Reads one serial scanner on its own thread and reopens it after an unplug."""

    def __init__(
        self,
        *,
        port: str,
        source: str,
        on_scan: OnScan,
        on_state: OnState,
        framer: Framer,
        serial_options: dict[str, Any] | None = None,
        encoding: str = "utf-8",
        backoff: Backoff | None = None,
        clock: Clock = utc_now,
        port_factory: PortFactory | None = None,
    ) -> None:
        self.port = port
        self.source = source
        self._on_scan = on_scan
        self._on_state = on_state
        self._framer = framer
        self._options = dict(serial_options or {})
        self._encoding = encoding
        shape = backoff or Backoff()  # each scanner keeps its own delays
        self._backoff = Backoff(first=shape.first, longest=shape.longest)
        self._clock = clock
        self._open_port = port_factory or self._default_open
        self._exit = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: Any = None
        self._serial_lock = threading.Lock()
        self._status = ScannerStatus.STOPPED
        self._drops = DropLog(source)

    # ---- Scanner ------------------------------------------------------------------

    @property
    def status(self) -> ScannerStatus:
        return self._status

    def start(self) -> None:
        if self._thread is not None:
            return
        self._exit.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"scanner {self.source}", daemon=True
        )
        self._status = ScannerStatus.CONNECTING
        self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._exit.set()
        with self._serial_lock:
            port = self._serial
            if port is not None and hasattr(port, "cancel_read"):
                with contextlib.suppress(Exception):
                    port.cancel_read()
        if thread is not threading.current_thread():
            thread.join(timeout=5)
        self._thread = None
        self._report(ScannerStatus.STOPPED)

    # ---- the reader thread --------------------------------------------------------

    def _default_open(self) -> Any:
        options = {"baudrate": 9600, **self._options, "timeout": None, "exclusive": True}
        port = serial.serial_for_url(self.port, **options)
        if not hasattr(port, "cancel_read"):
            # socket:// and rfc2217:// cannot be woken: wake twice a second to see stop()
            port.timeout = 0.5
        return port

    def _run(self) -> None:
        self._report(ScannerStatus.CONNECTING)
        announced_down = False
        while not self._exit.is_set():
            try:
                port = self._open_port()
            except SERIAL_FAULTS as exc:
                if not announced_down:
                    self._report(ScannerStatus.DISCONNECTED, _why_not_open(exc, self.port))
                    announced_down = True
                log.debug("scanner %s: open failed: %s", self.source, exc)
                self._exit.wait(self._backoff.next())
                continue
            with self._serial_lock:
                self._serial = port
            if self._exit.is_set():  # stop() came while opening
                self._close(port)
                break
            self._backoff.reset()
            announced_down = False
            self._report(ScannerStatus.CONNECTED)
            error = self._read_until_gone(port)
            self._close(port)
            for dropped in self._framer.reset():
                self._log_dropped(dropped)
            self._drops.flush()
            if error is not None and not self._exit.is_set():
                self._report(ScannerStatus.DISCONNECTED, _why_gone(error))
                announced_down = True
                self._exit.wait(self._backoff.next())

    def _read_until_gone(self, port: Any) -> str | None:
        """Read until the device fails (returns why) or stop() is called (returns None)."""
        while not self._exit.is_set():
            try:
                data = port.read(port.in_waiting or 1)
            except SERIAL_FAULTS as exc:
                return str(exc) or type(exc).__name__
            if not data:
                continue  # cancel_read() from stop(), or a loop:// timeout
            for item in self._framer.feed(data, time.monotonic()):
                if isinstance(item, Frame):
                    self._deliver(item)
                else:
                    self._log_dropped(item)
        return None

    def _deliver(self, frame: Frame) -> None:
        received_at = self._clock()
        try:
            text = decode_frame(frame, encoding=self._encoding)
        except ScannerError as exc:
            self._drops.dropped(len(frame.data), f"{exc.code}: {exc.message}")
            return
        scan = ScanFrame.from_text(text, source=self.source, received_at=received_at)
        try:
            self._on_scan(scan)
        except Exception:  # a consumer's bug must not stop the scanner
            log.exception("scanner %s: on_scan failed", self.source)

    def _log_dropped(self, dropped: Dropped) -> None:
        self._drops.dropped(dropped.length, dropped.reason)

    def _close(self, port: Any) -> None:
        with self._serial_lock:
            self._serial = None
        with contextlib.suppress(Exception):
            port.close()

    def _report(self, status: ScannerStatus, detail: str = "") -> None:
        self._status = status
        state = ScannerState(source=self.source, status=status, at=self._clock(), detail=detail)
        log.info("scanner %s: %s %s", self.source, status.value, detail)
        try:
            self._on_state(state)
        except Exception:  # a consumer's bug must not stop the scanner
            log.exception("scanner %s: on_state failed", self.source)


def _why_not_open(exc: BaseException, port: str) -> str:
    text = str(exc)
    if "exclusively lock" in text:
        return f"{port} is in use by another program"
    if "No such file" in text or "[Errno 2]" in text:
        return f"{port} is not there (unplugged?)"
    if "Permission denied" in text or "[Errno 13]" in text:
        return f"no permission to open {port} (add the user to the dialout group)"
    return f"cannot open {port}: {text}"


def _why_gone(error: str) -> str:
    if "returned no data" in error or "Input/output error" in error or "[Errno 5]" in error:
        return "the scanner was unplugged or switched off"
    return f"the scanner stopped answering: {error}"
