"""Snapshots of the main screens at 80x24, in Persian and in English.

The lane runs on a real sandbox ledger served in-process (httpx's ASGI
transport) with both clocks stopped at one moment, so that dates, balances and
the receipt are the same on every run. Accept changes with
``pytest tests/tui/test_snapshots.py --snapshot-update`` after looking at them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import pos_client.sandbox.ledger as sandbox_ledger
from pos_client.compose import App as Lane
from pos_client.compose import build_app
from pos_client.config import load_config
from pos_client.sandbox.app import create_app
from pos_client.sandbox.clock import SandboxClock
from pos_client.sandbox.faults import FaultMiddleware
from pos_client.sandbox.server import Sandbox, build_sandbox
from pos_client.tui.app import PosApp, make_app

from .pilot import scan, settle, type_line, until

#: 10:00 in Tehran on 2 Azar 1405.
STILL = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
SIZE = (80, 24)


class StillSandboxClock(SandboxClock):
    def now(self) -> datetime:
        return STILL + self.offset


class StillClock:
    def now(self) -> datetime:
        return STILL

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass
class Still:
    sandbox: Sandbox
    lane: Lane

    def app(self, **options: Any) -> PosApp:
        options.setdefault("background", False)
        options.setdefault("scanners", [])
        options.setdefault("keyboard_scanner", False)
        options.setdefault("cursor_blink", False)
        return make_app(self.lane, **options)

    async def ready(self) -> None:
        """Rules, catalog and prices, fetched on the App's own event loop."""
        await self.lane.refresh.sync_rules()
        await self.lane.refresh.sync_catalog()
        samples = self.sandbox.info()["sample_products"]
        self.lane.store.import_prices(
            [(p["gtin"], p["price_rial"], None) for p in samples], at=STILL
        )

    def nid(self, key: str) -> str:
        for household in self.sandbox.info()["households"]:
            if household["key"] == key:
                return str(household["national_id"])
        raise KeyError(key)

    def purchase_code(self, key: str) -> str:
        return str(self.sandbox.admin.mint_purchase_code(self.nid(key))["purchase_code"])


@pytest.fixture
def still(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Still]:
    monkeypatch.setattr(sandbox_ledger, "_receipt_code", lambda: "7KQ2-M4XD-9PRA")
    sandbox = build_sandbox(tmp_path / "sandbox", clock=StillSandboxClock(), catalog_size=100)
    sandbox.url = "http://127.0.0.1:9/"  # never dialled: requests go in-process
    sandbox.write_files()
    transport = httpx.ASGITransport(app=FaultMiddleware(create_app(sandbox), sandbox.faults))
    config = load_config(sandbox.data_dir / "lane-T-0001.toml")
    lane = build_app(config, clock=StillClock(), transport=transport)
    try:
        yield Still(sandbox, lane)
    finally:
        lane.store.close()
        sandbox.close()


Steps = Callable[[Any], Awaitable[None]]


def steps(still: Still, *actions: Callable[[Any], Awaitable[None]]) -> Steps:
    async def run(pilot: Any) -> None:
        await still.ready()
        await pilot.app.read_status().wait()  # the status bar's worker
        await pilot.pause()
        for action in actions:
            await action(pilot)
        await settle(pilot)

    return run


def to_basket(still: Still) -> Callable[[Any], Awaitable[None]]:
    async def act(pilot: Any) -> None:
        await scan(pilot, still.purchase_code("kalabarg"))
        for index in (0, 3, 10):
            gtin = still.sandbox.info()["sample_products"][index]["gtin"]
            await scan(pilot, gtin)
            if index == 10:  # chicken, by weight
                await type_line(pilot, "1.5")

    return act


async def to_result(pilot: Any) -> None:
    from pos_client.tui.screens.result import ResultScreen

    await pilot.press("f2")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    await until(pilot, lambda: isinstance(pilot.app.screen, ResultScreen), "the result")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_idle(snap_compare, still, lang):
    app = still.app(language=lang, training=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(still))


def test_otp(snap_compare, still):
    async def identify(pilot: Any) -> None:
        await type_line(pilot, still.nid("kalabarg"))

    assert snap_compare(still.app(), terminal_size=SIZE, run_before=steps(still, identify))


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_basket(snap_compare, still, lang):
    app = still.app(language=lang)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(still, to_basket(still)))


def test_wallet(snap_compare, still):
    async def wallet(pilot: Any) -> None:
        await scan(pilot, still.purchase_code("yasna"))
        await pilot.press("f6")

    assert snap_compare(still.app(), terminal_size=SIZE, run_before=steps(still, wallet))


def test_review(snap_compare, still):
    async def review(pilot: Any) -> None:
        await pilot.press("f2")

    app = still.app()
    assert snap_compare(app, terminal_size=SIZE, run_before=steps(still, to_basket(still), review))


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_result(snap_compare, still, lang):
    app = still.app(language=lang)
    assert snap_compare(
        app, terminal_size=SIZE, run_before=steps(still, to_basket(still), to_result)
    )
