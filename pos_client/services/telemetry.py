"""The lane's telemetry: its state, built from what the lane knows, handed to the telemetry port.

:class:`LaneTelemetry` builds a :class:`~pos_client.domain.lane_state.LaneState`
(``fleet-api.md``, "Lane telemetry") from the software version, the config,
rules and catalog versions, whether the ledger answers (last contact, offline
since), the outbox (count, Rials, the oldest item's age), the open problems,
today's sales and the devices' status words, and hands it to the port when it
changed (the state without its ``at``, the oldest item's age counted from its
time, so a queue that merely gets older is no change) and at least every
:data:`EVERY_S` seconds.

Cheap and out of the sale's way: the store is read through one narrow query
(:meth:`~pos_client.ports.LaneFigures`, a few indexed lookups), on a worker
thread, after the screen or the agent says something changed
(:meth:`LaneTelemetry.changed`, safe from any thread), never inside a sale;
the port only takes the state into a mailbox of one.

The devices' words (``ok``, ``paper_low``, ``paper_out``, ``offline``,
``error``, ``absent``) are what the lane last learnt of each
(:class:`DeviceWatch`): a scanner's connection state, a printer's answer to
a status request or to a receipt, a scale's last reading.

Imports the standard library, the domain's state message and the ports.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Protocol

from pos_client.domain.lane_state import LaneLedger, LaneQueue, LaneState
from pos_client.ports import Clock, LaneFigures, Telemetry

__all__ = ["EVERY_S", "DeviceWatch", "LaneTelemetry", "printer_word", "scanner_word"]

log = logging.getLogger(__name__)

#: The state is published at least this often (seconds), changed or not.
EVERY_S = 60.0
#: How often the lane looks for a change nobody told it of (the ledger, the clock's day).
POLL_S = 5.0
#: After a nudge, how long to wait for more (a sale brings several at once).
SETTLE_S = 0.2

DEVICE_WORDS = ("ok", "paper_low", "paper_out", "offline", "error", "absent")


def scanner_word(status: str) -> str:
    """A scanner's connection state (``drivers.scanner.ScannerStatus``) as a status word."""
    return {"connected": "ok", "connecting": "offline", "disconnected": "offline"}.get(
        str(status), "offline" if str(status) == "stopped" else "error"
    )


def printer_word(*, online: bool | None = None, paper: str | None = None, code: str = "") -> str:
    """A printer's status (``online``, ``paper``: ok/low/out/unknown) or a print error's code."""
    if code:
        return {
            "printer_out_of_paper": "paper_out",
            "printer_offline": "offline",
            "printer_unavailable": "offline",
            "no_printer": "absent",
        }.get(code, "error")
    if paper == "out":
        return "paper_out"
    if online is False:
        return "offline"
    if paper == "low":
        return "paper_low"
    return "ok"


class DeviceWatch:
    """Each device's status word as last learnt (thread-safe; a change calls ``on_change``)."""

    def __init__(self, present: Mapping[str, bool]) -> None:
        self._words = {name: "ok" if there else "absent" for name, there in present.items()}
        self._lock = threading.Lock()
        self.on_change: Callable[[], None] | None = None

    def set(self, device: str, word: str) -> bool:
        if word not in DEVICE_WORDS:
            word = "error"
        with self._lock:
            changed = self._words.get(device) != word
            self._words[device] = word
        if changed and self.on_change is not None:
            self.on_change()
        return changed

    def words(self) -> dict[str, str]:
        with self._lock:
            return dict(self._words)


class FiguresSource(Protocol):
    def lane_figures(self, business_date: date) -> LaneFigures: ...


class LaneTelemetry:
    """Builds the lane's state and publishes it on change and every :data:`EVERY_S` seconds."""

    def __init__(
        self,
        *,
        telemetry: Telemetry,
        store: FiguresSource,
        clock: Clock,
        business_date: Callable[[datetime], date],
        software_version: str,
        config_version: Callable[[], str | None] = lambda: None,
        rules_version: Callable[[], str | None] = lambda: None,
        reachable: Callable[[], bool] = lambda: True,
        devices: DeviceWatch | None = None,
        every_s: float = EVERY_S,
    ) -> None:
        self.telemetry = telemetry
        self._store = store
        self._clock = clock
        self._business_date = business_date
        self.software_version = software_version
        self._config_version = config_version
        self._rules_version = rules_version
        self._reachable = reachable
        self.devices = devices or DeviceWatch({})
        self.devices.on_change = self.changed
        self.every_s = every_s
        self._offline_since: datetime | None = None
        self._last_key: object = None
        self._last_at = float("-inf")
        self._nudged = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        #: How long the last state took to build (seconds), for the bench and the log.
        self.last_build_s = 0.0

    @property
    def enabled(self) -> bool:
        """Whether a broker is configured (the default port publishes nothing)."""
        return self.telemetry.status().configured

    # ------------------------------------------------------------ the state

    def snapshot(self) -> tuple[LaneState, object]:
        """The lane's state now, and what is compared to tell a change."""
        started = time.perf_counter()
        now = self._clock.now()
        figures = self._store.lane_figures(self._business_date(now))
        reachable = self._reachable()
        if reachable:
            self._offline_since = None
        elif self._offline_since is None:
            self._offline_since = now
        oldest = figures.oldest_queued_at
        age = None if oldest is None else max(0, int((now - oldest).total_seconds()))
        state = LaneState(
            online=True,
            session=0,  # the port stamps its connection's session
            at=now,
            software_version=self.software_version,
            config_version=self._config_version(),
            rules_version=self._rules_version(),
            catalog_version=figures.catalog_version,
            ledger=LaneLedger(
                reachable=reachable,
                last_contact_at=figures.last_contact,
                offline_since=self._offline_since,
            ),
            queue=LaneQueue(count=figures.queue_count, rial=figures.queue_rial, oldest_age_s=age),
            problems=figures.problems,
            sales_today=figures.sales_today,
            devices=self.devices.words(),
        )
        steady = LaneQueue(count=figures.queue_count, rial=figures.queue_rial)
        key = (replace(state, at=None, queue=steady), oldest)
        self.last_build_s = time.perf_counter() - started
        return state, key

    def refresh(self, *, force: bool = False) -> bool:
        """Build the state and hand it to the port if it changed (or is due); never raises."""
        try:
            state, key = self.snapshot()
        except Exception:  # telemetry may be lost; the lane goes on
            log.warning("telemetry: the lane's state could not be read", exc_info=True)
            return False
        due = time.monotonic() - self._last_at >= self.every_s
        if not force and not due and key == self._last_key:
            return False
        self._last_key = key
        self._last_at = time.monotonic()
        self.telemetry.publish(state)
        return True

    # ------------------------------------------------------------ running

    def changed(self) -> None:
        """Something the state shows may have changed (a sale, a forward, a device): safe
        from any thread; the state is built a moment later, off the caller's path."""
        self._nudged.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop is closing
                pass

    async def run(self, *, poll_s: float = POLL_S, settle_s: float = SETTLE_S) -> None:
        """Start the port, publish the state on change and every minute; stop the port
        (its goodbye) when cancelled. The one line to run it: ``create_task(t.run())``."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.telemetry.start()
        try:
            await asyncio.to_thread(self.refresh, force=True)
            while True:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=poll_s)
                    await asyncio.sleep(settle_s)
                except TimeoutError:
                    pass
                self._wake.clear()
                self._nudged.clear()
                await asyncio.to_thread(self.refresh)
        finally:
            self._loop = None
            await asyncio.to_thread(self.telemetry.stop)
