"""An ESC/POS printer on a serial port: ``serial:///dev/ttyS0?baudrate=19200``.

Opened through pyserial's ``serial_for_url`` with ``exclusive=True``, a write
timeout (a printer that stops taking data raises instead of hanging) and a
short read timeout for the real-time status (``DLE EOT``) it answers.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import serial
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError

from drivers.printer.base import PrinterStatus, StatusReader, escpos_status
from drivers.serialfaults import SERIAL_FAULTS

__all__ = ["SerialPrinter"]


class SerialPrinter(StatusReader, Escpos):  # type: ignore[misc]
    """``_raw`` writes to the port; ``read_status`` asks DLE EOT and reads one byte."""

    def __init__(self, port: str, *, serial_options: dict[str, Any], timeout: float) -> None:
        Escpos.__init__(self)
        self.port = port
        self.serial_options = dict(serial_options)
        self.timeout = timeout
        self._port: Any = None

    def open(self, raise_not_found: bool = True) -> None:
        try:
            self._port = serial.serial_for_url(
                self.port,
                **self.serial_options,
                timeout=0.5,
                write_timeout=self.timeout,
                exclusive=True,
            )
        except SERIAL_FAULTS as exc:
            raise DeviceNotFoundError(f"cannot open {self.port}: {exc}") from exc

    def _raw(self, msg: bytes) -> None:
        if self._port is None:
            raise DeviceNotFoundError(f"{self.port} is not open")
        self._port.write(msg)

    def _read(self) -> bytes:
        if self._port is None:
            return b""
        return bytes(self._port.read(16))

    def flush(self) -> None:
        """Wait until the port has sent the job, at most the timeout (then ``TimeoutError``)."""
        port = self._port
        if port is None:
            return
        deadline = time.monotonic() + self.timeout
        while port.out_waiting:
            if time.monotonic() >= deadline:
                raise TimeoutError("the printer stopped taking data")
            time.sleep(0.01)  # tcdrain() has no timeout; poll the output queue instead

    def read_status(self, timeout: float) -> PrinterStatus:
        port = self._port
        if port is None:
            raise DeviceNotFoundError(f"{self.port} is not open")

        def ask(request: bytes) -> int | None:
            port.reset_input_buffer()
            port.write(request)
            answer = port.read(1)
            return answer[0] if answer else None

        return escpos_status(ask)

    def close(self) -> None:
        """Close once the job is sent; what the printer has not taken within the timeout
        is discarded, so that a stalled printer cannot hold the close up (the kernel
        would wait 30 s)."""
        with contextlib.suppress(Exception):
            self.flush()
        self.abort()

    def abort(self) -> None:
        """Discard what is not sent yet and close at once (after a failure)."""
        port, self._port = self._port, None
        if port is None:
            return
        with contextlib.suppress(Exception):
            port.reset_output_buffer()
        with contextlib.suppress(Exception):
            port.close()
