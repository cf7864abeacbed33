"""Helpers for the client's tests against a running sandbox ledger (not a test module)."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from pos_client.compose import App, build_app
from pos_client.config import Config, load_config
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.checkout import Household
from pos_client.services.redemptions import TEHRAN, SaleOutcome
from tests.support.fakes import QuickClock, ShiftedClock

RICE_10KG = "6260000000019"  # 14,500,000 Rials, rice
RICE_5KG = "6260000000026"  # 4,900,000
MILK_1L = "6260000000040"  # 420,000, milk-lowfat (dairy)
PASTA = "6260000000248"  # 420,000
SUGAR = "6260000000262"  # 520,000
LENTILS = "6260000000293"  # 950,000
NOT_IN_CATALOG = "4006381333931"  # a valid EAN-13 the programme does not know

PRICES = {
    RICE_10KG: 14_500_000,
    RICE_5KG: 4_900_000,
    MILK_1L: 420_000,
    PASTA: 420_000,
    SUGAR: 520_000,
    LENTILS: 950_000,
    NOT_IN_CATALOG: 300_000,
}


def lane_config(sandbox: RunningSandbox, terminal_id: str = "T-0001", **offline: Any) -> Config:
    config = load_config(sandbox.config_path(terminal_id))
    if offline:
        config = replace(config, offline=replace(config.offline, **offline))
    return config


@asynccontextmanager
async def lane(
    sandbox: RunningSandbox,
    terminal_id: str = "T-0001",
    *,
    sync: bool = True,
    config: Config | None = None,
    **options: Any,
) -> AsyncIterator[App]:
    """The lane of a demo terminal, with rules, catalog and prices loaded."""
    options.setdefault("clock", QuickClock())
    app = build_app(config or lane_config(sandbox, terminal_id), **options)
    try:
        if sync:
            await app.refresh.sync_rules()
            await app.refresh.sync_catalog()
            app.store.import_prices([(g, p, None) for g, p in PRICES.items()], at=app.clock.now())
        app.forwarder.base_delay = 0.01
        yield app
    finally:
        await app.aclose()


def national_id(sandbox: RunningSandbox, key: str) -> str:
    return str(sandbox.household(key)["national_id"])


def fault(sandbox: RunningSandbox, kind: str, path: str, **options: Any) -> None:
    sandbox.add_fault(kind, path, **options)


def ledger_books(sandbox: RunningSandbox, terminal_id: str = "T-0001") -> dict[str, Any]:
    """The ledger's settlement for the terminal's current business date (the sandbox's clock)."""
    with sandbox.client(terminal_id) as client:
        now = datetime.fromisoformat(client.get("/sandbox/clock").json()["now"])
        response = client.get(f"/v1/settlements/{now.date().isoformat()}")
        response.raise_for_status()
        books: dict[str, Any] = response.json()
        return books


def ledger_redemption(
    sandbox: RunningSandbox, redemption_id: str, terminal_id: str = "T-0001"
) -> Any:
    with sandbox.client(terminal_id) as client:
        response = client.get(f"/v1/redemptions/{redemption_id}")
        return None if response.status_code == 404 else response.json()


async def token_sale(
    app: App, sandbox: RunningSandbox, *barcodes: str, household: str = "kalabarg"
) -> tuple[SaleOutcome, Household]:
    session = app.checkout.new_session()
    who = await session.identify_token(sandbox.mint_token(national_id(sandbox, household)))
    for barcode in barcodes:
        session.scan(barcode)
    outcome = await session.confirm()
    session.acknowledge()
    return outcome, who


async def sell(app: App, sandbox: RunningSandbox, *barcodes: str) -> SaleOutcome:
    session = app.checkout.new_session()
    await session.identify(sandbox.mint_token(national_id(sandbox, "kalabarg")))
    for barcode in barcodes:
        session.scan(barcode)
    outcome = await session.confirm()
    session.acknowledge()
    return outcome


def with_printer(sandbox: RunningSandbox, url: str, name: str) -> Path:
    """A copy of lane T-0001's config (same store) with another printer URL."""
    original = sandbox.config_path("T-0001")
    text = original.read_text(encoding="utf-8").replace(
        'printer = "dummy://"', f"printer = {json.dumps(url)}"
    )
    assert f"printer = {json.dumps(url)}" in text
    path = original.with_name(name)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# ------------------------------------------------------- the lane and sandbox clocks moved together


def midnight() -> datetime:
    """The next midnight in Tehran (the start of the next business date)."""
    tomorrow = datetime.now(TEHRAN).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=TEHRAN)


def seconds_to(moment: datetime) -> int:
    return math.ceil((moment - datetime.now(UTC)).total_seconds())


def move(sandbox: RunningSandbox, clock: ShiftedClock, seconds: int) -> None:
    """Both clocks forward by ``seconds``."""
    sandbox.advance_clock(seconds)
    clock.offset += timedelta(seconds=seconds)
