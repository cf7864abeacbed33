"""The fleet page in headless Chromium: lanes ranked, a live update, Persian right to left.

A real Mosquitto, lanes publishing as lanes, the reader, the page on loopback,
and the system's Chromium (Selenium with /usr/bin/chromedriver named: nothing is
downloaded). A screenshot of each language is written under the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pos_client.bench.browser import chromium
from pos_client.compose import broker_endpoint, fleet_reader
from pos_client.domain.lane_state import LaneAddress, will_payload
from pos_client.fleet_page.server import start_fleet_page
from pos_client.sandbox.broker import RunningBroker
from pos_client.services.fleet_watch import FleetWatch
from tests.support.mqtt_lanes import publish, state
from tests.support.waiting import eventually

T1 = LaneAddress("M-1", "S-1", "T-0001")
T2 = LaneAddress("M-1", "S-1", "T-0002")
T3 = LaneAddress("M-1", "S-2", "T-0003")
ROGUE = '<img src=x onerror="document.title=1">'


@pytest.fixture
def page(mqtt_broker: RunningBroker) -> Iterator[str]:
    publish(mqtt_broker, T1, state(2, software_version=ROGUE))
    publish(mqtt_broker, T2, state(5, queue=(3, 4_500_000, 310), devices={"printer": "paper_out"}))
    publish(mqtt_broker, T3, will_payload(7))
    watch = FleetWatch()
    endpoint = broker_endpoint(f"mqtt://fleet@{mqtt_broker.host}:{mqtt_broker.port}")
    reader = fleet_reader(endpoint, "fleet-pass", watch)
    reader.start()
    try:
        with start_fleet_page(watch, stale_after=timedelta(minutes=5)) as url:
            yield url
    finally:
        reader.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def rows(browser: Any) -> list[str]:
    return list(
        browser.execute_script(
            "return [...document.querySelectorAll('#lanes tbody tr')].map(r => r.dataset.key)"
        )
    )


def cells(browser: Any, key: str) -> list[str]:
    return list(
        browser.execute_script(
            "return [...document.querySelector(`#lanes tr[data-key='${arguments[0]}']`).cells]"
            ".map(c => c.textContent)",
            key,
        )
    )


def loaded(browser: Any, url: str, lanes: int) -> None:
    browser.get(url)
    eventually(
        lambda: browser.execute_script("return document.body.dataset.lanes") == str(lanes),
        f"the page showed {lanes} lanes",
    )


def test_the_page_ranks_the_lanes_updates_live_and_escapes_what_lanes_send(
    mqtt_broker: RunningBroker, page: str, browser: Any, tmp_path: Path
) -> None:
    loaded(browser, page + "?lang=en", 3)

    assert rows(browser) == ["M-1/S-2/T-0003", "M-1/S-1/T-0002", "M-1/S-1/T-0001"]
    assert browser.execute_script("return document.documentElement.dir") == "ltr"
    offline, money, well = (cells(browser, key) for key in rows(browser))
    assert offline[:4] == ["offline", "S-2", "T-0003", "offline"]
    assert money[0] == "unsent sales, device"
    assert money[4:7] == ["3", "4,500,000", "5 min"]
    assert money[9] == "printer: paper_out"
    assert well[0] == "" and well[11] == ROGUE  # the rogue version is text, not markup
    assert browser.execute_script("return document.querySelectorAll('#lanes img').length") == 0
    assert browser.title != "1"
    chain = browser.execute_script(
        "return [...document.querySelectorAll('#chain tbody td')].map(c => c.textContent)"
    )
    assert chain == ["3", "2", "1", "0", "0", "2", "3", "4,500,000", "0"]
    browser.save_screenshot(str(tmp_path / "fleet-page-en.png"))

    renders = browser.execute_script("return document.body.dataset.renders")
    publish(mqtt_broker, T1, state(2, queue=(9, 9_000_000, 900), software_version="0.2.1"))
    eventually(
        lambda: rows(browser) == ["M-1/S-2/T-0003", "M-1/S-1/T-0001", "M-1/S-1/T-0002"],
        "the lane with the older unsent item moved up, live",
    )
    assert browser.execute_script("return document.body.dataset.renders") != renders
    assert cells(browser, "M-1/S-1/T-0001")[5] == "9,000,000"

    browser.find_element("css selector", "#lanes th[data-sort='terminal']").click()
    eventually(lambda: rows(browser)[0] == "M-1/S-1/T-0001", "sorted by terminal")


def test_in_persian_the_browser_lays_the_page_out_right_to_left_with_persian_digits(
    page: str, browser: Any, tmp_path: Path
) -> None:
    loaded(browser, page + "?lang=fa", 3)
    assert browser.execute_script("return document.documentElement.dir") == "rtl"
    assert (
        browser.execute_script(
            "return getComputedStyle(document.getElementById('lanes')).direction"
        )
        == "rtl"
    )
    money = cells(browser, "M-1/S-1/T-0002")
    assert money[3] == "برخط"
    assert money[4:6] == ["۳", "۴٬۵۰۰٬۰۰۰"]
    assert cells(browser, "M-1/S-2/T-0003")[0] == "آفلاین"
    assert browser.find_element("id", "language").text == "English"
    browser.save_screenshot(str(tmp_path / "fleet-page-fa.png"))
    assert (tmp_path / "fleet-page-fa.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_after_lanes_move_up_and_down_the_rows_are_in_the_status_order(
    mqtt_broker: RunningBroker, page: str, browser: Any
) -> None:
    loaded(browser, page, 3)
    # T-0002 goes quiet (down), T-0001 gets the oldest unsent item (up), T-0003 comes back
    publish(mqtt_broker, T2, state(5))
    publish(mqtt_broker, T1, state(2, queue=(1, 10, 4000)))
    publish(mqtt_broker, T3, state(8, problems=1))

    def page_order() -> list[str]:
        lanes = httpx.get(page + "lanes.json").json()["lanes"]
        return [f"{x['merchant_id']}/{x['store_id']}/{x['terminal_id']}" for x in lanes]

    expected = ["M-1/S-1/T-0001", "M-1/S-2/T-0003", "M-1/S-1/T-0002"]
    eventually(lambda: page_order() == expected, "the reader took the three changes")
    eventually(lambda: rows(browser) == expected, "the page's rows in the same order")
