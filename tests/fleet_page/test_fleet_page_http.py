"""The fleet page's HTTP answers: the page per language, its policy headers, the lanes as JSON,
and the event stream (a snapshot, then only what changed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pos_client.domain.lane_state import LaneAddress
from pos_client.errors import ConfigError
from pos_client.fleet_page.server import check_host, start_fleet_page
from pos_client.services.fleet_watch import FleetWatch
from tests.support.mqtt_lanes import state

T1 = LaneAddress("M-1", "S-1", "T-0001")
T2 = LaneAddress("M-1", "S-1", "T-0002")


def topic(address: LaneAddress) -> str:
    return f"pos/v1/{address.merchant_id}/{address.store_id}/{address.terminal_id}/state"


@pytest.fixture
def watch() -> FleetWatch:
    watch = FleetWatch()
    watch.subscribed()
    watch.receive(topic(T1), state(1), retained=True)
    return watch


@pytest.fixture
def url(watch: FleetWatch) -> Iterator[str]:
    with start_fleet_page(watch, stale_after=timedelta(minutes=5), batch_s=0.05) as url:
        yield url


def test_the_page_is_persian_and_right_to_left_when_asked(url: str) -> None:
    fa = httpx.get(url, params={"lang": "fa"})
    assert '<html lang="fa" dir="rtl">' in fa.text
    by_header = httpx.get(url, headers={"Accept-Language": "fa-IR,fa;q=0.9,en;q=0.5"})
    assert '<html lang="fa" dir="rtl">' in by_header.text
    en = httpx.get(url, params={"lang": "xx"})
    assert '<html lang="en" dir="ltr">' in en.text
    assert "script-src 'self'" in en.headers["content-security-policy"]
    assert "http" not in en.text.split("<body>")[1].replace('href="?lang=fa"', "")


def test_the_texts_reach_the_script_as_data_that_cannot_close_the_element(url: str) -> None:
    page = httpx.get(url).text
    block = page.split('<script id="texts" type="application/json">')[1].split("</script>")[0]
    assert "<" not in block
    assert json.loads(block)["col.store"] == "Store"


def test_the_lanes_as_json_are_the_status_document(url: str) -> None:
    document = httpx.get(url + "lanes.json").json()
    assert document["version"] == 1
    assert [lane["terminal_id"] for lane in document["lanes"]] == ["T-0001"]
    assert document["chain"]["lanes"] == 1


def events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, object]]]:
    name = ""
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])


def test_the_stream_sends_a_snapshot_then_only_the_lanes_that_changed(
    url: str, watch: FleetWatch
) -> None:
    with httpx.stream("GET", url + "events", timeout=30) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        stream = events(answer.iter_lines())
        name, snapshot = next(stream)
        assert name == "snapshot"
        assert [lane["key"] for lane in snapshot["lanes"]] == ["M-1/S-1/T-0001"]  # type: ignore[union-attr]
        watch.receive(topic(T2), state(1, queue=(2, 700, 5)), retained=False)
        name, update = next(stream)
        assert name == "update"
        assert [lane["key"] for lane in update["lanes"]] == ["M-1/S-1/T-0002"]  # type: ignore[union-attr]
        assert update["chain"]["unsent_rial"] == 700  # type: ignore[index]
        watch.receive(topic(T2), b"", retained=True)
        name, update = next(stream)
        assert update["removed"] == ["M-1/S-1/T-0002"] and update["lanes"] == []


def test_a_lane_that_goes_silent_becomes_stale_without_a_message() -> None:
    now = [datetime.now(UTC)]
    watch = FleetWatch(clock=lambda: now[0])
    watch.receive(topic(T2), state(1, at=now[0]), retained=True)
    with (
        start_fleet_page(
            watch, stale_after=timedelta(minutes=5), batch_s=0.05, recheck_s=0.1
        ) as url,
        httpx.stream("GET", url + "events", timeout=30) as answer,
    ):
        stream = events(answer.iter_lines())
        _name, snapshot = next(stream)
        assert [lane["status"] for lane in snapshot["lanes"]] == ["online"]  # type: ignore[union-attr]
        now[0] += timedelta(minutes=6)
        _name, update = next(stream)
        assert [(lane["terminal_id"], lane["status"]) for lane in update["lanes"]] == [  # type: ignore[union-attr]
            ("T-0002", "stale")
        ]


def test_a_page_on_loopback_refuses_another_host_name(url: str) -> None:
    refused = httpx.get(url + "lanes.json", headers={"Host": "rebound.example:8470"})
    assert refused.status_code == 400
    assert httpx.get(url + "lanes.json", headers={"Host": "localhost"}).status_code == 200


def test_an_address_beyond_loopback_needs_allow_remote() -> None:
    with pytest.raises(ConfigError, match="has no login"):
        check_host("0.0.0.0", allow_remote=False)
    check_host("0.0.0.0", allow_remote=True)
    check_host("::1", allow_remote=False)
