"""The checkout App: the screens over one lane's services, wired in one factory.

``make_app(lane, ...)`` builds the App from a lane built by
:func:`pos_client.compose.build_app` (the tests reuse it). The App takes its
services in its constructor and does no work of its own at import or
construction time. On mount it starts, off the UI thread:

- the scanners of the lane (their reader threads only post :class:`ScanArrived`);
- the first rules and catalog refresh, then a refresh every few minutes;
- the forwarder draining the outbox in the background;
- a heartbeat that tells online from offline, and a status reading every few
  seconds for the status bar;
- the lane's telemetry (its state on the chain's MQTT broker, when one is
  configured), told of each change the status reading sees and of the devices.

Keys typed into the App go through a keyboard-wedge burst detector: a burst
ending in Enter is a scan, whatever has the focus.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Input

from drivers.scanner.base import ScanFrame, ScannerState
from drivers.scanner.keyboard import BurstDetector
from pos_client.compose import Lane
from pos_client.compose_telemetry import lane_telemetry
from pos_client.errors import LedgerError, PosError
from pos_client.ports import Scale, Scanners
from pos_client.services.preferences import UiPreferences
from pos_client.services.telemetry import LaneTelemetry, scanner_word

from .flow import CheckoutFlow
from .i18n import Lang, MoneyUnit, Texts
from .messages import ScanArrived, ScannerChanged, StatusRead
from .rtl import RtlMode
from .screens.base import PosScreen
from .screens.identify import IdentifyScreen
from .widgets.status import StatusBar, StatusView, clock_off_minutes

__all__ = ["LEDGER_SWITCH_DISPLAY", "LEDGER_SWITCH_KEY", "DemoGuide", "PosApp", "make_app"]

log = logging.getLogger(__name__)

#: How often the status bar is read again, the ledger is asked if it is there,
#: and the rules and catalog are refreshed (seconds).
STATUS_INTERVAL = 2.0
HEARTBEAT_INTERVAL = 15.0
REFRESH_INTERVAL = 600.0
#: Training only: the key that switches the demo's sandbox ledger off and on again.
LEDGER_SWITCH_KEY = "f12"
LEDGER_SWITCH_DISPLAY = "F12"


@dataclass(frozen=True, slots=True)
class DemoGuide:
    """What the training help shows: how to send scans and what to try.

    ``households``: (what it is, national ID) pairs; ``products``: (name, GTIN,
    price in Rials); ``commands``: shell lines to type in another terminal.
    ``purchase_codes``: single-use codes to try; ``purchase_code``: mints a
    fresh one (sandbox only; codes expire and are used up, so the help shows
    fresh ones each time it opens); ``otp_code``: reads the texted code of a
    challenge (sandbox only). ``ledger_switch``: switches the demo's own
    sandbox ledger unreachable (``True``) or back (``False``); with it, and only in
    training mode, the screen binds :data:`LEDGER_SWITCH_KEY` to it.
    """

    lane_name: str
    commands: tuple[str, ...] = ()
    households: tuple[tuple[str, str], ...] = ()
    products: tuple[tuple[str, str, int], ...] = ()
    purchase_codes: tuple[str, ...] = ()
    otp_code: Callable[[str], Awaitable[str | None]] | None = field(default=None, repr=False)
    ledger_switch: Callable[[bool], Awaitable[None]] | None = field(default=None, repr=False)
    purchase_code: Callable[[], Awaitable[str | None]] | None = field(default=None, repr=False)


class PosApp(App[int]):
    """The checkout screen of one lane."""

    CSS_PATH = "app.tcss"
    TITLE = "pos-client"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar = [
        Binding("f1", "help", "key.help", key_display="F1"),
        Binding("ctrl+q", "quit", "key.quit", key_display="^Q"),
    ]

    status: reactive[StatusView] = reactive(StatusView, always_update=True)

    def __init__(
        self,
        lane: Lane,
        *,
        texts: Texts,
        training: bool = False,
        guide: DemoGuide | None = None,
        scanner_urls: Sequence[str] = (),
        keyboard_scanner: bool = True,
        background: bool = True,
        runtime_dir: Path | None = None,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.monotonic = monotonic
        self.cursor_blink = cursor_blink
        self.lane = lane
        self.texts = texts
        self.training = training
        self.guide = guide
        self.scanner_urls = tuple(scanner_urls)
        self.background = background
        self.runtime_dir = runtime_dir
        self.now = now or lane.clock.now
        self.flow = CheckoutFlow(self)
        self.burst = BurstDetector() if keyboard_scanner else None
        self.online: bool | None = None
        self.rules_fetched_at: datetime | None = None
        self.scanner_state = "keyboard" if keyboard_scanner else "none"
        self._scanners: Scanners | None = None
        self.scale: Scale | None = None
        self._stop = asyncio.Event()
        self.telemetry: LaneTelemetry | None = None
        self.sending = False  # a sale is being sent (or asked for by id) at the counter
        #: Training only: the demo's sandbox ledger is switched off from this screen.
        self.ledger_switched_off = False
        self._switching_ledger = False
        if self.ledger_switch() is not None:
            self.bind(
                LEDGER_SWITCH_KEY,
                "switch_ledger",
                description="key.switch_ledger",
                key_display=LEDGER_SWITCH_DISPLAY,
            )
        self.set_class(texts.persian, "-rtl")

    # ------------------------------------------------------------------ start and stop

    def get_default_screen(self) -> IdentifyScreen:
        return IdentifyScreen()

    def on_mount(self) -> None:
        self._open_scanners()
        self._open_scale()
        self._load_rules_time()
        if self.background:
            self.startup()
            self.forward_in_background()
            telemetry = lane_telemetry(self.lane, reachable=lambda: self.online is not False)
            if telemetry.enabled:  # no broker configured: nothing runs, the lane sells as before
                self.telemetry = telemetry
                self.run_worker(telemetry.run(), group="telemetry", exit_on_error=False)
            self.set_interval(HEARTBEAT_INTERVAL, self.heartbeat)
            self.set_interval(REFRESH_INTERVAL, self.refresh_rules)
            self.prefetch_in_background()
        self.set_interval(STATUS_INTERVAL, self.read_status)
        self.read_status()
        self.flow.check_interrupted()

    async def on_unmount(self) -> None:
        self._stop.set()
        if self.telemetry is not None:  # its goodbye, before the loop goes away
            await asyncio.to_thread(self.telemetry.telemetry.stop)
        if self.scale is not None:
            await asyncio.to_thread(self.scale.close)
            self.scale = None
        if self._scanners is not None:
            await asyncio.to_thread(self._scanners.stop)
            self._scanners = None

    def _open_scanners(self) -> None:
        try:
            scanners = self.lane.open_scanners(
                self.scanner_urls,
                on_scan=self._scanned,
                on_state=self._scanner_state,
                runtime_dir=self.runtime_dir,
            )
        except PosError as exc:
            log.warning("the scanners could not be opened: %s", exc.message)
            self.scanner_state = "disconnected"
            self.notify(self.texts.error(exc), severity="error")
            return
        if scanners is None:
            return
        self._scanners = scanners
        self.scanner_state = scanners.status.value

    def _open_scale(self) -> None:
        try:
            self.scale = self.lane.open_scale(runtime_dir=self.runtime_dir)
        except PosError as exc:
            log.warning("the scale could not be opened: %s", exc.message)
            self.notify(self.texts.line("error.scale_error"), severity="warning")

    def _scanned(self, frame: ScanFrame) -> None:
        """On a scanner's reader thread: hand the scan over and return."""
        self.post_message(ScanArrived(frame.data, source=frame.source))

    def _scanner_state(self, state: ScannerState) -> None:
        """On a scanner's reader thread: hand the change over and return."""
        self.post_message(ScannerChanged(state.status.value, source=state.source))

    def _load_rules_time(self) -> None:
        try:
            fetched = self.lane.rules.fetched_at()
        except PosError:
            fetched = None
        if fetched is not None:
            self.rules_fetched_at = fetched

    # ------------------------------------------------------------------ background work

    @work(group="refresh", exclusive=True, exit_on_error=False)
    async def startup(self) -> None:
        """The first contact: rules, then the catalog (a delta when one is held)."""
        await self._refresh(catalog=True)

    @work(group="refresh", exclusive=True, exit_on_error=False)
    async def refresh_rules(self) -> bool:
        return await self._refresh(catalog=True)

    @work(group="prefetch", exclusive=True, exit_on_error=False)
    async def prefetch_in_background(self) -> None:
        """Before a tranche unlock the rules announce: the refresh, at this lane's own moment."""
        await self.lane.prefetch.run(self._stop, self._refresh_ahead)

    async def _refresh_ahead(self) -> bool:
        try:
            return bool(await self.refresh_rules().wait())  # the one refresh at a time
        except Exception:  # noqa: BLE001 - cancelled or failed: tried again later
            return False

    async def _refresh(self, *, catalog: bool) -> bool:
        """Rules, catalog and a due token rotation; whether the ledger's documents came."""
        went = False
        try:
            await self.lane.refresh.sync_rules()
            self.rules_fetched_at = self.lane.clock.now()
            self.online = True
            if catalog:
                synced = await self.lane.refresh.sync_catalog()
                if (w := synced.warning) is not None:
                    self.notify(
                        self.texts.t(
                            "catalog.dropped_warning",
                            version=w.version,
                            dropped=w.dropped,
                            before=w.before,
                            percent=w.percent,
                        ),
                        severity="warning",
                    )
                if synced.changed:  # the open basket is planned again on the new catalog
                    self.flow.recheck_basket()
            went = True
            # The terminal token, when its rotation is due: the old token works 10 minutes
            # more, so a sale in flight keeps working; the new one is on disk before use.
            await self.lane.tokens.rotate_if_due()
        except LedgerError as exc:
            self.online = False
            log.info("refresh failed: %s", exc.message)
        except PosError as exc:
            log.warning("refresh refused: %s", exc.message)
        self.read_status()
        return went

    @work(group="forwarder", exclusive=True, exit_on_error=False)
    async def forward_in_background(self) -> None:
        await self.lane.forwarder.run(self._stop)

    @work(group="heartbeat", exclusive=True, exit_on_error=False)
    async def heartbeat(self) -> None:
        try:
            await self.lane.ledger.health()
        except PosError:
            self.online = False
        else:
            self.online = True
        self.read_status()

    @work(group="status", exclusive=True, thread=True, exit_on_error=False)
    def read_status(self) -> None:
        """Read the queue and rules from the store (a thread: the UI never waits on disk)."""
        lane = self.lane
        try:
            pending = [item for item in lane.forwarder.pending() if item.intent == "deliver"]
            stuck = len(lane.forwarder.stuck())
            rules = lane.rules.current()
            self._load_rules_time()
        except PosError as exc:
            log.warning("status could not be read: %s", exc.message)
            return
        now = self.now()
        measured = lane.ledger_time.offset() if lane.ledger_time is not None else None
        online = self.online
        report = lane.forwarder.last_report
        if report is not None and report.unreachable and online:
            online = False
        if self.ledger_switched_off:
            online = False
        view = StatusView(
            online=online,
            queue_count=len(pending),
            queue_rial=sum(item.covered_rial for item in pending),
            rules_fetched_at=self.rules_fetched_at,
            rules_expired=rules is not None and rules.is_expired(now),
            scanner=self.scanner_state,
            now=now,
            stuck_count=stuck,
            clock_off_minutes=clock_off_minutes(measured.offset if measured else None),
            ledger_switched_off=self.ledger_switched_off,
            config_version=_shown_config_version(lane.checkout.config_version),
        )
        self.post_message(StatusRead(view))
        if self.telemetry is not None:
            self.telemetry.changed()

    def note_device(self, device: str, word: str) -> None:
        """A device's status word for the lane's telemetry (``ok``, ``paper_out``, ...)."""
        if self.telemetry is not None:
            self.telemetry.devices.set(device, word)

    def on_status_read(self, message: StatusRead) -> None:
        self.status = message.view

    def watch_status(self, view: StatusView) -> None:
        for screen in self.screen_stack:
            for bar in screen.query(StatusBar):
                bar.view = view

    def note_ledger(self, *, online: bool) -> None:
        """A service call just reached the ledger, or could not."""
        if self.online != online:
            self.online = online
            self.read_status()

    # ------------------------------------------------------------------ scans

    def on_scan_arrived(self, message: ScanArrived) -> None:
        screen = self.screen
        handler = getattr(screen, "handle_scan", None)
        if handler is None:
            self.bell()
            return
        handler(message.text)

    def on_scanner_changed(self, message: ScannerChanged) -> None:
        status = self._scanners.status.value if self._scanners is not None else message.status
        self.scanner_state = status
        self.note_device("scanner", scanner_word(status))
        self.read_status()

    async def on_event(self, event: events.Event) -> None:
        if (
            self.burst is not None
            and isinstance(event, events.Key)
            and not event.is_forwarded
            and self._keyboard_burst(event)
        ):
            return
        await super().on_event(event)

    def _keyboard_burst(self, event: events.Key) -> bool:
        """Feed the burst detector; True when the key ended a scan (and is consumed)."""
        assert self.burst is not None
        at = self.monotonic()
        if event.key == "enter":
            line = self.burst.enter(at)
            if line is None or not line.is_scan:
                return False
            focused = self.focused
            if isinstance(focused, Input):
                # The burst's keys are still on their way into the field: take them out
                # once the field has handled them.
                focused.call_later(_take_out, focused, line.text)
            self.post_message(ScanArrived(line.text, source="keyboard"))
            return True
        if event.is_printable and event.character is not None and len(event.character) == 1:
            self.burst.key(event.character, at)
        elif event.key == "backspace":
            self.burst.backspace(at)
        else:
            self.burst.clear()
        return False

    # ------------------------------------------------------------------ settings

    def apply_texts(self, texts: Texts) -> None:
        """Switch language, currency or right-to-left handling (from the settings screen)."""
        self.texts = texts
        self.set_class(texts.persian, "-rtl")
        self.flow.go_idle(fresh=True)

    # ------------------------------------------------------------------ actions (keys)

    def action_help_quit(self) -> None:
        """Ctrl+C (Textual's reflex key) says in the lane's language how to close the screen."""
        texts = self.texts  # shaped and ordered for the terminal, like every line
        self.notify(texts.line("app.ctrl_c", keys="Ctrl+Q"), title=texts.line("key.quit"))

    async def action_quit(self) -> None:
        """Ctrl+Q closes at once, unless a sale is being sent: then the cashier is asked.

        Nothing is lost either way (the sale is in the outbox before it is sent);
        the cashier is told it will be finished at the next start.
        """
        if not self.sending:
            self.exit()
            return
        from .screens.dialogs import ConfirmDialog

        if isinstance(self.screen, ConfirmDialog) and self.screen.quitting:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        dialog = ConfirmDialog(self.texts.t("app.quit_while_sending"))
        dialog.quitting = True
        await self.push_screen(dialog, callback=answered)

    def ledger_switch(self) -> Callable[[bool], Awaitable[None]] | None:
        """The training switch of the demo's sandbox ledger; ``None`` outside training."""
        if not self.training or self.guide is None:
            return None
        return self.guide.ledger_switch

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_ledger" and self.ledger_switch() is None:
            return False  # not a key outside training mode
        return True

    def action_switch_ledger(self) -> None:
        """Training: switch the sandbox ledger off, or on again (one press, one switch)."""
        switch = self.ledger_switch()
        if switch is None or self._switching_ledger:
            self.bell()
            return
        self._switching_ledger = True
        self._switch_ledger(switch, not self.ledger_switched_off)

    @work(group="training-ledger", exit_on_error=False)
    async def _switch_ledger(self, switch: Callable[[bool], Awaitable[None]], down: bool) -> None:
        texts = self.texts
        try:
            await switch(down)
        except Exception:  # a training aid only: say so, never a traceback
            log.warning("the training ledger could not be switched", exc_info=True)
            self.notify(texts.line("training.switch_failed"), severity="error")
            return
        finally:
            self._switching_ledger = False
        self.ledger_switched_off = down
        if down:
            self.online = False
            self.notify(texts.line("training.ledger_off", switch=LEDGER_SWITCH_DISPLAY))
        else:
            self.online = None  # the heartbeat (or the next call) tells
            self.notify(texts.line("training.ledger_on", sync="F5"))
            if self.background:
                self.heartbeat()
        self.read_status()

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_void_last(self) -> None:
        self.flow.void_last()

    def action_reprint(self) -> None:
        self.flow.reprint()

    def action_problems(self) -> None:
        from .screens.problems import ProblemsScreen

        self.push_screen(ProblemsScreen())

    def action_sync(self) -> None:
        self.flow.sync_now()

    def action_x_report(self) -> None:
        from .screens.reports import ReportScreen

        self.push_screen(ReportScreen(closing=False))

    def action_z_report(self) -> None:
        from .screens.reports import ReportScreen

        self.push_screen(ReportScreen(closing=True))

    def action_settings(self) -> None:
        from .screens.settings import SettingsScreen

        self.push_screen(SettingsScreen())

    def action_diagnostics(self) -> None:
        from .screens.diagnostics import DiagnosticsScreen

        self.push_screen(DiagnosticsScreen())

    def current_pos_screen(self) -> PosScreen[Any] | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, PosScreen):
                return screen
        return None


def _take_out(field: Input, scanned: str) -> None:
    """Remove a keyboard scan's characters from the end of the field it was typed into."""
    if scanned and field.value.endswith(scanned):
        field.value = field.value[: len(field.value) - len(scanned)]


def make_app(
    lane: Lane,
    *,
    training: bool = False,
    guide: DemoGuide | None = None,
    language: Lang | None = None,
    currency: MoneyUnit | None = None,
    rtl: RtlMode | str | None = None,
    scanners: Sequence[str] | None = None,
    keyboard_scanner: bool = True,
    background: bool = True,
    runtime_dir: Path | None = None,
    now: Callable[[], datetime] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    cursor_blink: bool = True,
) -> PosApp:
    """The App for ``lane``, its language and devices from the lane's config unless given."""
    ui = lane.config.ui
    configured = UiPreferences(language=ui.language, currency=ui.currency, rtl=ui.rtl)
    try:
        picked = lane.preferences.load(defaults=configured)
    except PosError:  # the store will say what is wrong soon enough; start as configured
        picked = configured
    texts = Texts(
        lang=language or ("en" if picked.language == "en" else "fa"),
        currency=currency or ("rial" if picked.currency == "rial" else "toman"),
        rtl=RtlMode(rtl or picked.rtl),
    )
    urls = lane.config.devices.scanners if scanners is None else tuple(scanners)
    return PosApp(
        lane,
        texts=texts,
        training=training,
        guide=guide,
        scanner_urls=urls,
        keyboard_scanner=keyboard_scanner,
        background=background,
        runtime_dir=runtime_dir,
        now=now,
        monotonic=monotonic,
        cursor_blink=cursor_blink,
    )


def _shown_config_version(version: str | None) -> str | None:
    """The config version for the status line: none while the chain has set no layer."""
    return None if version in (None, "tc-000000") else version
