"""Serving the fleet page with uvicorn: in the foreground (``fleet serve``) or on a thread (tests).

The page listens on loopback unless told otherwise: it has no login of its
own, so another address needs ``allow_remote`` (and belongs behind the
chain's own reverse proxy with its sign-in).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import uvicorn

from pos_client.errors import ConfigError
from pos_client.fleet_page.app import LOOPBACK_HOSTS, create_fleet_app
from pos_client.services.fleet_watch import FleetWatch

__all__ = ["bind", "check_host", "page_server", "start_fleet_page"]


def check_host(host: str, *, allow_remote: bool) -> None:
    """Refuse an address beyond loopback unless ``allow_remote``."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise ConfigError(
            f"the fleet page has no login: serving it on {host} would show every lane to the"
            " network; put it behind your reverse proxy and pass --allow-remote, or use"
            " --host 127.0.0.1",
            key="host",
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a ConfigError sentence saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}; pass --port N", key="port"
        ) from None
    return sock


def page_server(
    watch: FleetWatch,
    *,
    stale_after: timedelta,
    any_host: bool = False,
    batch_s: float = 0.25,
    recheck_s: float = 5.0,
) -> uvicorn.Server:
    """A uvicorn server of the page; its event streams end when it is told to stop.
    Only loopback names are accepted in ``Host`` unless ``any_host``."""
    holder: list[uvicorn.Server] = []
    app = create_fleet_app(
        watch,
        stale_after=stale_after,
        stopping=lambda: bool(holder) and holder[0].should_exit,
        allowed_hosts=("*",) if any_host else LOOPBACK_HOSTS,
        batch_s=batch_s,
        recheck_s=recheck_s,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
    )
    holder.append(server)
    return server


@contextmanager
def start_fleet_page(
    watch: FleetWatch,
    *,
    stale_after: timedelta,
    host: str = "127.0.0.1",
    port: int = 0,
    batch_s: float = 0.25,
    recheck_s: float = 5.0,
) -> Iterator[str]:
    """Serve the page on a thread for the ``with`` block; yields its URL."""
    check_host(host, allow_remote=False)
    sock = bind(host, port)
    server = page_server(watch, stale_after=stale_after, batch_s=batch_s, recheck_s=recheck_s)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fleet-page", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError("the fleet page did not start", key="port")
            time.sleep(0.01)
        yield f"http://{host}:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
