"""An ESC/POS printer through a device file: ``file:///dev/usb/lp0`` (the kernel's usblp).

Opened without blocking and written with a deadline, so a printer that stops
taking data raises instead of hanging. The usblp driver reports the printer's
parallel-port status lines (``LPGETSTATUS``): paper out, selected, error.
Outside ``/dev`` a path is a file that collects the bytes (created 0600),
useful to capture a job.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import array
import contextlib
import errno
import fcntl
import os
import select
import time
from typing import Final

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError

from drivers.printer.base import PaperStatus, PrinterStatus, StatusReader

__all__ = ["FilePrinter"]

LPGETSTATUS: Final = 0x060B
LP_POUTPA: Final = 0x20  # paper out
LP_PSELECD: Final = 0x10  # selected (online)
LP_PERRORP: Final = 0x08  # no error (active low: clear means error)


class FilePrinter(StatusReader, Escpos):  # type: ignore[misc]
    def __init__(self, path: str, *, timeout: float) -> None:
        Escpos.__init__(self)
        self.path, self.timeout = path, timeout
        self._fd: int | None = None

    def open(self, raise_not_found: bool = True) -> None:
        flags = os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        if not self.path.startswith("/dev/"):
            flags |= os.O_CREAT | os.O_APPEND
        try:
            self._fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise DeviceNotFoundError(f"cannot open {self.path}: {exc.strerror}") from exc

    def _raw(self, msg: bytes) -> None:
        fd = self._fd
        if fd is None:
            raise DeviceNotFoundError(f"{self.path} is not open")
        deadline = time.monotonic() + self.timeout
        view = memoryview(msg)
        while view:
            try:
                view = view[os.write(fd, view) :]
                continue
            except BlockingIOError:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(errno.ETIMEDOUT, "the printer stopped taking data")
            select.select([], [fd], [], remaining)

    def read_status(self, timeout: float) -> PrinterStatus:
        if self._fd is None:
            raise DeviceNotFoundError(f"{self.path} is not open")
        buf = array.array("i", [0])
        try:
            fcntl.ioctl(self._fd, LPGETSTATUS, buf, True)
        except OSError:
            return PrinterStatus(online=None, paper=PaperStatus.UNKNOWN)  # not a usblp device
        lines = buf[0]
        paper = PaperStatus.OUT if lines & LP_POUTPA else PaperStatus.OK
        online = bool(lines & LP_PSELECD) and bool(lines & LP_PERRORP)
        return PrinterStatus(online=online, paper=paper)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
