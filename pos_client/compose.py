"""The one composition root: a validated config in, the store, ledger client and services out.

The CLI commands and the Textual app both build what they need here, and the
tests build the same thing (with a real sandbox, or a transport or clock of
their own). Nothing reads config or opens a connection at import time.

Devices are opened here and nowhere else, from their URLs, and only when the
``drivers`` package is there: the printer when the lane is built with
``devices=True`` (one that could not be opened then is tried again when a
receipt is printed, :meth:`Lane.receipt_printer`); the scanners and the scale
when the screen asks (:meth:`Lane.open_scanners`, :meth:`Lane.open_scale`),
handed over typed by the narrow ports :class:`~pos_client.ports.Scanners` and
:class:`~pos_client.ports.Scale`.

A lane built with ``training=True`` is marked as a training lane in its store:
its receipts say so, also when printed again later from the command line.

Imports the project's config, adapters, services and errors.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from pos_client.adapters.fleet_http import FleetHttp
from pos_client.adapters.lane_lock import LaneLock, hold_lane
from pos_client.adapters.lane_token import TokenFile, rotation_lock, write_token
from pos_client.adapters.ledger_http import HttpLedger
from pos_client.adapters.sqlite import SqliteStore, open_lane_store
from pos_client.adapters.sqlite.identity import check_lane_store
from pos_client.config import Config
from pos_client.domain.config_layers import KEYS
from pos_client.domain.offline import OfflineLimits
from pos_client.errors import DeviceError, LedgerError, PrinterError, StoreError
from pos_client.ports import Clock, Printer, Scale, Scanners, SystemClock
from pos_client.services.checkout import CheckoutService
from pos_client.services.forwarder import Forwarder
from pos_client.services.group_names import group_names
from pos_client.services.lane_standing import LaneStanding
from pos_client.services.ledger_time import LedgerTime
from pos_client.services.preferences import LanePreferences
from pos_client.services.prefetch import UnlockPrefetch
from pos_client.services.receipts import TRAINING_META_KEY, ReceiptService
from pos_client.services.records import Records
from pos_client.services.refresh import RefreshService, RulesBook
from pos_client.services.reports import ReportService
from pos_client.services.retention import Retention
from pos_client.services.terminal_config import ConfigSync, TerminalConfigBook, offline_limits_of
from pos_client.services.token_rotation import TokenRotation

if TYPE_CHECKING:
    from drivers.scanner.base import ScanFrame, ScannerState
    from pos_client.adapters.mqtt_fleet import BrokerEndpoint, FleetSubscriber
    from pos_client.services.doctor import DeviceOpeners, Doctor
    from pos_client.services.fleet_watch import FleetWatch

__all__ = [
    "App",
    "Lane",
    "admin_ledger",
    "build_app",
    "build_doctor",
    "check_store",
    "claim_lane",
    "offline_limits",
    "open_app",
    "own_values",
    "sale_budget",
    "stuck_after",
]

log = logging.getLogger(__name__)

#: Seconds between two writes of "the ledger answered" (hours count for offline limits).
CONTACT_WRITE_INTERVAL = 60.0


def offline_limits(config: Config) -> OfflineLimits:
    """The lane's offline limits (the config reads them into the domain's type)."""
    return config.offline


def own_values(config: Config) -> dict[str, Any]:
    """The layerable keys the lane's own config sets: those its file names, and any value
    other than the built-in default (a config made in code). They win over the config
    layers, not over a chain's lock or ceiling."""
    values = {
        "offline.enabled": config.offline.enabled,
        "offline.max_rial_per_transaction": config.offline.max_rial_per_transaction,
        "offline.max_rial_per_beneficiary_per_day": config.offline.max_rial_per_beneficiary_per_day,
        "offline.max_outstanding_rial": config.offline.max_outstanding_rial,
        "offline.max_hours_since_contact": config.offline.max_hours_since_contact,
        "ui.language": config.ui.language,
        "ui.currency": config.ui.currency,
        "ledger.sale_budget_s": config.ledger.sale_budget_s,
        "ledger.stuck_after_hours": config.ledger.stuck_after_hours,
    }
    own = {k: v for k, v in values.items() if k in config.file_values or v != KEYS[k].default}
    own.update({k: v for k, v in config.file_values.items() if k not in values})
    return own


def sale_budget(config: Config) -> float:
    """``[ledger] sale_budget_s``: the whole confirm step's time (default 15 s)."""
    return float(config.ledger.sale_budget_s)


def stuck_after(config: Config) -> timedelta:
    """``[ledger] stuck_after_hours``: when an undecided outbox item is told (default 6 h)."""
    return timedelta(hours=config.ledger.stuck_after_hours)


@dataclass
class Lane:
    """Everything one lane runs on. Close it with :meth:`aclose`.

    The screen and the commands use its services (``checkout``, ``forwarder``,
    ``refresh``, ``reports``, ``receipts``, ``records``, ``preferences``) and the
    devices it opens; ``store`` is for the services, not for them.
    """

    config: Config
    clock: Clock
    store: SqliteStore
    ledger: HttpLedger
    rules: RulesBook
    refresh: RefreshService
    checkout: CheckoutService
    forwarder: Forwarder
    reports: ReportService
    printer: Printer | None = None
    devices_errors: list[str] = field(default_factory=list)
    devices: bool = False  # whether the lane may use its devices (``build_app(devices=True)``)
    receipts: ReceiptService = field(init=False)
    records: Records = field(init=False)
    retention: Retention = field(init=False)
    preferences: LanePreferences = field(init=False)
    #: Revoked or retired (for the token held now): the lane sells nothing.
    standing: LaneStanding = field(init=False)
    #: The terminal token's rotation (on a schedule, and ``pos-client token rotate``).
    tokens: TokenRotation = field(init=False)
    #: The rules and catalog fetched ahead of a tranche unlock, at this lane's own moment.
    prefetch: UnlockPrefetch = field(init=False)
    #: The lane's clock against the ledger's (the services read its corrected time).
    ledger_time: LedgerTime | None = None
    #: The chain's, store's and lane's config layers as last fetched, merged with the file.
    terminal_config: TerminalConfigBook | None = None

    def receipt_printer(self) -> Printer:
        """The lane's printer (opened again if it could not be opened before).

        :class:`PrinterError`: ``no_printer`` when none is configured or the
        lane was built without its devices, else why the configured one
        cannot be opened. Opening does not connect: a printer that is off or
        out of paper fails when it prints.
        """
        if self.printer is not None:
            return self.printer
        url = self.config.devices.printer
        if not url:
            raise PrinterError(
                "no receipt printer is configured ([devices] printer)", code="no_printer"
            )
        if not self.devices:
            raise PrinterError("this lane was started without its devices", code="no_printer")
        try:
            printer = _open_printer(url)
        except DeviceError as exc:
            raise PrinterError(
                f"the receipt printer cannot be opened: {exc.message}", code=exc.code
            ) from None
        if printer is None:
            raise PrinterError("the printer drivers are not installed", code="printer_unavailable")
        self.printer = printer
        return printer

    def open_scanners(
        self,
        urls: Sequence[str],
        *,
        on_scan: Callable[[ScanFrame], None],
        on_state: Callable[[ScannerState], None],
        runtime_dir: str | Path | None = None,
    ) -> Scanners | None:
        """The scanners at ``urls``, started; None when there are none (or no drivers).

        ``on_scan`` and ``on_state`` run on the scanners' reader threads. The
        caller stops them (:meth:`Scanners.stop`). :class:`ScannerError` when
        one cannot be opened or a scanner is configured twice; nothing is left
        running then.
        """
        if not urls:
            return None
        try:
            from drivers.scanner import open_scanners
        except ImportError:  # the drivers are optional
            return None
        scanners = open_scanners(
            list(urls), on_scan=on_scan, on_state=on_state, runtime_dir=runtime_dir
        )
        scanners.start()
        return scanners

    def open_scale(self, *, runtime_dir: str | Path | None = None) -> Scale | None:
        """The configured scale (``[devices] scale``), or None when there is none.

        The caller closes it. :class:`ScaleError` when it cannot be opened.
        """
        url = self.config.devices.scale
        if not url:
            return None
        try:
            from drivers.scale import open_scale
        except ImportError:  # the drivers are optional
            return None
        return open_scale(url, runtime_dir=runtime_dir)

    async def aclose(self) -> None:
        try:
            await self.ledger.aclose()
        finally:
            if self.printer is not None:
                try:
                    self.printer.close()
                except DeviceError:
                    log.warning("the printer did not close cleanly", exc_info=True)
            self.store.close()


def _fetch_config_with_rules(app: Lane, layered: TerminalConfigBook) -> None:
    """The refresh fetches the terminal config with the rules; a new version waits for a sale."""
    checkout = app.checkout
    start = layered.effective()
    handed = [offline_limits_of(start), float(start["ledger.sale_budget_s"].value)]

    def apply(version: str, effective: dict[str, Any]) -> None:
        # Only what the new version changes: a setting it leaves alone stays as it is.
        limits = offline_limits_of(effective)
        budget = float(effective["ledger.sale_budget_s"].value)
        checkout.stage_settings(
            limits=limits if limits != handed[0] else None,
            sale_budget=budget if budget != handed[1] else None,
            version=version,
        )
        handed[:] = [limits, budget]

    async def fetch() -> ConfigSync:
        try:
            return await layered.sync(app.ledger, at=app.refresh.clock.now(), apply=apply)
        except LedgerError as exc:  # the rules came; the config waits for the next fetch
            log.warning("the terminal config could not be fetched: %s", exc.message)
            return ConfigSync(False, layered.version, error=exc.message)

    app.refresh.config = fetch


def _open_printer(url: str) -> Printer | None:
    try:
        from drivers.printer import open_printer
    except ImportError:  # the drivers are optional
        return None
    return open_printer(url)


def check_store(config: Config) -> None:
    """Refuse (``StoreRefused``) a lane whose store is not there, before anything is made beside it.

    What :func:`build_app` checks first (see :mod:`pos_client.adapters.sqlite.identity`),
    for a caller that must know before it writes anything (the screen's log file).
    """
    check_lane_store(config.store.path, config_path=config.source, lang=config.ui.language)


def claim_lane(config: Config, *, holder: str) -> LaneLock:
    """Own the lane's store for ``holder`` (``screen`` or ``agent``) until released or death.

    :class:`StoreError` (``lane_in_use``, one sentence) when the other one holds it
    (see :mod:`pos_client.adapters.lane_lock`).
    """
    return hold_lane(config.store.path, holder=holder, lang=config.ui.language)


def build_app(
    config: Config,
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    devices: bool = False,
    store_max_bytes: int | None = None,
    read_only: bool = False,
    training: bool = False,
    new_store: bool = False,
) -> Lane:
    """Build the lane from ``config`` (opens the store; the ledger client connects lazily).

    ``training``: the lane is used for training (the demo); its store keeps that mark.
    The store must be the one the lane had (its identity file beside the config):
    a missing, empty or other store is refused with a sentence
    (:class:`~pos_client.adapters.sqlite.StoreRefused`) unless ``new_store``.
    """
    lane_clock = clock or SystemClock()
    store = open_lane_store(
        config.store.path,
        config_path=config.source,
        read_only=read_only,
        new_store=new_store,
        max_size_bytes=store_max_bytes,
        lang=config.ui.language,
    )
    try:
        # Every service reads the ledger's time: the lane's clock corrected by its offset.
        ledger_time = LedgerTime(clock=lane_clock, store=None if read_only else store)
        clock = ledger_time
        noted: list[float] = []

        def contact() -> None:
            # Every answer proves contact; writing it down once a minute is plenty.
            if noted and clock.monotonic() - noted[0] < CONTACT_WRITE_INTERVAL:
                return
            try:
                store.record_contact(clock.now())
                noted[:] = [clock.monotonic()]
            except StoreError:
                log.warning("could not record the last contact with the ledger")

        # The token is read again from the config file when it changes (a rotation
        # made by another process); a config built in memory keeps its own.
        source = config.source
        token_file = TokenFile(source, config.ledger.token) if source is not None else None
        token_now = token_file.current if token_file is not None else lambda: config.ledger.token
        standing = LaneStanding(store=store, token=token_now)
        ledger = HttpLedger.from_config(
            config.ledger,
            transport=transport,
            on_contact=None if read_only else contact,
            on_server_time=ledger_time.observe_answer,
            token_source=token_now,
            on_revoked=None if read_only else standing.note_revoked,
        )
        rules = RulesBook(store=store, config_keys=config.ledger.trusted_keys)
        layered = TerminalConfigBook(store=store, rules=rules, file_values=own_values(config))
        effective = layered.effective()
        # A request may be on its way for as long as the client waits for it, and a bit.
        grace = timedelta(seconds=config.ledger.connect_timeout + config.ledger.read_timeout + 2)
        app = Lane(
            config=config,
            clock=lane_clock,
            store=store,
            ledger=ledger,
            rules=rules,
            refresh=RefreshService(ledger=ledger, store=store, clock=clock, rules=rules),
            checkout=CheckoutService(
                ledger=ledger,
                store=store,
                clock=clock,
                rules=rules,
                ledger_time=ledger_time,
                terminal_id=config.terminal.id,
                city=config.terminal.city,
                offline=offline_limits_of(effective),
                abandon_grace=grace,
                sale_budget=float(effective["ledger.sale_budget_s"].value),
            ),
            forwarder=Forwarder(
                ledger=ledger,
                store=store,
                clock=clock,
                abandon_grace=grace,
                stuck_after=timedelta(hours=effective["ledger.stuck_after_hours"].value),
            ),
            reports=ReportService(
                store=store, ledger=ledger, clock=clock, terminal_id=config.terminal.id
            ),
        )
        if training and not read_only:
            store.set_meta(TRAINING_META_KEY, "1")
        app.receipts = ReceiptService(
            store=store,
            shop_name=config.terminal.shop_name,
            terminal_id=config.terminal.id,
            currency="toman" if config.ui.currency == "toman" else "rial",
            training=training,
            printer=app.receipt_printer,
            group_names=group_names("fa"),  # receipts are printed in Persian
        )
        app.records = Records(store=store, clock=clock)
        app.prefetch = UnlockPrefetch(rules=rules, refresh=app.refresh, clock=clock)
        app.retention = Retention(
            store=store,
            clock=clock,
            keep_days=config.retention.keep_days,
            archive=config.retention.archive,
        )
        if not read_only:
            app.forwarder.idle_work.append(app.retention.at_idle)
        app.terminal_config = layered
        app.checkout.config_version = layered.version
        _fetch_config_with_rules(app, layered)
        app.ledger_time = ledger_time
        app.preferences = LanePreferences(store)
        app.standing = standing
        app.checkout.standing = standing

        def save_token(token: str) -> None:
            if source is None or token_file is None:
                raise StoreError("this lane has no config file to keep a new token in")
            write_token(source, token)
            token_file.set(token)

        app.tokens = TokenRotation(
            ledger=ledger,
            store=store,
            clock=clock,
            save_token=save_token,
            every=timedelta(days=config.ledger.rotate_token_days),
            may_rotate=standing.check,
            exclusive=(lambda: rotation_lock(source))
            if source is not None
            else (lambda: nullcontext(True)),
        )
    except BaseException:
        store.close()
        raise
    app.devices = devices
    if devices and config.devices.printer:
        try:
            app.printer = _open_printer(config.devices.printer)
        except DeviceError as exc:
            app.devices_errors.append(exc.message)
    return app


def admin_ledger(url: str, admin_token: str) -> HttpLedger:
    """A ledger client holding a merchant admin token (``pos-client fleet ...``); close it."""
    return HttpLedger(base_url=url, token=admin_token)


@asynccontextmanager
async def open_app(config: Config, **options: Any) -> AsyncIterator[Lane]:
    """``async with open_app(config) as app:`` builds the lane and closes it afterwards."""
    app = build_app(config, **options)
    try:
        yield app
    finally:
        await app.aclose()


#: The name the lane had before; kept for callers not yet moved to :class:`Lane`.
App = Lane


class _Borrowed:
    """A device someone else holds open: used as it is, never closed here."""

    def __init__(self, device: Any) -> None:
        self._device = device

    def __getattr__(self, name: str) -> Any:
        return getattr(self._device, name)

    def close(self) -> None:
        pass


def build_doctor(
    config: Config,
    *,
    lang: str | None = None,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    runtime_dir: str | None = None,
    devices: DeviceOpeners | None = None,
    held_scale: Any | None = None,
) -> Doctor:
    """The lane doctor (:class:`pos_client.services.doctor.Doctor`) for ``config``.

    It opens the store read-only and its own ledger client (which records no
    contact), and the devices through the drivers (``runtime_dir`` for virtual
    ones); ``devices`` (a ``DeviceOpeners``) replaces the drivers in tests.
    ``held_scale``: the scale this program already holds open (the checkout
    screen's), asked through that, not opened a second time (it would be busy).
    """
    from pos_client.compose_telemetry import probe_lane_broker
    from pos_client.services.doctor import DeviceOpeners, Doctor

    def open_scanner(url: str, **callbacks: Any) -> Any:
        from drivers.scanner import open_scanner as open_driver

        return open_driver(url, runtime_dir=runtime_dir, **callbacks)

    def open_printer(url: str) -> Any:
        from drivers.printer import open_printer as open_driver

        return open_driver(url)

    def open_scale(url: str) -> Any:
        if held_scale is not None:
            return _Borrowed(held_scale)
        from drivers.scale import open_scale as open_driver

        return open_driver(url, runtime_dir=runtime_dir)

    language: Literal["fa", "en"] = "en" if (lang or config.ui.language) == "en" else "fa"
    store_path, config_path = config.store.path, config.source
    return Doctor(
        config,
        lang=language,
        clock=clock or SystemClock(),
        open_ledger=lambda: HttpLedger.from_config(config.ledger, transport=transport),
        # the lane's own store, as run and redeem check it; read-only: nothing adopted or written
        check_store=lambda: check_lane_store(store_path, config_path=config_path, lang=language),
        open_store=lambda: open_lane_store(
            store_path, config_path=config_path, read_only=True, lang=language
        ),
        devices=devices or DeviceOpeners(open_scanner, open_printer, open_scale),
        probe_telemetry=lambda: probe_lane_broker(config),
    )


def open_fleet(
    url: str, *, admin_token: str | None = None, transport: httpx.BaseTransport | None = None
) -> FleetHttp:
    """The fleet contract's client for ``url`` (enrolment; with ``admin_token``, a back office)."""
    return FleetHttp(url, admin_token=admin_token, transport=transport)


def broker_endpoint(broker_url: str) -> BrokerEndpoint:
    """The chain's broker and reader account from ``mqtt(s)://USER@HOST:PORT`` (a ConfigError
    sentence for anything else, and for a URL that holds a password)."""
    from pos_client.adapters.mqtt_fleet import parse_broker_url

    return parse_broker_url(broker_url)


def fleet_reader(
    endpoint: BrokerEndpoint,
    password: str,
    watch: FleetWatch,
    *,
    store_id: str | None = None,
    ca_file: str | None = None,
) -> FleetSubscriber:
    """A read-only broker session feeding ``watch`` (``fleet status``, ``fleet serve``);
    call ``start()`` (a TelemetryError sentence if it cannot) and ``stop()``."""
    from pos_client.adapters.mqtt_fleet import FleetSubscriber
    from pos_client.domain.lane_state import subscription

    return FleetSubscriber(
        endpoint,
        password,
        topic_filter=subscription(store_id=store_id),
        sink=watch.receive,
        on_subscribed=watch.subscribed,
        ca_file=ca_file,
    )
