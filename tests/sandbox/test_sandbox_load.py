"""The sandbox under load: the per-terminal bucket (429), the concurrency limit (503),
the drain window on /v1/health and the outage fault, over real HTTP on loopback."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from pos_client.sandbox.load import LoadSettings
from pos_client.sandbox.server import RunningSandbox, start_sandbox
from tests.support.waiting import eventually


@pytest.fixture
def limited(
    tmp_path: Path, sandbox_template: Path, request: pytest.FixtureRequest
) -> Iterator[RunningSandbox]:
    settings: LoadSettings = request.param
    shutil.copytree(sandbox_template, tmp_path / "sb")
    with start_sandbox(tmp_path / "sb", load=settings) as sb:
        yield sb


def _inquire(client: httpx.Client, sb: RunningSandbox) -> httpx.Response:
    national_id = sb.household("kalabarg")["national_id"]
    return client.post("/v1/wallet-inquiries", json={"national_id": national_id})


def _retry_after(response: httpx.Response) -> int:
    return int(response.headers["retry-after"])


def test_the_limits_are_off_by_default(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        answers = [client.get("/v1/rules").status_code for _ in range(40)]
        health = client.get("/v1/health").json()
    assert set(answers) == {200}
    assert health["drain_window_s"] == 0


@pytest.mark.parametrize(
    "limited", [LoadSettings(terminal_rate=0.05, terminal_burst=3)], indirect=True
)
def test_a_terminal_over_its_bucket_is_refused_429_with_a_sensible_retry_after(
    limited: RunningSandbox,
) -> None:
    with limited.client() as client:
        first = [client.get("/v1/rules").status_code for _ in range(3)]
        refused = client.get("/v1/rules")
        probe = client.get("/v1/health")
    assert first == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_requests"
    # one request's worth comes back at 0.05 per second: about 20 s, never less than 1
    assert 1 <= _retry_after(refused) <= 20
    assert _retry_after(refused) >= 19
    assert probe.status_code == 200  # the probe after a failure is never limited


@pytest.mark.parametrize(
    "limited", [LoadSettings(terminal_rate=0.05, terminal_burst=2)], indirect=True
)
def test_the_bucket_is_per_terminal_and_refills_with_time(limited: RunningSandbox) -> None:
    with limited.client("T-0001") as one, limited.client("T-0002") as two:
        assert [one.get("/v1/rules").status_code for _ in range(3)] == [200, 200, 429]
        assert two.get("/v1/rules").status_code == 200  # another terminal's bucket is full
        limited.advance_clock(20)  # one request's worth back
        assert one.get("/v1/rules").status_code == 200
        assert one.get("/v1/rules").status_code == 429
        limited.advance_clock(3600)  # full again, never more than the burst
        assert [one.get("/v1/rules").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(
    "limited", [LoadSettings(terminal_rate=0.05, terminal_burst=1)], indirect=True
)
def test_a_refused_request_records_nothing(limited: RunningSandbox) -> None:
    with limited.client() as client:
        assert client.get("/v1/rules").status_code == 200
        refused = _inquire(client, limited)
    assert refused.status_code == 429
    eventually(lambda: limited.sandbox.load.in_flight == 0, "no slot held after the answers")


def _hold_open(url: str, token: str) -> socket.socket:
    """A request whose body never finishes arriving: it keeps its slot while it is open."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    sock.sendall(
        b"POST /v1/wallet-inquiries HTTP/1.1\r\nHost: sandbox\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\n"
        b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"national_id": '
    )
    return sock


@pytest.mark.parametrize(
    "limited", [LoadSettings(max_in_flight=2, busy_retry_after=3)], indirect=True
)
def test_the_concurrency_limit_counts_requests_in_flight(limited: RunningSandbox) -> None:
    load = limited.sandbox.load
    token = limited.terminal()["token"]
    held = [_hold_open(limited.url, token) for _ in range(2)]
    try:
        eventually(lambda: load.in_flight == 2, "both held requests in flight")
        with limited.client() as client:
            busy = client.get("/v1/rules")
            probe = client.get("/v1/health")
        assert busy.status_code == 503
        assert busy.json()["code"] == "service_unavailable"
        assert _retry_after(busy) == 3
        assert probe.status_code == 200
    finally:
        for sock in held:
            sock.close()
    # the clients went away mid-request: their slots come back, none leaks
    eventually(lambda: load.in_flight == 0, "every slot given back")
    with limited.client() as client:
        assert [client.get("/v1/rules").status_code for _ in range(4)] == [200] * 4
    # The answer reaches the client a moment before its slot is given back: wait for it.
    eventually(lambda: load.in_flight == 0, "the last request's slot given back")


@pytest.mark.parametrize("limited", [LoadSettings(max_in_flight=3)], indirect=True)
def test_no_slot_leaks_under_concurrent_clients_that_give_up(limited: RunningSandbox) -> None:
    limited.add_fault("latency", "/v1/rules", latency_ms=300, count=None)
    statuses: list[int] = []

    def impatient() -> None:
        token = limited.terminal()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=limited.url, headers=headers, timeout=0.05) as client:
            try:
                statuses.append(client.get("/v1/rules").status_code)
            except httpx.TimeoutException:
                statuses.append(0)

    threads = [threading.Thread(target=impatient) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    limited.clear_faults()
    eventually(lambda: limited.sandbox.load.in_flight == 0, "every slot given back")
    with limited.client() as client:
        assert [client.get("/v1/rules").status_code for _ in range(4)] == [200] * 4


@pytest.mark.parametrize(
    "limited", [LoadSettings(target_rate=2.0, drain_window_cap_s=300)], indirect=True
)
def test_the_drain_window_grows_with_the_terminals_seen(limited: RunningSandbox) -> None:
    terminals = [t["terminal_id"] for t in limited.info["terminals"]]
    assert len(terminals) >= 3
    windows = []
    with httpx.Client(base_url=limited.url) as anonymous:
        windows.append(anonymous.get("/v1/health").json()["drain_window_s"])
        for terminal in terminals:
            with limited.client(terminal) as client:
                client.get("/v1/rules")
            windows.append(anonymous.get("/v1/health").json()["drain_window_s"])
        limited.advance_clock(7200)  # nobody seen for two hours: the window closes
        windows.append(anonymous.get("/v1/health").json()["drain_window_s"])
    assert windows[0] == 0
    assert windows[1:-1] == [-(-n // 2) for n in range(1, len(terminals) + 1)]
    assert windows[-1] == 0


@pytest.mark.parametrize(
    "limited", [LoadSettings(target_rate=0.01, drain_window_cap_s=30)], indirect=True
)
def test_the_drain_window_is_capped(limited: RunningSandbox) -> None:
    with limited.client() as client:
        client.get("/v1/rules")
        assert client.get("/v1/health").json()["drain_window_s"] == 30


def test_an_outage_resets_connections_until_its_time_is_over(sandbox: RunningSandbox) -> None:
    fault = sandbox.add_fault("down", "/v1/*", duration_s=1800)
    assert fault["until"] is not None
    with sandbox.client() as client:
        for path in ("/v1/health", "/v1/rules"):
            with pytest.raises(httpx.TransportError):
                client.get(path)
        sandbox.advance_clock(1700)
        with pytest.raises(httpx.TransportError):
            client.get("/v1/health")
        sandbox.advance_clock(101)  # thirty minutes and a second: the ledger is back
        assert client.get("/v1/health").status_code == 200
        assert client.get("/v1/rules").status_code == 200
    assert httpx.get(sandbox.url + "sandbox/faults").json()["faults"] == []


def test_an_outage_may_answer_503_instead(sandbox: RunningSandbox) -> None:
    sandbox.add_fault("down", "/v1/*", duration_s=60, status=503, retry_after=7)
    try:
        with sandbox.client() as client:
            answer = client.get("/v1/rules")
        assert answer.status_code == 503
        assert _retry_after(answer) == 7
    finally:
        sandbox.clear_faults()


def test_an_outage_needs_a_duration(sandbox: RunningSandbox) -> None:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        sandbox.add_fault("down", "/v1/*")
    assert caught.value.response.status_code == 400


def test_the_limits_are_set_and_counted_through_sandbox_load(sandbox: RunningSandbox) -> None:
    document = sandbox.set_load(terminal_rate=0.5, terminal_burst=1, target_rate=1.5)
    assert document["settings"]["terminal_rate"] == 0.5
    with sandbox.client() as client:
        assert [client.get("/v1/rules").status_code for _ in range(2)] == [200, 429]
    counts = sandbox.load_counts()
    assert (counts["admitted"], counts["refused_429"], counts["refused_503"]) == (1, 1, 0)
    assert counts["terminals_seen"] == 1
    assert counts["drain_window_s"] == 1
    with pytest.raises(httpx.HTTPStatusError):
        sandbox.set_load(terminal_burst=0)
    with pytest.raises(httpx.HTTPStatusError):
        sandbox.set_load(terminal_rate="fast")
    sandbox.set_load()  # everything off again
    with sandbox.client() as client:
        assert [client.get("/v1/rules").status_code for _ in range(3)] == [200] * 3
