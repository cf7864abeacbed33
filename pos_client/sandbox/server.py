"""Building and running the sandbox ledger: one DATA directory, one uvicorn server.

- :func:`build_sandbox` opens (or, the first time, makes) everything under
  DATA and wires the parts together: books, key, catalog, rule sets, ledger,
  admin, faults, clock.
- :func:`start_sandbox` runs it on a background thread (the tests, the demo
  command and the benchmark use it): a context manager yielding a
  :class:`RunningSandbox` once ``/v1/health`` answers, and stopping it after.
- :func:`serve` runs it in the foreground until Ctrl-C (``pos-client sandbox``).

The listening socket is bound before the server starts, so port 0 gives a free
port whose URL is known (and written into ``sandbox.json``) at once.

Imports uvicorn, httpx (to wait for health and for the helper methods), the
standard library and the sandbox's modules.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from .admin import Admin
from .app import ClockDate, create_app
from .books import Books
from .catalog import Catalog
from .clock import SandboxClock
from .datadir import (
    CATALOG_DIR,
    INFO_FILE,
    Settings,
    create_demo_world,
    info_document,
    open_books,
    settle_settings,
    terminals_with_tokens,
    write_files,
)
from .edge import ProblemGuard, ProblemH11Protocol
from .enrolments import Enrolments
from .faults import FaultMiddleware, Faults, OutageGate
from .fleet_demo import ensure_fleet
from .keys import SigningIdentity, load_or_create
from .ledger import Ledger
from .load import LoadLimits, LoadMiddleware, LoadSettings
from .rulesets import RuleSets


@dataclass
class Sandbox:
    """Every part of one sandbox ledger, wired together."""

    data_dir: Path
    settings: Settings
    books: Books
    signer: SigningIdentity
    clock: SandboxClock
    faults: Faults
    catalog: Catalog
    rulesets: RuleSets
    ledger: Ledger
    admin: Admin
    load: LoadLimits
    enrolments: Enrolments
    url: str = ""

    def asgi(self) -> Any:
        """The whole HTTP stack: an outage, the guard, the load limits, the faults, the dates,
        the app."""
        inner = FaultMiddleware(ClockDate(create_app(self), self), self.faults)
        return OutageGate(ProblemGuard(LoadMiddleware(inner, self.load)), self.faults)

    def info(self) -> dict[str, Any]:
        with self.books.read() as tx:
            return info_document(
                tx,
                data_dir=self.data_dir,
                url=self.url,
                signer=self.signer,
                settings=self.settings,
                catalog=self.catalog,
                now=self.clock.now(),
            )

    def write_files(self) -> None:
        """Write ``sandbox.json`` and the lane files for the current URL."""
        info = self.info()
        with self.books.read() as tx:
            terminals = terminals_with_tokens(tx)
        write_files(self.data_dir, info=info, terminals=terminals, signer=self.signer)

    def close(self) -> None:
        self.books.close()


def build_sandbox(
    data_dir: Path,
    *,
    catalog_size: int | None = None,
    seed: int | None = None,
    clock: SandboxClock | None = None,
    load: LoadSettings | None = None,
) -> Sandbox:
    """Open the sandbox in ``data_dir``, making its books, key and demo world the first time."""
    data_dir = Path(data_dir).resolve()
    clock = clock or SandboxClock()
    books = open_books(data_dir)
    try:
        signer = load_or_create(data_dir)
        now = clock.now()
        with books.write() as tx:
            settings, first = settle_settings(tx, catalog_size=catalog_size, seed=seed, now=now)
        catalog = Catalog(
            books=books,
            directory=data_dir / CATALOG_DIR,
            size=settings.catalog_size,
            seed=settings.seed,
            signer=signer,
        )
        rulesets = RuleSets(signer=signer, catalog=catalog)
        if first:
            with books.write() as tx:
                create_demo_world(tx, settings=settings, now=now)
                catalog.initialise(tx, now=now)
                rulesets.issue(tx, now=now)
        with books.write() as tx:
            ensure_fleet(tx)
        catalog.prepare()
    except BaseException:
        books.close()
        raise
    ledger = Ledger(books=books, catalog=catalog, rulesets=rulesets, signer=signer, clock=clock)
    admin = Admin(books=books, catalog=catalog, rulesets=rulesets, signer=signer, clock=clock)
    enrolments = Enrolments(
        books=books, catalog=catalog, rulesets=rulesets, signer=signer, clock=clock
    )
    return Sandbox(
        data_dir=data_dir,
        settings=settings,
        books=books,
        signer=signer,
        clock=clock,
        faults=Faults(now=clock.now),
        catalog=catalog,
        rulesets=rulesets,
        ledger=ledger,
        admin=admin,
        load=LoadLimits(load, now=clock.now),
        enrolments=enrolments,
    )


class ListenError(OSError):
    """The sandbox cannot listen where it was asked to; the message says what to do."""


#: Said when the sandbox listens beyond this computer (with ``allow_remote``).
REMOTE_WARNING = (
    "Warning: the sandbox listens on {host}, beyond this computer: anyone who can reach it"
    " may mint tokens, read OTP and purchase codes, move the clock and inject faults through"
    " the /sandbox/* endpoints, which take no authentication."
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this computer (an unresolvable name counts as such:
    it cannot be listened on anyway, and binding says so)."""
    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return True
    addresses = {str(info[4][0]).split("%", 1)[0] for info in infos}
    return all(ipaddress.ip_address(a).is_loopback for a in addresses)


def check_host(host: str, *, allow_remote: bool) -> str | None:
    """The warning to show for ``host`` (``None``: loopback), or :class:`ListenError`.

    Beyond loopback the unauthenticated ``/sandbox/*`` endpoints would be open
    to the network, so that needs ``allow_remote`` (``--allow-remote-sandbox``).
    """
    if is_loopback(host):
        return None
    if not allow_remote:
        raise ListenError(
            errno.EACCES,
            f"listening on {host} would open the unauthenticated /sandbox/* endpoints (mint"
            " tokens, read codes) to the network: pass --allow-remote-sandbox to do it anyway,"
            " or --host 127.0.0.1",
        )
    return REMOTE_WARNING.format(host=host)


def _listen_problem(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use: pass --port N or stop the other program"
    if exc.errno == errno.EACCES:
        return f"port {port} on {host} needs more privileges: pass --port N above 1023"
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return f"{host} is not an address of this computer: pass --host 127.0.0.1"
    return f"cannot listen on port {port} on {host}: {exc.strerror or exc}"


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or :class:`ListenError` saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, so that asyncio sets TCP_NODELAY on accepted connections
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ListenError(exc.errno, _listen_problem(exc, host, port)) from exc
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def _config(app: Any, *, log_level: str, access_log: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        lifespan="off",
        date_header=False,  # the app dates its answers by the sandbox clock (ClockDate)
        timeout_graceful_shutdown=5,
        http=ProblemH11Protocol,  # its "not HTTP" refusal is a problem document too
    )


@dataclass
class RunningSandbox:
    """A sandbox serving on a loopback port, with helpers for its ``/sandbox/`` endpoints."""

    url: str
    data_dir: Path
    sandbox: Sandbox
    info: dict[str, Any] = field(default_factory=dict)
    _admin_client: httpx.Client | None = field(default=None, repr=False)

    def close(self) -> None:
        """Close the helpers' HTTP client (the server is stopped by :func:`start_sandbox`)."""
        if self._admin_client is not None:
            self._admin_client.close()
            self._admin_client = None

    # ------------------------------------------------------------ files and data

    def config_path(self, terminal_id: str) -> Path:
        return self.data_dir / f"lane-{terminal_id}.toml"

    @property
    def info_path(self) -> Path:
        return self.data_dir / INFO_FILE

    def terminal(self, terminal_id: str = "T-0001") -> dict[str, Any]:
        for terminal in self.info["terminals"]:
            if terminal["terminal_id"] == terminal_id:
                return dict(terminal)
        raise KeyError(terminal_id)

    def household(self, key: str) -> dict[str, Any]:
        for household in self.info["households"]:
            if household["key"] == key:
                return dict(household)
        raise KeyError(key)

    def client(self, terminal_id: str | None = "T-0001", **kw: Any) -> httpx.Client:
        """An httpx client for the sandbox, authenticated as a demo terminal (or not)."""
        headers = dict(kw.pop("headers", {}))
        if terminal_id is not None:
            headers["Authorization"] = f"Bearer {self.terminal(terminal_id)['token']}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kw)

    def admin_token(self, merchant_id: str = "M-0001") -> str:
        """The demo merchant admin token of ``merchant_id`` (from ``sandbox.json``)."""
        for admin in self.info["merchant_admins"]:
            if admin["merchant_id"] == merchant_id:
                return str(admin["token"])
        raise KeyError(merchant_id)

    def admin_client(self, merchant_id: str = "M-0001", **kw: Any) -> httpx.Client:
        """An httpx client for the sandbox, authenticated as a demo merchant's admin."""
        headers = dict(kw.pop("headers", {}))
        headers["Authorization"] = f"Bearer {self.admin_token(merchant_id)}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kw)

    # ------------------------------------------------------------ /sandbox/ helpers

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        if self._admin_client is None:
            self._admin_client = httpx.Client(base_url=self.url, timeout=30.0)
        response = self._admin_client.request(method, path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def mint_token(self, national_id: str, **options: Any) -> str:
        token: str = self._admin(
            "POST", "/sandbox/tokens", {"national_id": national_id, **options}
        )["token"]
        return token

    def mint_purchase_code(self, national_id: str) -> str:
        code: str = self._admin("POST", "/sandbox/purchase-codes", {"national_id": national_id})[
            "purchase_code"
        ]
        return code

    def otp_code(self, challenge_id: str) -> str:
        code: str = self._admin("GET", f"/sandbox/otp-challenges/{challenge_id}")["code"]
        return code

    def add_fault(self, kind: str, path: str, **options: Any) -> dict[str, Any]:
        fault: dict[str, Any] = self._admin(
            "POST", "/sandbox/faults", {"kind": kind, "path": path, **options}
        )
        return fault

    def clear_faults(self) -> None:
        self._admin("DELETE", "/sandbox/faults")

    def advance_clock(self, seconds: int) -> None:
        self._admin("POST", "/sandbox/clock", {"advance_seconds": seconds})

    def set_load(self, **settings: Any) -> dict[str, Any]:
        """New load limits (see :class:`~.load.LoadSettings`); the limits and counts."""
        document: dict[str, Any] = self._admin("POST", "/sandbox/load", settings)
        return document

    def load_counts(self) -> dict[str, Any]:
        document: dict[str, Any] = self._admin("GET", "/sandbox/load")
        return document

    def set_blocked(self, national_id: str, blocked: bool) -> None:
        self._admin("POST", "/sandbox/hot-list", {"national_id": national_id, "blocked": blocked})

    def set_next_unlock(self, when: datetime | None) -> str:
        """Announce the next tranche unlock in the rules (None: none); the new rules' version."""
        text = None if when is None else when.isoformat()
        version: str = self._admin("POST", "/sandbox/rules", {"next_unlock_at": text})[
            "rules_version"
        ]
        return version

    def revise_catalog(self, changes: int = 6) -> str:
        version: str = self._admin("POST", "/sandbox/catalog/revisions", {"changes": changes})[
            "catalog_version"
        ]
        return version


def _wait_healthy(url: str, server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server stopped while starting")
        if server.started:
            try:
                if httpx.get(url + "v1/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.01)
    raise RuntimeError("the sandbox server did not become healthy in time")


@contextmanager
def start_sandbox(
    data_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    catalog_size: int | None = None,
    seed: int | None = None,
    log_level: str = "warning",
    allow_remote: bool = False,
    load: LoadSettings | None = None,
) -> Iterator[RunningSandbox]:
    """Run a sandbox on a background thread until the ``with`` block ends.

    ``port=0`` picks a free port. On exit the server stops (open requests may
    finish) and the books are closed; DATA keeps everything for the next start.
    A ``host`` beyond loopback needs ``allow_remote`` (see :func:`check_host`).
    """
    check_host(host, allow_remote=allow_remote)
    sandbox = build_sandbox(Path(data_dir), catalog_size=catalog_size, seed=seed, load=load)
    sock = None
    try:
        sock = _bind(host, port)
        sandbox.url = _url(host, sock.getsockname()[1])
        sandbox.write_files()
        server = uvicorn.Server(_config(sandbox.asgi(), log_level=log_level, access_log=False))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sandbox-ledger", daemon=True
        )
        thread.start()
        try:
            _wait_healthy(sandbox.url, server, thread)
            info = json.loads((sandbox.data_dir / INFO_FILE).read_text(encoding="utf-8"))
            running = RunningSandbox(
                url=sandbox.url, data_dir=sandbox.data_dir, sandbox=sandbox, info=info
            )
            try:
                yield running
            finally:
                running.close()
        finally:
            server.should_exit = True
            thread.join(timeout=15)
    finally:
        if sock is not None:
            sock.close()
        sandbox.close()


#: How long a thread may hold the interpreter before the server's event loop gets it back.
SERVING_SWITCH_INTERVAL = 0.0005


def serving_process() -> None:
    """Tune a process that only serves the sandbox: refusals stay cheap under load.

    The books are written in worker threads (``run_in_threadpool``) while the
    event loop answers the cheap requests: refusals (``429``/``503``, before any
    body is read) and ``/v1/health``. Python hands the interpreter from a busy
    thread to another only every switch interval (5 ms by default), so under a
    herd a refusal could wait several of them behind the threads booking
    batches; a shorter interval lets the event loop answer it at once.
    Process-wide, so only for a process of the sandbox's own (``serve``, the
    benchmark's ledger), never for one a lane or a test shares.
    """
    sys.setswitchinterval(SERVING_SWITCH_INTERVAL)


def serve(
    data_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    catalog_size: int | None = None,
    seed: int | None = None,
    on_ready: Any = None,
    allow_remote: bool = False,
    load: LoadSettings | None = None,
) -> None:
    """Run a sandbox in the foreground until interrupted (Ctrl-C stops it cleanly).

    The port is taken first: when it cannot be (:class:`ListenError`), DATA is
    left as it was. A ``host`` beyond loopback needs ``allow_remote`` (see
    :func:`check_host`); the caller shows the warning.
    """
    check_host(host, allow_remote=allow_remote)
    serving_process()
    sock = _bind(host, port)
    try:
        sandbox = build_sandbox(Path(data_dir), catalog_size=catalog_size, seed=seed, load=load)
    except BaseException:
        sock.close()
        raise
    try:
        sandbox.url = _url(host, sock.getsockname()[1])
        sandbox.write_files()
        if on_ready is not None:
            on_ready(sandbox)
        server = uvicorn.Server(_config(sandbox.asgi(), log_level="info", access_log=True))
        server.run(sockets=[sock])
    finally:
        sock.close()
        sandbox.close()


__all__ = [
    "REMOTE_WARNING",
    "ListenError",
    "RunningSandbox",
    "Sandbox",
    "build_sandbox",
    "check_host",
    "is_loopback",
    "serve",
    "serving_process",
    "start_sandbox",
]
