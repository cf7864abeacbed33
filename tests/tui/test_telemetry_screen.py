"""The screen publishes the lane's state: at start, after a sale, a printer out of paper."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from drivers.printer import PaperStatus
from pos_client.compose import build_app
from pos_client.config import load_config
from pos_client.config_telemetry import TelemetryConfig
from pos_client.domain.lane_state import LaneAddress, state_topic
from pos_client.sandbox.broker import RunningBroker
from pos_client.sandbox.server import RunningSandbox
from tests.support.fleet_reader import fleet_reader
from tests.support.waiting import eventually_async

from .conftest import app_for, product
from .pilot import scan
from .test_checkout import review_and_confirm

TOPIC = state_topic(LaneAddress("M-0001", "S-0001", "T-0001"))


async def test_the_screen_publishes_the_lane_and_its_changes(
    sandbox: RunningSandbox, mqtt_broker: RunningBroker
) -> None:
    config = load_config(sandbox.config_path("T-0001"))
    config = replace(
        config,
        telemetry=TelemetryConfig(
            url=mqtt_broker.url, merchant_id="M-0001", store_id="S-0001", password="lane-T-0001"
        ),
    )
    lane = build_app(config, devices=True)
    try:
        await lane.refresh.sync_rules()
        await lane.refresh.sync_catalog()
        prices = [(p["gtin"], p["price_rial"], None) for p in sandbox.info["sample_products"]]
        lane.store.import_prices(prices, at=lane.clock.now())
        printer: Any = lane.printer
        printer.device.paper = PaperStatus.OUT
        app = app_for(lane, language="en", training=True, background=True)
        with fleet_reader(mqtt_broker) as reader:

            async def state(predicate: Any, what: str) -> Any:
                def check() -> Any:
                    held = reader.state(TOPIC)
                    return held if held is not None and predicate(held) else None

                return await eventually_async(check, what, step=lambda: asyncio.sleep(0.05))

            async with app.run_test(size=(100, 30)) as pilot:
                birth = await state(lambda s: s.online, "the lane's state at start")
                assert birth.sales_today == 0
                assert birth.devices["printer"] == "ok"
                token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
                await scan(pilot, token)
                await scan(pilot, product(sandbox, "pasta")["gtin"])
                result = await review_and_confirm(pilot)
                assert result.outcome.status == "approved"
                after = await state(
                    lambda s: s.sales_today == 1 and s.devices["printer"] == "paper_out",
                    "the sale and the printer out of paper",
                )
                assert after.session == birth.session
            gone = await state(lambda s: not s.online, "the goodbye when the screen closes")
            assert gone.session == birth.session
    finally:
        await lane.aclose()
