"""Fixtures for the checkout screen: a lane on the real sandbox, and Pilot helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pos_client.compose import Lane, build_app
from pos_client.config import load_config
from pos_client.sandbox.server import RunningSandbox
from pos_client.tui.app import PosApp, make_app


@pytest.fixture
async def lane(sandbox: RunningSandbox) -> AsyncIterator[Lane]:
    """Lane T-0001 on the sandbox: rules and catalog fetched, demo prices in its price list."""
    built = build_app(load_config(sandbox.config_path("T-0001")), devices=True)
    try:
        await built.refresh.sync_rules()
        await built.refresh.sync_catalog()
        prices = [(p["gtin"], p["price_rial"], None) for p in sandbox.info["sample_products"]]
        built.store.import_prices(prices, at=built.clock.now())
        yield built
    finally:
        await built.aclose()


def app_for(lane: Lane, **options: Any) -> PosApp:
    """The App as the tests drive it: no background loops unless asked, no serial scanners."""
    options.setdefault("background", False)
    options.setdefault("scanners", [])
    return make_app(lane, **options)


def product(sandbox: RunningSandbox, category: str, unit: str = "piece") -> dict[str, Any]:
    for item in sandbox.info["sample_products"]:
        if item["category"] == category and item["unit"] == unit:
            return dict(item)
    raise LookupError(category)
