"""A TCP relay on loopback whose existing connections can be frozen, then cut (a network fault).

``freeze()`` stops relaying on every connection open now, both ways, and keeps
their sockets open (a link that went silent: neither end learns of it);
connections made later are relayed as usual. ``cut_frozen()`` then closes the
frozen ones, so the far end sees them end only now.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pair:
    def __init__(self, inner: socket.socket, outer: socket.socket) -> None:
        self.inner = inner
        self.outer = outer
        self.frozen = False
        self.closed = False

    def close(self) -> None:
        self.closed = True
        for end in (self.inner, self.outer):
            try:
                end.close()
            except OSError:
                pass


class TcpProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        self.server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                inner, _ = self.server.accept()
            except OSError:
                continue
            try:
                outer = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                inner.close()
                continue
            pair = _Pair(inner, outer)
            with self._lock:
                self.pairs.append(pair)
            threading.Thread(target=self._relay, args=(pair,), daemon=True).start()

    def _relay(self, pair: _Pair) -> None:
        selector = selectors.DefaultSelector()
        selector.register(pair.inner, selectors.EVENT_READ, pair.outer)
        selector.register(pair.outer, selectors.EVENT_READ, pair.inner)
        try:
            while not pair.closed and not self._stop.is_set():
                if pair.frozen:
                    self._stop.wait(0.05)
                    continue
                for key, _ in selector.select(0.05):
                    if pair.frozen:
                        break
                    try:
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    except OSError:
                        data = b""
                    if not data:
                        pair.close()
                        return
                    key.data.sendall(data)
        except OSError:
            pair.close()
        finally:
            selector.close()

    def freeze(self) -> int:
        with self._lock:
            live = [p for p in self.pairs if not p.closed]
        for pair in live:
            pair.frozen = True
        return len(live)

    def cut_frozen(self) -> None:
        with self._lock:
            frozen = [p for p in self.pairs if p.frozen]
        for pair in frozen:
            pair.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()
        with self._lock:
            for pair in self.pairs:
                pair.close()


@contextmanager
def tcp_proxy(target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_port)
    try:
        yield proxy
    finally:
        proxy.close()
