"""The lane's telemetry end to end: a real lane on the sandbox ledger, a real Mosquitto."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from typing import Any

import pytest

from pos_client.compose import App
from pos_client.compose_telemetry import lane_telemetry, session_path
from pos_client.config_telemetry import TelemetryConfig
from pos_client.domain.lane_state import LaneAddress, LaneState, state_topic
from pos_client.domain.states import SaleStatus
from pos_client.sandbox.broker import RunningBroker
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.telemetry import LaneTelemetry
from tests.support.fleet_reader import fleet_reader
from tests.support.lane import MILK_1L, PASTA, lane, lane_config, sell
from tests.support.waiting import eventually_async

TOPIC = state_topic(LaneAddress("M-0001", "S-0001", "T-0001"))
QUICK = {"backoff_base_s": 0.1, "backoff_cap_s": 0.5, "refused_retry_s": 0.5}


def telemetry_config(url: str, password: str = "lane-T-0001") -> TelemetryConfig:
    return TelemetryConfig(
        url=url, merchant_id="M-0001", store_id="S-0001", password=password, keepalive_s=5
    )


@asynccontextmanager
async def telemetered(
    sandbox: RunningSandbox, url: str, *, password: str = "lane-T-0001", **options: Any
) -> AsyncIterator[tuple[App, LaneTelemetry]]:
    config = replace(lane_config(sandbox), telemetry=telemetry_config(url, password))
    async with lane(sandbox, config=config) as app:
        service = lane_telemetry(app, **{**QUICK, **options})
        task = asyncio.create_task(service.run(poll_s=0.5, settle_s=0.05))
        try:
            yield app, service
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def wait_state(reader: Any, predicate: Any, what: str) -> LaneState:
    def check() -> LaneState | None:
        state = reader.state(TOPIC)
        return state if state is not None and predicate(state) else None

    return await eventually_async(check, what, within=30, step=lambda: asyncio.sleep(0.05))


async def test_the_lane_publishes_its_state_and_each_change(
    sandbox: RunningSandbox, mqtt_broker: RunningBroker
) -> None:
    with fleet_reader(mqtt_broker) as reader:
        async with telemetered(sandbox, mqtt_broker.url) as (app, service):
            birth = await wait_state(reader, lambda s: s.online, "the birth state")
            assert birth.session == 1
            assert birth.sales_today == 0
            assert birth.queue is not None and birth.queue.count == 0
            assert birth.rules_version == app.rules.current().version  # type: ignore[union-attr]
            assert birth.catalog_version
            assert birth.devices == {"scanner": "ok", "printer": "ok", "scale": "absent"}
            assert birth.ledger is not None and birth.ledger.reachable

            outcome = await sell(app, sandbox, MILK_1L, PASTA)
            assert outcome.status is SaleStatus.APPROVED
            service.changed()
            after = await wait_state(reader, lambda s: s.sales_today == 1, "the sale counted")
            assert after.session == 1
            assert after.ledger is not None and after.ledger.last_contact_at is not None

            service.devices.set("printer", "paper_out")
            await wait_state(
                reader, lambda s: s.devices.get("printer") == "paper_out", "the printer's paper"
            )
        gone = await wait_state(reader, lambda s: not s.online, "the goodbye")
        assert gone.session == 1
    assert session_path(app).read_text().strip() == "1"


async def test_an_unsent_sale_shows_in_the_queue_with_its_money(
    sandbox: RunningSandbox, mqtt_broker: RunningBroker
) -> None:
    with fleet_reader(mqtt_broker) as reader:
        async with telemetered(sandbox, mqtt_broker.url) as (app, service):
            await wait_state(reader, lambda s: s.online, "the birth state")
            await sell(app, sandbox, PASTA)  # the household's wallet is saved for offline
            sandbox.add_fault("unavailable", "/v1/*", count=None)
            outcome = await sell(app, sandbox, MILK_1L)
            assert outcome.status is SaleStatus.APPROVED_OFFLINE
            service.changed()
            state = await wait_state(
                reader, lambda s: s.queue is not None and s.queue.count == 1, "the unsent sale"
            )
            assert state.queue is not None and state.queue.rial == 420_000
            assert state.queue.oldest_age_s is not None
            assert state.sales_today == 2


async def test_broker_down_at_start_the_sale_goes_ahead_and_the_state_comes_later(
    sandbox: RunningSandbox, mqtt_broker: RunningBroker
) -> None:
    mqtt_broker.stop()
    async with telemetered(sandbox, mqtt_broker.url) as (app, service):
        outcome = await sell(app, sandbox, MILK_1L)
        assert outcome.status is SaleStatus.APPROVED
        service.changed()
        assert service.telemetry.status().connected is False
        mqtt_broker.start()
        with fleet_reader(mqtt_broker) as reader:
            state = await wait_state(reader, lambda s: s.online, "the state once the broker is up")
            assert state.sales_today == 1
            assert state.session >= 2  # a session was spent on each try


async def test_broker_restarted_mid_day_gets_the_state_again(
    sandbox: RunningSandbox, mqtt_broker: RunningBroker
) -> None:
    async with telemetered(sandbox, mqtt_broker.url) as (app, service):
        with fleet_reader(mqtt_broker) as reader:
            first = await wait_state(reader, lambda s: s.online, "the birth state")
        mqtt_broker.restart()
        with fleet_reader(mqtt_broker) as reader:
            again = await wait_state(
                reader, lambda s: s.online and s.session > first.session, "a new birth"
            )
            assert again.sales_today == 0
            await sell(app, sandbox, MILK_1L)
            service.changed()
            await wait_state(reader, lambda s: s.sales_today == 1, "a change after the restart")


async def test_a_wrong_password_never_stops_a_sale_and_is_told_once(
    sandbox: RunningSandbox, mqtt_broker: RunningBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with telemetered(sandbox, mqtt_broker.url, password="wrong-Secret-913") as (app, svc):
        await eventually_async(
            lambda: svc.telemetry.status().problem == "not_authorised",
            "the refusal noticed",
            step=lambda: asyncio.sleep(0.05),
        )
        outcome = await sell(app, sandbox, MILK_1L)
        assert outcome.status is SaleStatus.APPROVED
        first = svc.telemetry.status().session
        await eventually_async(
            lambda: svc.telemetry.status().session >= first + 2,
            "tried again",
            step=lambda: asyncio.sleep(0.05),
        )
    told = [r.getMessage() for r in caplog.records if "refused user T-0001" in r.getMessage()]
    assert len(told) == 1
    assert "wrong-Secret-913" not in caplog.text


@contextmanager
def silent_listener() -> Iterator[tuple[str, list[socket.socket]]]:
    """A TCP port that accepts connections and never says a word (a hung broker)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"mqtt://127.0.0.1:{server.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()


async def test_a_hung_broker_never_holds_a_sale(sandbox: RunningSandbox) -> None:
    with silent_listener() as (url, accepted):
        async with telemetered(sandbox, url) as (app, service):
            await eventually_async(
                lambda: accepted, "the lane's connection", step=lambda: asyncio.sleep(0.05)
            )
            for _ in range(3):
                outcome = await sell(app, sandbox, MILK_1L)
                assert outcome.status is SaleStatus.APPROVED
                service.changed()
            await asyncio.sleep(0.3)  # the state built after the sales reaches the mailbox
            assert service.telemetry.status().connected is False
            assert service.last_build_s > 0
