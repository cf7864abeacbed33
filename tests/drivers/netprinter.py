"""A network receipt printer on loopback (raw port 9100) that can stop reading mid-receipt.

It answers the real-time status questions (``DLE EOT``) as a ready printer,
keeps the bytes of the job, and, when told to, stops reading once it holds
``stop_after`` bytes of the job (counted from its ``ESC @``): then it either
keeps the connection open without reading (a jammed printer) or closes it
(a printer switched off or restarted). Its receive buffer is small, as a
printer's is, so what it does not read stays on the sender's side.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

from drivers.printer.base import ASK_PAPER, ASK_PRINTER

WAIT = 5.0
JOB_START = b"\x1b@"


class LoopbackPrinter:
    """``with LoopbackPrinter(stop_after=100) as printer: open_printer(printer.url)``."""

    def __init__(
        self, *, stop_after: int | None = None, then_close: bool = False, rcvbuf: int = 2048
    ) -> None:
        self.stop_after = stop_after
        self.then_close = then_close
        self.received = bytearray()
        self.stopped = threading.Event()  # it has stopped reading (or finished the job)
        self._release = threading.Event()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # inherited
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1)
        self._server.settimeout(WAIT)
        self.port = int(self._server.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def job(self) -> bytes:
        data = bytes(self.received)
        start = data.find(JOB_START)
        return data[start:] if start >= 0 else b""

    def _want(self) -> int:
        if self.stop_after is None:
            return 65536
        start = bytes(self.received).find(JOB_START)
        if start < 0:
            return 1  # status questions come one at a time: answer each
        return max(0, self.stop_after - (len(self.received) - start))

    def _serve(self) -> None:
        try:
            conn, _ = self._server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(WAIT)
            try:
                while (want := self._want()) > 0:
                    chunk = conn.recv(min(want, 65536))
                    if not chunk:
                        break
                    self.received.extend(chunk)
                    for request in (ASK_PRINTER, ASK_PAPER):
                        if bytes(self.received).endswith(request):
                            conn.sendall(b"\x12")  # online, paper present
            except OSError:
                pass
            self.stopped.set()
            if not self.then_close:
                self._release.wait(WAIT * 6)  # holds the connection, reads nothing more

    def __enter__(self) -> LoopbackPrinter:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release.set()
        self._server.close()
        self._thread.join(WAIT)
