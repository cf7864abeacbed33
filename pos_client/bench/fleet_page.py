"""Figure group: the fleet page with a chain's lanes, in headless Chromium, on a real Mosquitto.

``lanes`` lanes (2,000 in a full run) publish their retained state on a
Mosquitto of the group's own, each as its own account (the contract's ACL); the
reader (:class:`~pos_client.services.fleet_watch.FleetWatch`) and the page
(:mod:`pos_client.fleet_page`) run in this process; the system's Chromium loads
the page (:mod:`.browser`).

- *Time to the full table*: from asking the browser for the page until its
  table holds every lane (the page loaded, the event stream's snapshot read,
  ranked and drawn), over ``loads`` loads; beside it, the limit: the same
  lanes fetched as JSON (``/lanes.json``) and parsed by the same browser.
  Goal: under 2 s.
- *A changed lane on the page*: from a lane publishing a new state until the
  page shows it, over ``changes`` changes, p50 and p99; beside it, the broker's
  own delivery of the same message to a plain subscriber. Goal: p99 under 2 s.

Imports the standard library, paho-mqtt, the broker, the fleet page and the
benchmark's own modules; Selenium through :mod:`.browser`.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pos_client.compose import broker_endpoint, fleet_reader
from pos_client.domain.lane_state import (
    LaneAddress,
    LaneLedger,
    LaneQueue,
    LaneState,
    encode_state,
    state_topic,
)
from pos_client.fleet_page.server import start_fleet_page
from pos_client.sandbox.broker import RunningBroker, start_broker
from pos_client.services.fleet_watch import FleetWatch

from .browser import chromium
from .figures import Against, Figure, Goal, percentile

__all__ = ["measure"]

GROUP = "fleet_page"
GOAL_S = 2.0
_READER = ("fleet", "fleet-bench-reader")
_WORKERS = 8
_POLL_S = 0.01


def _address(n: int) -> LaneAddress:
    return LaneAddress("M-1", f"S-{n // 12:03}", f"T-{n:05}")


def _payload(n: int, *, count: int) -> bytes:
    now = datetime.now(UTC)
    reachable = n % 17 != 0
    return encode_state(
        LaneState(
            online=True,
            session=1,
            at=now,
            software_version="0.2.0",
            config_version="tc-000042",
            ledger=LaneLedger(
                reachable=reachable, last_contact_at=now, offline_since=None if reachable else now
            ),
            queue=LaneQueue(count=count, rial=count * 150_000, oldest_age_s=count * 30 or None),
            problems=int(n % 23 == 0),
            sales_today=n % 300,
            devices={"scanner": "ok", "printer": "paper_low" if n % 41 == 0 else "ok"},
        )
    )


def _client(broker: RunningBroker, user: str, password: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(user, password)
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.connect(broker.host, broker.port, keepalive=30)
    client.loop_start()
    if not connected.wait(30):
        raise RuntimeError(f"the broker did not answer {user}")
    return client


def _publish_one(broker: RunningBroker, n: int, payload: bytes) -> None:
    address = _address(n)
    client = _client(broker, address.terminal_id, f"bench-{address.terminal_id}")
    try:
        client.publish(state_topic(address), payload, qos=1, retain=True).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


def _rows(driver: Any) -> int:
    return int(driver.execute_script("return Number(document.body.dataset.lanes || 0)"))


def _until(condition: Any, what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the fleet page never showed {what}")
        time.sleep(_POLL_S)


_FETCH_JSON = """
const done = arguments[arguments.length - 1];
const started = performance.now();
fetch('lanes.json').then(r => r.json()).then(d => done([performance.now() - started,
                                                       d.lanes.length]));
"""

_CELL = (
    "const row = document.querySelector(`#lanes tr[data-key='${arguments[0]}']`);"
    " return row ? row.cells[4].textContent : null;"
)


def measure(root: Path, *, lanes: int, loads: int, changes: int) -> list[Figure]:
    accounts = {_address(n).terminal_id: f"bench-{_address(n).terminal_id}" for n in range(lanes)}
    with start_broker(root / "broker", lanes=accounts, readers=dict([_READER])) as broker:
        with ThreadPoolExecutor(_WORKERS) as pool:
            for _ in pool.map(
                lambda n: _publish_one(broker, n, _payload(n, count=n % 5)), range(lanes)
            ):
                pass
        watch = FleetWatch()
        reader = fleet_reader(
            broker_endpoint(f"mqtt://{_READER[0]}@{broker.host}:{broker.port}"), _READER[1], watch
        )
        reader.start()
        try:
            if not watch.wait_settled(quiet_s=0.5, cap_s=60):
                raise RuntimeError("the broker's retained burst did not settle")
            with start_fleet_page(watch, stale_after=timedelta(minutes=5)) as url:
                return _in_browser(broker, url, lanes=lanes, loads=loads, changes=changes)
        finally:
            reader.stop()


def _in_browser(
    broker: RunningBroker, url: str, *, lanes: int, loads: int, changes: int
) -> list[Figure]:
    driver = chromium()
    try:
        driver.set_script_timeout(60)
        full: list[float] = []
        bare: list[float] = []
        for _ in range(loads):
            driver.get("about:blank")
            started = time.perf_counter()
            driver.get(url)
            _until(lambda: _rows(driver) == lanes, f"{lanes} lanes")
            full.append(time.perf_counter() - started)
            took_ms, count = driver.execute_async_script(_FETCH_JSON)
            if count != lanes:
                raise RuntimeError(f"/lanes.json held {count} lanes, not {lanes}")
            bare.append(float(took_ms) / 1000)
        seen, delivered = _changes(broker, driver, lanes=lanes, changes=changes)
    finally:
        driver.quit()
    full_p50, bare_p50 = percentile(full, 50), percentile(bare, 50)
    seen_p50, seen_p99 = percentile(seen, 50), percentile(seen, 99)
    mqtt_p50, mqtt_p99 = percentile(delivered, 50), percentile(delivered, 99)
    goal = Goal("value_below", GOAL_S, "< 2 s")
    note = f"{lanes:,} lanes retained on Mosquitto; headless Chromium"
    return [
        Figure(
            key="fleet_page_full_table_s",
            group=GROUP,
            name=f"Fleet page, {lanes:,} lanes: time to the full table, median",
            value=full_p50,
            unit="s",
            against=Against("limit", "the same lanes as JSON, fetched and parsed", bare_p50),
            goal=goal,
            samples=len(full),
            note=note,
            details={"max_s": max(full), "lanes": lanes},
        ),
        Figure(
            key="fleet_page_update_p50",
            group=GROUP,
            name="Fleet page: a changed lane shown, p50",
            value=seen_p50,
            unit="s",
            against=Against("limit", "the broker's delivery to a plain subscriber p50", mqtt_p50),
            samples=len(seen),
            note=note,
        ),
        Figure(
            key="fleet_page_update_p99",
            group=GROUP,
            name="Fleet page: a changed lane shown, p99",
            value=seen_p99,
            unit="s",
            against=Against("limit", "the broker's delivery to a plain subscriber p99", mqtt_p99),
            goal=goal,
            samples=len(seen),
            note=note,
        ),
    ]


def _arrival(got: threading.Condition, arrived: dict[str, float], topic: str) -> None:
    if not got.wait_for(lambda: topic in arrived, timeout=30):
        raise RuntimeError(f"the plain subscriber never got {topic}")


def _changes(
    broker: RunningBroker, driver: Any, *, lanes: int, changes: int
) -> tuple[list[float], list[float]]:
    """Each change: a lane publishes a new unsent count; the time until the page shows it, and
    until a plain subscriber of the broker got it."""
    arrived: dict[str, float] = {}
    got = threading.Condition()
    listener = _client(broker, *_READER)

    def take(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        with got:
            arrived[message.topic] = time.perf_counter()
            got.notify_all()

    listener.on_message = take
    subscribed = threading.Event()
    listener.on_subscribe = lambda *_args: subscribed.set()
    listener.subscribe("pos/v1/+/+/+/state", qos=1)
    if not subscribed.wait(30):
        raise RuntimeError("the plain subscriber was not subscribed")
    seen: list[float] = []
    delivered: list[float] = []
    try:
        time.sleep(1.0)  # the retained burst to the plain subscriber is over
        for i in range(changes):
            n = (i * 7919) % lanes
            address = _address(n)
            count = 1000 + i
            topic = state_topic(address)
            key = f"{address.merchant_id}/{address.store_id}/{address.terminal_id}"
            with got:
                arrived.pop(topic, None)
            started = time.perf_counter()
            _publish_one(broker, n, _payload(n, count=count))
            shown = f"{count:,}"
            _until(
                lambda key=key, shown=shown: driver.execute_script(_CELL, key) == shown,
                f"lane {key} changed",
            )
            seen.append(time.perf_counter() - started)
            with got:
                _arrival(got, arrived, topic)
                delivered.append(arrived[topic] - started)
    finally:
        listener.disconnect()
        listener.loop_stop()
    return seen, delivered
