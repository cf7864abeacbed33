"""The sandbox's small admission queue: a clump of requests waits for a slot, in turn, briefly.

With ``queue`` set, a request that finds every slot taken waits for one (at
most ``busy_retry_after`` seconds) if the queue has room, and is refused
``503`` at once when it has none. Over real HTTP on loopback.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pos_client.sandbox.load import LoadSettings
from pos_client.sandbox.server import RunningSandbox, start_sandbox
from tests.sandbox.test_sandbox_load import _hold_open
from tests.support.waiting import eventually


@pytest.fixture
def queued(tmp_path: Path, sandbox_template: Path) -> Iterator[RunningSandbox]:
    shutil.copytree(sandbox_template, tmp_path / "sb")
    settings = LoadSettings(max_in_flight=1, queue=1, busy_retry_after=5)
    with start_sandbox(tmp_path / "sb", load=settings) as sb:
        yield sb


def _get_in_thread(sb: RunningSandbox, statuses: list[int]) -> threading.Thread:
    def get() -> None:
        with sb.client() as client:
            statuses.append(client.get("/v1/rules").status_code)

    thread = threading.Thread(target=get)
    thread.start()
    return thread


def test_a_request_waits_in_the_queue_for_the_slot_and_one_more_is_refused_at_once(
    queued: RunningSandbox,
) -> None:
    load = queued.sandbox.load
    held = _hold_open(queued.url, queued.terminal()["token"])
    statuses: list[int] = []
    try:
        eventually(lambda: load.in_flight == 1, "the slot held")
        waiting = _get_in_thread(queued, statuses)
        eventually(lambda: load.document()["waiting"] == 1, "the second request queued")
        with queued.client() as client:
            refused = client.get("/v1/rules")  # the queue is full: at once
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        assert statuses == []  # still waiting its turn
    finally:
        held.close()
    waiting.join(timeout=10)
    assert statuses == [200]  # the slot the held request gave back went to it
    eventually(lambda: load.in_flight == 0 and load.document()["waiting"] == 0, "all given back")
    counts = load.document()
    assert counts["refused_503"] == 1


def test_a_queued_request_is_refused_when_no_slot_comes_within_its_wait(
    tmp_path: Path, sandbox_template: Path
) -> None:
    shutil.copytree(sandbox_template, tmp_path / "sb")
    settings = LoadSettings(max_in_flight=1, queue=4, busy_retry_after=1)
    with start_sandbox(tmp_path / "sb", load=settings) as sb:
        load = sb.sandbox.load
        held = _hold_open(sb.url, sb.terminal()["token"])
        try:
            eventually(lambda: load.in_flight == 1, "the slot held")
            with sb.client() as client:
                late = client.get("/v1/rules")
            assert late.status_code == 503 and late.headers["retry-after"] == "1"
            assert load.document()["waiting"] == 0  # it left the queue
        finally:
            held.close()
        eventually(lambda: load.in_flight == 0, "the held slot given back")
        with sb.client() as client:
            assert [client.get("/v1/rules").status_code for _ in range(3)] == [200] * 3


def test_a_client_that_gives_up_in_the_queue_leaks_no_slot(queued: RunningSandbox) -> None:
    load = queued.sandbox.load
    held = _hold_open(queued.url, queued.terminal()["token"])
    try:
        eventually(lambda: load.in_flight == 1, "the slot held")
        headers = {"Authorization": f"Bearer {queued.terminal()['token']}"}
        with httpx.Client(base_url=queued.url, headers=headers, timeout=0.2) as client:
            with pytest.raises(httpx.TimeoutException):
                client.get("/v1/rules")
        eventually(lambda: load.document()["waiting"] == 0, "the impatient one left the queue")
    finally:
        held.close()
    eventually(lambda: load.in_flight == 0, "no slot leaked")
    with queued.client() as client:
        assert [client.get("/v1/rules").status_code for _ in range(3)] == [200] * 3
