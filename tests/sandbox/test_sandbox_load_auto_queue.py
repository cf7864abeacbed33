"""The admission queue sized from the service rate (``queue: "auto"``).

A queue of ``ceil(rate x busy_retry_after)`` still drains within one
``busy_retry_after`` and still holds work while the lanes it refused wait out
their ``Retry-After``, so the slots never idle between waves. The rate is
configured or measured from the requests the slots served; the size is
bounded by ``max_in_flight`` below and ``queue_cap`` above.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx

from pos_client.sandbox.load import RATE_WINDOW_S, LoadLimits, LoadSettings
from pos_client.sandbox.server import start_sandbox
from tests.sandbox.test_sandbox_load import _hold_open
from tests.support.waiting import eventually


def test_an_auto_queue_holds_the_service_rate_times_retry_after_and_refuses_one_more(
    tmp_path: Path, sandbox_template: Path
) -> None:
    shutil.copytree(sandbox_template, tmp_path / "sb")
    with start_sandbox(tmp_path / "sb") as sb:
        with httpx.Client(base_url=sb.url, timeout=30.0) as admin:
            set_to = admin.post(
                "/sandbox/load",
                json={
                    "max_in_flight": 1,
                    "queue": "auto",
                    "service_rate": 3,
                    "busy_retry_after": 2,
                },
            )
        assert set_to.status_code == 200
        document = set_to.json()
        assert document["settings"]["queue_auto"] is True
        assert document["queue_size"] == 6  # ceil(3 requests/s x 2 s)
        load = sb.sandbox.load
        held = _hold_open(sb.url, sb.terminal()["token"])
        statuses: list[int] = []
        threads: list[threading.Thread] = []

        def get() -> None:
            with sb.client() as client:
                statuses.append(client.get("/v1/rules").status_code)

        try:
            eventually(lambda: load.in_flight == 1, "the slot held")
            for _ in range(6):
                thread = threading.Thread(target=get)
                thread.start()
                threads.append(thread)
            eventually(lambda: load.document()["waiting"] == 6, "six requests queued")
            with sb.client() as client:
                refused = client.get("/v1/rules")  # the seventh: at once
            assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
        finally:
            held.close()
        for thread in threads:
            thread.join(timeout=30)
        assert statuses == [200] * 6
        eventually(lambda: load.in_flight == 0, "every slot given back")


def test_an_auto_queue_without_a_configured_rate_follows_the_rate_served() -> None:
    clock = [100.0]
    settings = LoadSettings(max_in_flight=2, queue_auto=True, busy_retry_after=2, queue_cap=50)
    limits = LoadLimits(
        settings, now=lambda: datetime(2026, 1, 1, tzinfo=UTC), monotonic=lambda: clock[0]
    )

    async def serve(count: int) -> None:
        for _ in range(count):
            assert await limits.admit()
            limits.leave()

    assert limits.queue_size() == 2  # nothing served yet: the slots' own number
    asyncio.run(serve(20))  # 20 in the window: 10 requests/s
    assert limits.queue_size() == 20  # ceil(10 x 2 s)
    clock[0] += RATE_WINDOW_S + 0.1  # the window passed with nothing served
    assert limits.queue_size() == 2
    asyncio.run(serve(1000))
    assert limits.queue_size() == 50  # the cap
    assert limits.document()["queue_size"] == 50


def test_a_fixed_queue_is_not_resized() -> None:
    settings = LoadSettings(max_in_flight=1, queue=3, busy_retry_after=5)
    limits = LoadLimits(settings, now=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    async def serve(count: int) -> None:
        for _ in range(count):
            assert await limits.admit()
            limits.leave()

    asyncio.run(serve(100))
    assert limits.queue_size() == 3


def test_queue_must_be_a_count_or_auto(tmp_path: Path, sandbox_template: Path) -> None:
    shutil.copytree(sandbox_template, tmp_path / "sb")
    with start_sandbox(tmp_path / "sb") as sb, httpx.Client(base_url=sb.url) as admin:
        answer = admin.post("/sandbox/load", json={"max_in_flight": 1, "queue": "lots"})
        assert answer.status_code == 400
        assert sb.sandbox.load.settings.queue_auto is False


def test_the_document_counts_admissions_and_refusals_per_second() -> None:
    wall = [1_000.2]
    settings = LoadSettings(terminal_rate=0.001, terminal_burst=1, max_in_flight=1)
    limits = LoadLimits(
        settings, now=lambda: datetime(2026, 1, 1, tzinfo=UTC), wall=lambda: wall[0]
    )

    async def ask() -> bool:
        return await limits.admit()

    assert limits.take_token("a") is None
    assert asyncio.run(ask())  # admitted in second 1000
    assert limits.take_token("a") is not None  # 429 in second 1000
    wall[0] = 1_001.7
    assert not asyncio.run(ask())  # the slot is taken, no queue: 503 in second 1001
    limits.leave()
    assert limits.document()["per_second"] == {"1000": [1, 1, 0], "1001": [0, 0, 1]}
    limits.configure(settings)
    assert limits.document()["per_second"] == {}
