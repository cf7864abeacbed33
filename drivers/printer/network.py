"""An ESC/POS printer on the network: ``tcp://HOST:9100`` (raw port 9100, "JetDirect").

A new connection is made for each job and closed after it, since such printers
serve one client at a time. Connecting, writing and reading the real-time
status all have timeouts.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import contextlib
import socket

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError

from drivers.printer.base import PrinterStatus, StatusReader, escpos_status

__all__ = ["NetworkPrinter"]


class NetworkPrinter(StatusReader, Escpos):  # type: ignore[misc]
    connect_per_job = True

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        Escpos.__init__(self)
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None

    def open(self, raise_not_found: bool = True) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise DeviceNotFoundError(
                f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc

    def _raw(self, msg: bytes) -> None:
        if self._sock is None:
            raise DeviceNotFoundError(f"{self.host}:{self.port} is not connected")
        self._sock.sendall(msg)

    def _read(self) -> bytes:
        return self._sock.recv(16) if self._sock is not None else b""

    def read_status(self, timeout: float) -> PrinterStatus:
        sock = self._sock
        if sock is None:
            raise DeviceNotFoundError(f"{self.host}:{self.port} is not connected")

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
