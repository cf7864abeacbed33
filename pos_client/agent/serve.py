"""Start and stop the lane agent: the lock on the lane's store, the socket, the signals.

:func:`run_agent` takes the lane's store for the agent (one owner: the screen
or the agent, :func:`pos_client.compose.claim_lane`), builds the lane from the
one composition root, binds the socket itself (a Unix socket made mode 0660,
or a loopback TCP port; never another address), says ``listening on ...`` on
standard output (and ``READY=1`` to systemd when it runs under
``Type=notify``), serves until SIGTERM or SIGINT, then stops: no new
connection is accepted, the requests in flight finish (a checkout under way
completes), the background work stops, the lane is closed and the lock let go.
The outbox is the store's: nothing of it lives only in memory.

Imports the standard library, uvicorn and the agent's modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import uvicorn

from pos_client.compose import build_app, check_store, claim_lane
from pos_client.compose_telemetry import lane_telemetry
from pos_client.config import Config
from pos_client.errors import ConfigError

from .background import background_work
from .http import AgentState, build_http_app

__all__ = ["SOCKET_MODE", "check_host", "default_socket", "run_agent"]

log = logging.getLogger(__name__)

SOCKET_MODE = 0o660
#: Seconds the background work has to end after a stop before it is cancelled.
BACKGROUND_STOP_S = 10.0
#: The longest path a Unix socket may have (sun_path, less its final NUL).
MAX_SOCKET_PATH = 107
BACKLOG = 128


def default_socket(config: Config) -> Path:
    """``$RUNTIME_DIRECTORY/agent.sock`` under systemd, else ``<store>.agent.sock`` beside it."""
    runtime = os.environ.get("RUNTIME_DIRECTORY")
    if runtime:
        return Path(runtime.split(":")[0]) / "agent.sock"
    store = Path(config.store.path)
    return store.with_name(store.name + ".agent.sock")


def check_host(host: str) -> str:
    """``host`` when it is a loopback address (127.0.0.0/8, ::1); else :class:`ConfigError`."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ConfigError(
            f"the lane agent listens only on this computer (127.0.0.1 or ::1), not on {host}:"
            " a lane's sales must not be reachable from the network",
            key="agent.host",
        )
    return str(address)


def _unix_socket(path: Path) -> socket.socket:
    text = str(path)
    if len(os.fsencode(text)) > MAX_SOCKET_PATH:
        raise ConfigError(
            f"the socket path {text} is too long for a Unix socket"
            f" (at most {MAX_SOCKET_PATH} bytes): give a shorter one with --socket",
            key="agent.socket",
        )
    if path.exists() or path.is_symlink():
        # The lane's lock is ours: a socket left there is a dead agent's. Anything else stays.
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ConfigError(
                f"{text} is there and is not a socket: give another path with --socket",
                key="agent.socket",
            )
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)  # made 0660 from the start: never a moment open to all
    try:
        sock.bind(text)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {text}: {exc.strerror}", key="agent.socket") from None
    finally:
        os.umask(old)
    os.chmod(text, SOCKET_MODE)
    sock.listen(BACKLOG)  # from now on a client is queued, even before the first accept
    return sock


def _tcp_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host} port {port}: {exc.strerror}", key="agent.port"
        ) from None
    sock.listen(BACKLOG)
    return sock


def _notify(message: str) -> None:
    """Tell systemd (``Type=notify``) ``READY=1`` or ``STOPPING=1``; nothing without it."""
    target = os.environ.get("NOTIFY_SOCKET")
    if not target:
        return
    address = "\0" + target[1:] if target.startswith("@") else target
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message.encode(), address)
    except OSError:
        log.warning("could not tell systemd %s", message)


class _Server(uvicorn.Server):
    """uvicorn's server with our own signal handling: a SIGTERM stops it and we exit 0
    (uvicorn would raise the signal again once stopped)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        def stop(signum: int, frame: Any) -> None:
            if self.should_exit and signum == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        saved = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


async def _serve(config: Config, sock: socket.socket, where: str, *, new_store: bool) -> int:
    lane = build_app(config, devices=True, new_store=new_store)
    for problem in lane.devices_errors:  # tried again when a receipt is printed
        log.warning("device: %s", problem)
    state = AgentState(lane, telemetry=lane_telemetry(lane))
    stop = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(work)
            for work in background_work(lane, stop, telemetry=state.telemetry)
        ]
        print(f"pos-client agent: listening on {where}", flush=True)
        _notify("READY=1")
        try:
            yield
        finally:
            _notify("STOPPING=1")
            await state.finish_checkouts()
            stop.set()
            done, pending = await asyncio.wait(tasks, timeout=BACKGROUND_STOP_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.warning("background work ended with an error", exc_info=task.exception())

    app = build_http_app(state, lifespan=lifespan)
    server = _Server(
        uvicorn.Config(
            app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=None,
            server_header=False,
        )
    )
    try:
        await server.serve(sockets=[sock])
    finally:
        await state.finish_checkouts()
        await lane.aclose()
    print("pos-client agent: stopped", flush=True)
    return 0


def run_agent(
    config: Config,
    *,
    socket_path: str | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    new_store: bool = False,
) -> int:
    """Serve the lane until SIGTERM or SIGINT; the exit status (0 after a clean stop).

    :class:`ConfigError` for an address that is not loopback or a socket that
    cannot be made; :class:`StoreError` (``lane_in_use``) when the screen or
    another agent holds the lane's store; both before anything is served.
    """
    if port is not None:
        host = check_host(host)
    if not new_store:
        check_store(config)
    owner = claim_lane(config, holder="agent")
    with owner:
        if port is not None:
            sock = _tcp_socket(host, port)
            bound = sock.getsockname()[1]
            where = f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}"
            path = None
        else:
            path = Path(socket_path) if socket_path else default_socket(config)
            sock = _unix_socket(path)
            where = f"unix:{path}"
        try:
            return asyncio.run(_serve(config, sock, where, new_store=new_store))
        finally:
            sock.close()
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
            sys.stdout.flush()
