"""Figure group: scan to basket, on the running checkout screen under Pilot.

A frame is written into a virtual scanner (:func:`drivers.scanner.virtual.send_to_lane`,
as ``pos-client scan`` does from another terminal); the clock stops when the
basket screen has shown the new line (its ``show_basket`` has returned with
it). The app runs under Textual's Pilot in this process with its own reader
thread, worker and store, while the benchmark only waits: the time is the
app's own. The lane holds the catalog loaded by the catalog figure. Baskets
are of up to :data:`LINES_PER_SALE` lines; then a new household is identified.

Beside it, the limit: the same frames written into a bare virtual scanner
(``drivers.open_scanner``) and timed to its ``on_scan`` callback, interleaved
one for one: the pty and the reader thread alone. Goal: p99 under 10 ms.

Imports the standard library, the drivers, the composition root and, when
measuring, the TUI (never textual directly).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from drivers.scanner import open_scanner
from drivers.scanner.virtual import send_to_lane
from pos_client.compose import build_app
from pos_client.config import Config

from .figures import Against, Figure, Goal, percentile
from .ledger import LedgerProcess

__all__ = ["measure"]

GROUP = "scan"
LINES_PER_SALE = 20
WAIT = 10.0
#: Seconds between scans (a quick cashier scans a few items a second).
GAP = 0.05


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Any, *args: Any) -> None:
    loop.call_soon_threadsafe(callback, *args)


async def _until(pilot: Any, condition: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"never happened: {what}")
        await pilot.pause(0.01)


async def measure(
    ledger: LedgerProcess, config: Config, runtime_dir: Path, *, scans: int
) -> list[Figure]:
    from pos_client.tui.app import make_app
    from pos_client.tui.screens.basket import BasketScreen
    from pos_client.tui.screens.identify import IdentifyScreen

    loop = asyncio.get_running_loop()
    goods = [p for p in ledger.info["sample_products"] if p["unit"] == "piece" and not p["groups"]]
    lane = build_app(config, devices=True)
    lane.store.import_prices(
        [(p["gtin"], int(p["price_rial"]), None) for p in goods], at=lane.clock.now()
    )
    waiting: dict[str, asyncio.Future[float]] = {}

    def arrived(kind: str) -> None:
        future = waiting.pop(kind, None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())

    bare = open_scanner(
        "virtual://bench-bare",
        on_scan=lambda frame: _call_soon(loop, arrived, "bare"),
        on_state=lambda state: None,
        runtime_dir=runtime_dir,
    )
    app = make_app(
        lane,
        background=False,
        scanners=["virtual://bench-app"],
        runtime_dir=runtime_dir,
        language="en",
    )
    ours: list[float] = []
    limit: list[float] = []
    try:
        bare.start()
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: app.scanner_state == "connected", "the scanner connected")
            hooked: set[int] = set()

            async def new_sale() -> None:
                app.flow.go_idle()
                await _until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "idle")
                send_to_lane("bench-app", [ledger.token()], runtime_dir=runtime_dir)
                await _until(pilot, lambda: isinstance(app.screen, BasketScreen), "the basket")
                await _until(pilot, lambda: not app.flow.busy, "the basket ready")
                screen: Any = app.screen
                if id(screen) not in hooked:
                    hooked.add(id(screen))
                    shown = screen.show_basket

                    def show_basket(*args: Any, **kwargs: Any) -> None:
                        shown(*args, **kwargs)
                        arrived("app")

                    screen.show_basket = show_basket

            async def one(kind: str, name: str, text: str) -> float:
                future: asyncio.Future[float] = loop.create_future()
                waiting[kind] = future
                start = time.perf_counter()
                send_to_lane(name, [text], runtime_dir=runtime_dir)
                try:
                    done = await asyncio.wait_for(future, WAIT)
                except TimeoutError:
                    waiting.pop(kind, None)
                    raise RuntimeError(
                        f"a scan sent to {name} did not reach "
                        + ("its callback" if kind == "bare" else "the basket")
                        + f" within {WAIT:g} s"
                    ) from None
                return (done - start) * 1000

            warm = 5
            total = warm + scans
            for n in range(total):
                if n % LINES_PER_SALE == 0:
                    await new_sale()
                gtin = goods[n % len(goods)]["gtin"]
                await pilot.pause()
                limit_ms = await one("bare", "bench-bare", gtin)
                app_ms = await one("app", "bench-app", gtin)
                await _until(pilot, lambda: not app.flow.busy, "the scan handled")
                await pilot.pause(GAP)  # a cashier's pace: the screen is drawn before the next
                if n >= warm:
                    limit.append(limit_ms)
                    ours.append(app_ms)
            app.flow.go_idle()
            await pilot.pause()
    finally:
        await asyncio.to_thread(bare.stop)
        await lane.aclose()
    return [
        Figure(
            key=f"scan_to_basket_p{q}",
            group=GROUP,
            name=f"Scan to basket p{q}",
            value=percentile(ours, q),
            unit="ms",
            against=Against(
                "limit", f"bare virtual scanner frame to callback p{q}", percentile(limit, q)
            ),
            goal=Goal("value_below", 10.0, "< 10 ms") if q == 99 else None,
            samples=scans,
            note=f"virtual scanner pty → basket line shown, baskets of ≤ {LINES_PER_SALE} lines",
            details={"slowest_ms": sorted(ours)[-5:], "limit_slowest_ms": sorted(limit)[-5:]}
            if q == 99
            else {},
        )
        for q in (50, 99)
    ]
