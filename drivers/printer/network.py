"""An ESC/POS printer on the network: ``tcp://HOST:9100`` (raw port 9100, "JetDirect").

A new connection is made for each job and closed after it, since such printers
serve one client at a time. Connecting, writing and reading the real-time
status all have timeouts.

A job counts as printed only when the printer has taken all of it: handing the
bytes to the kernel is not enough, since a printer that stops reading (paper
jam, head open, a hung controller) leaves the end of the receipt in this
machine's send queue, and closing the socket then throws it away. So after the
job :meth:`NetworkPrinter.flush` waits until the printer has acknowledged
every byte (the socket's send queue, ``SIOCOUTQ``, is empty), allowing the
timeout for each stretch without progress; a printer that stops taking data or
resets the connection mid-job raises :class:`~pos_client.errors.PrinterError`
with code ``printer_incomplete``, naming how much of the receipt it took.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import array
import contextlib
import errno
import fcntl
import logging
import os
import socket
import termios
import time
from typing import Final

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError

from drivers.printer.base import PrinterStatus, StatusReader, escpos_status
from pos_client.errors import PrinterError

__all__ = ["NetworkPrinter"]

log = logging.getLogger(__name__)

#: Linux: the bytes of a TCP socket not yet acknowledged by the peer (``SIOCOUTQ``).
SIOCOUTQ: Final = getattr(termios, "TIOCOUTQ", None)
#: How often :meth:`NetworkPrinter.flush` looks at the send queue.
DRAIN_POLL: Final = 0.01
_STALLED: Final = "stalled"


class NetworkPrinter(StatusReader, Escpos):  # type: ignore[misc]
    connect_per_job = True

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        Escpos.__init__(self)
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._written = 0  # bytes of the job handed to the socket since it was opened

    @property
    def _name(self) -> str:
        return f"{self.host}:{self.port}"

    def open(self, raise_not_found: bool = True) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise DeviceNotFoundError(
                f"cannot connect to {self._name}: {exc.strerror or exc}"
            ) from exc
        self._written = 0

    def _raw(self, msg: bytes) -> None:
        sock = self._sock
        if sock is None:
            raise DeviceNotFoundError(f"{self._name} is not connected")
        view = memoryview(msg)
        try:
            while view:
                sent = sock.send(view)
                self._written += sent
                view = view[sent:]
        except OSError as exc:
            raise self._cut_short(_reason(exc), left=_unacknowledged(sock)) from exc

    def _read(self) -> bytes:
        return self._sock.recv(16) if self._sock is not None else b""

    def flush(self) -> None:
        """Return once the printer has acknowledged every byte of the job.

        :class:`PrinterError` (``printer_incomplete``) when the printer resets
        the connection, or takes nothing more for ``timeout`` seconds, before
        the whole job is taken. Where the system cannot tell (not Linux), the
        bytes handed to the kernel are all there is to go by.
        """
        sock = self._sock
        if sock is None:
            return
        left = _unacknowledged(sock)
        if left is None:
            return
        deadline = time.monotonic() + self.timeout
        while left:
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise self._cut_short(_why(error))
            if time.monotonic() >= deadline:
                raise self._cut_short(_STALLED, left=left)
            time.sleep(DRAIN_POLL)
            still = _unacknowledged(sock)
            if still is None:
                return
            if still < left:
                deadline = time.monotonic() + self.timeout  # progress: a slow printer is fine
            left = still

    def _cut_short(self, why: str, *, left: int | None = None) -> PrinterError:
        """The error for a job the printer did not take whole (``left``: bytes it has not)."""
        if why == _STALLED and left is not None:
            what = f"stopped taking the receipt after {self._written - left:,} bytes"
        elif why == _STALLED:
            what = "stopped taking the receipt partway"
        else:
            what = f"{why} partway through the receipt"
        return PrinterError(
            f"the printer {self._name} {what}: the receipt is cut short and counts as not printed",
            code="printer_incomplete",
        )

    def read_status(self, timeout: float) -> PrinterStatus:
        sock = self._sock
        if sock is None:
            raise DeviceNotFoundError(f"{self._name} is not connected")

        def ask(request: bytes) -> int | None:
            sock.sendall(request)
            sock.settimeout(timeout)
            try:
                answer = sock.recv(1)
            except TimeoutError:
                return None
            finally:
                sock.settimeout(self.timeout)
            if not answer:
                raise ConnectionResetError("the printer closed the connection")
            return answer[0]

        return escpos_status(ask)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _unacknowledged(sock: socket.socket) -> int | None:
    """Bytes sent on ``sock`` that the peer has not acknowledged; None where unknown."""
    if SIOCOUTQ is None:
        return None
    buf = array.array("i", [0])
    try:
        fcntl.ioctl(sock.fileno(), SIOCOUTQ, buf, True)
    except OSError as exc:
        log.debug("the send queue of a printer socket cannot be read: %s", exc)
        return None
    return max(0, int(buf[0]))


def _why(error: int) -> str:
    if error in (errno.ECONNRESET, errno.EPIPE):
        return "dropped the connection"
    return f"failed ({os.strerror(error)})"


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return _STALLED
    if exc.errno is not None:
        return _why(exc.errno)
    return f"failed ({type(exc).__name__})"
