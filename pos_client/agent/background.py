"""The lane agent's background work, in one list: :func:`background_work`.

Each item is a coroutine that runs until ``stop`` is set (or is done sooner).
The agent starts them all when it starts and stops them all when it stops:
adding a service to the agent (the lane's telemetry, for one) is one line
there. What they do is what the checkout screen does in the background:

- the forwarder drains the outbox with the project's pacing policy;
- the rules, the catalog and the terminal config are fetched at start and
  every :data:`REFRESH_INTERVAL` seconds, and the terminal token is rotated
  when its rotation is due;
- at start, sales interrupted by a crash (written, their outcome never seen)
  are resolved against the ledger as the screen does at start; they wait
  for the chain's software to finish or cancel them (``/v1/interrupted``);
- before a tranche unlock that the rules announce (``next_unlock_at``), the
  rules and catalog are fetched at this lane's own moment over the hours
  before it (``lane.prefetch``), as at the screen;
- the lane's telemetry, when a broker is configured (:func:`telemetry_loop`):
  its state published on change and every minute, its goodbye at the stop,
  and the printer asked for its status every ``[telemetry] devices_every_s``
  seconds (:func:`printer_watch`), so a chain sees a printer out of paper
  before a receipt fails on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from pos_client.compose import Lane
from pos_client.errors import LedgerError, PosError, PrinterError
from pos_client.services.telemetry import DeviceWatch, LaneTelemetry, printer_word

__all__ = [
    "REFRESH_INTERVAL",
    "background_work",
    "prefetch_loop",
    "printer_watch",
    "recover_at_start",
    "refresh_loop",
    "telemetry_loop",
]

log = logging.getLogger(__name__)

#: Seconds between two refreshes of the rules and the catalog (the screen's interval).
REFRESH_INTERVAL = 600.0


async def refresh_once(lane: Lane) -> None:
    """Rules (with the terminal config), the catalog, then the token if its rotation is due."""
    try:
        await lane.refresh.sync_rules()
        await lane.refresh.sync_catalog()
        await lane.tokens.rotate_if_due()
    except LedgerError as exc:
        log.info("refresh failed: %s", exc.message)
    except PosError as exc:
        log.warning("refresh refused: %s", exc.message)


async def refresh_loop(
    lane: Lane,
    stop: asyncio.Event,
    interval: float = REFRESH_INTERVAL,
    refreshed: asyncio.Event | None = None,
) -> None:
    """:func:`refresh_once` at once, then every ``interval`` seconds until ``stop``;
    ``refreshed`` is set once the first has been tried."""
    while not stop.is_set():
        await refresh_once(lane)
        if refreshed is not None:
            refreshed.set()
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass


async def prefetch_loop(
    lane: Lane, stop: asyncio.Event, refreshed: asyncio.Event, *, recheck: float | None = None
) -> None:
    """Fetch ahead of a tranche unlock, once the first refresh has told the lane of it."""
    waiters = [asyncio.ensure_future(refreshed.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if stop.is_set():
        return
    if recheck is None:
        await lane.prefetch.run(stop)
    else:
        await lane.prefetch.run(stop, recheck=recheck)


async def recover_at_start(lane: Lane) -> None:
    """Resolve the sales a crash interrupted, as the screen does when it starts (nothing sent)."""
    try:
        outcomes = await asyncio.to_thread(lane.checkout.interrupted)
    except PosError as exc:
        log.warning("the interrupted sales could not be read: %s", exc.message)
        return
    for outcome in outcomes:
        if outcome.id is None:
            continue
        try:
            resolved = await lane.checkout.resolve_interrupted(outcome.id)
        except PosError as exc:
            log.warning("interrupted sale %s not resolved yet: %s", outcome.id, exc.message)
            continue
        log.warning(
            "interrupted sale %s is %s: finish or cancel it (POST /v1/interrupted/%s/...)",
            outcome.id,
            resolved.status,
            outcome.id,
        )


def _printer_word(lane: Lane) -> str:
    """The printer's status word, asked of the printer itself (a blocking call)."""
    try:
        printer = lane.receipt_printer()
        ask = getattr(printer, "status", None)
        if ask is None:  # a printer that cannot be asked: what its last receipt said stands
            return "ok"
        status = ask()
    except PrinterError as exc:
        return printer_word(code=exc.code)
    return printer_word(online=status.online, paper=str(status.paper))


async def printer_watch(
    lane: Lane, devices: DeviceWatch, stop: asyncio.Event, every: float
) -> None:
    """Ask the printer for its status now and every ``every`` seconds until ``stop``."""
    if not lane.config.devices.printer:
        return
    while not stop.is_set():
        devices.set("printer", await asyncio.to_thread(_printer_word, lane))
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass


async def telemetry_loop(lane: Lane, telemetry: LaneTelemetry, stop: asyncio.Event) -> None:
    """Publish the lane's state until ``stop``, then say goodbye (``{"online": false}``)."""
    every = float(lane.config.telemetry.devices_every_s)
    tasks = [
        asyncio.create_task(telemetry.run()),
        asyncio.create_task(printer_watch(lane, telemetry.devices, stop, every)),
    ]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(telemetry.telemetry.stop)


def background_work(
    lane: Lane, stop: asyncio.Event, telemetry: LaneTelemetry | None = None
) -> list[Coroutine[Any, Any, None]]:
    """Everything the agent runs in the background while it serves (each ends at ``stop``).

    The one place for the agent's background services: a new one is one more item.
    """
    refreshed = asyncio.Event()
    work = [
        lane.forwarder.run(stop),
        refresh_loop(lane, stop, refreshed=refreshed),
        prefetch_loop(lane, stop, refreshed),
        recover_at_start(lane),
    ]
    if telemetry is not None and telemetry.enabled:
        work.append(telemetry_loop(lane, telemetry, stop))
    return work
