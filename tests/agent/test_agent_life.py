"""The lane agent under concurrency, departing clients and signals: real processes, real signals."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from pos_client.adapters.lane_lock import hold_lane
from pos_client.config import load_config
from pos_client.sandbox.server import RunningSandbox
from tests.agent.support import RunningAgent, agent, short_dir, start_agent
from tests.support.cli import cli, config
from tests.support.lane import MILK_1L, RICE_5KG, ledger_books, ledger_redemption, national_id
from tests.support.waiting import eventually


def _sale(sandbox: RunningSandbox) -> dict[str, Any]:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    return {"token": token, "lines": [{"barcode": RICE_5KG, "unit_price_rial": 4_900_000}]}


def _redeem_in_thread(
    running: RunningAgent, body: dict[str, Any]
) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []

    def send() -> None:
        with running.client(timeout=60) as client:
            try:
                answers.append(client.post("/v1/redemptions", json=body))
            except httpx.HTTPError as exc:
                answers.append(exc)

    thread = threading.Thread(target=send)
    thread.start()
    return thread, answers


def _busy(running: RunningAgent) -> bool:
    with running.client() as client:
        return bool(client.get("/v1/health").json()["busy"])


def _journal(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    result = cli("journal", "export", "--config", config(sandbox), "--json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_a_second_checkout_at_once_gets_lane_busy_and_changes_nothing(
    sandbox: RunningSandbox,
) -> None:
    with agent(sandbox) as running:
        second_body = _sale(sandbox)
        sandbox.add_fault("latency", "/v1/redemptions", latency_ms=3000)
        first, answers = _redeem_in_thread(running, _sale(sandbox))
        eventually(lambda: _busy(running), "the first checkout is under way")
        with running.client() as client:
            second = client.post("/v1/redemptions", json=second_body)
            void = client.post("/v1/voids", json={"id": "last"})
        first.join(timeout=60)
        assert second.status_code == 409 and void.status_code == 409
        assert second.headers["content-type"] == "application/problem+json"
        assert (
            second.json()["code"] == "lane_busy" and "nothing was done" in second.json()["detail"]
        )
        assert answers[0].status_code == 200 and answers[0].json()["status"] == "approved"
        sold = answers[0].json()["id"]
        sandbox.clear_faults()
        # The refused one may be sent again once the lane is free: it is sold then, once.
        with running.client() as client:
            again = client.post("/v1/redemptions", json=second_body)
        assert again.status_code == 200 and again.json()["status"] == "approved"
    assert sorted(ledger_books(sandbox)["redemption_ids"]) == sorted([sold, again.json()["id"]])
    assert len(_journal(sandbox)) == 2


def test_a_client_that_goes_away_mid_sale_leaves_it_to_the_recovery_rules(
    sandbox: RunningSandbox,
) -> None:
    body = json.dumps(_sale(sandbox)).encode()
    with agent(sandbox) as running:
        sandbox.add_fault("latency", "/v1/redemptions", latency_ms=1500)
        with socket.socket(socket.AF_UNIX) as raw:
            raw.connect(str(running.socket))
            raw.sendall(
                b"POST /v1/redemptions HTTP/1.1\r\nHost: lane\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            eventually(lambda: _busy(running), "the checkout is under way")
        # The client is gone; the sale completes anyway, and waits for a person's word.
        eventually(lambda: not _busy(running), "the checkout is over")
        sandbox.clear_faults()
        with running.client() as client:
            held = client.get("/v1/interrupted").json()
            assert [h["status"] for h in held] == ["approved"]
            sale = held[0]["id"]
            assert client.get("/v1/health").json()["interrupted"] == 1
            finished = client.post(f"/v1/interrupted/{sale}/finish")
            assert finished.status_code == 200 and finished.json()["goes_ahead"] is True
            assert client.get("/v1/interrupted").json() == []
            gone = client.post(f"/v1/interrupted/{sale}/finish")
            assert gone.status_code == 404 and gone.json()["code"] == "not_interrupted"
        # A client that goes away before its body is there: nothing at all.
        with socket.socket(socket.AF_UNIX) as raw:
            raw.connect(str(running.socket))
            raw.sendall(
                b'POST /v1/redemptions HTTP/1.1\r\nHost: lane\r\nContent-Length: 400\r\n\r\n{"to'
            )
        with running.client() as client:
            assert client.get("/v1/health").json()["status"] == "ok"
    assert ledger_books(sandbox)["redemption_ids"] == [sale]
    assert [(e["id"], e["status"]) for e in _journal(sandbox)] == [(sale, "approved")]


def test_sigterm_finishes_the_sale_in_flight_then_exits_0(sandbox: RunningSandbox) -> None:
    path = short_dir() / "agent.sock"
    running = start_agent(sandbox, path)
    try:
        sandbox.add_fault("latency", "/v1/redemptions", latency_ms=3000)
        thread, answers = _redeem_in_thread(running, _sale(sandbox))
        eventually(lambda: _busy(running), "the checkout is under way")
        running.process.send_signal(signal.SIGTERM)
        thread.join(timeout=60)
        code = running.process.wait(timeout=60)
    finally:
        if running.process.poll() is None:
            running.process.kill()
    assert code == 0, running.stderr
    assert answers[0].status_code == 200 and answers[0].json()["status"] == "approved"
    assert "pos-client agent: stopped\n" in running.rest and "Traceback" not in running.stderr
    assert not path.exists()  # the socket is gone with it
    sold = answers[0].json()["id"]
    assert ledger_books(sandbox)["redemption_ids"] == [sold]
    assert [(e["id"], e["status"]) for e in _journal(sandbox)] == [(sold, "approved")]


def test_after_sigkill_a_restart_recovers_the_interrupted_sale(sandbox: RunningSandbox) -> None:
    path = short_dir() / "agent.sock"
    running = start_agent(sandbox, path)
    sandbox.add_fault("latency", "/v1/redemptions", latency_ms=8000)
    thread, answers = _redeem_in_thread(running, _sale(sandbox))
    written = eventually(lambda: _journal(sandbox), "the sale is written, on its way to the ledger")
    sale = written[0]["id"]
    running.process.send_signal(signal.SIGKILL)
    running.process.wait(timeout=30)
    thread.join(timeout=60)
    assert isinstance(answers[0], httpx.HTTPError)  # the client never had an answer
    # The ledger takes the request the dead agent sent (it was on its way).
    eventually(lambda: ledger_redemption(sandbox, sale), "the ledger has the sale", within=30)
    sandbox.clear_faults()
    # The lock died with the process; the stale socket file is replaced.
    again = start_agent(sandbox, path)
    try:
        with again.client() as client:
            held = client.get("/v1/interrupted").json()
            assert [(h["id"], h["status"]) for h in held] == [(sale, "approved")]
            cancelled = client.post(f"/v1/interrupted/{sale}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["goes_ahead"] is False
            assert client.get("/v1/interrupted").json() == []
        assert again.stop() == 0
    finally:
        if again.process.poll() is None:
            again.process.kill()
    # Taken by the ledger before the kill, voided by the cancel: counted nowhere, once.
    assert sale not in ledger_books(sandbox)["redemption_ids"]
    assert [(e["id"], e["status"]) for e in _journal(sandbox)] == [(sale, "voided")]


def test_the_screen_and_the_agent_never_both_own_a_lane(sandbox: RunningSandbox) -> None:
    with agent(sandbox) as running:
        screen = cli("run", "--config", config(sandbox), timeout=30)
        assert screen.returncode == 2
        # The lane speaks Persian: the sentence names the holder and its command.
        assert (
            "(pos-client agent)" in screen.stderr and len(screen.stderr.strip().splitlines()) == 1
        )
        second = subprocess.run(
            [*running.process.args[:-2], "--socket", str(short_dir() / "b.sock")],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 2 and "(pos-client agent)" in second.stderr
        assert "Traceback" not in second.stderr
        with running.client() as client:  # the first is untouched
            assert client.get("/v1/health").json()["status"] == "ok"
    # The other way round: the lane held by the screen (its lock, as `run` takes it).
    lane_config = load_config(sandbox.config_path("T-0001"))
    with hold_lane(lane_config.store.path, holder="screen"):
        refused = subprocess.run(
            [*running.process.args[:-2], "--socket", str(short_dir() / "c.sock")],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert refused.returncode == 2 and "(pos-client run)" in refused.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "lane.example", "::"])
def test_only_loopback_addresses_are_served(sandbox: RunningSandbox, host: str) -> None:
    result = cli("agent", "--config", config(sandbox), "--port", "0", "--host", host)
    assert result.returncode == 2 and "127.0.0.1 or ::1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_loopback_tcp_serves_the_same_operations(sandbox: RunningSandbox, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*cli_args(sandbox), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("pos-client agent: listening on http://127.0.0.1:"), line
        url = line.split("listening on ", 1)[1].strip()
        health = httpx.get(url + "/v1/health", timeout=30)
        assert health.status_code == 200 and health.json()["terminal_id"] == "T-0001"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def cli_args(sandbox: RunningSandbox) -> list[str]:
    import sys

    return [sys.executable, "-m", "pos_client.cli", "agent", "--config", config(sandbox)]


def test_an_offline_sale_is_forwarded_by_the_agent_once_the_ledger_is_back(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    milk = [{"barcode": MILK_1L, "unit_price_rial": 420_000}]
    with agent(sandbox, terminal_id="T-0002") as running, running.client() as client:
        warm = client.post(
            "/v1/redemptions", json={"token": sandbox.mint_token(nid), "lines": milk}
        )
        assert warm.json()["status"] == "approved"
        token = sandbox.mint_token(nid)
        # A short Retry-After: a lane honours the ledger's wait, a push included (fleet-api.md).
        sandbox.add_fault("unavailable", "/v1/*", count=None, retry_after=1)
        sale = client.post("/v1/redemptions", json={"token": token, "lines": milk}).json()
        assert sale["status"] == "approved_offline" and sale["goes_ahead"]
        stats = client.get("/v1/queue/stats").json()
        assert stats["count"] == 1 and stats["outstanding_offline_rial"] == 420_000
        sandbox.clear_faults()
        # The network is back: the agent's own forwarder sends it (no `queue sync` anywhere).
        pushed = client.post("/v1/queue/push")
        assert pushed.status_code == 202 and pushed.json()["pushed"] is True
        eventually(lambda: client.get("/v1/queue").json() == [], "the outbox is empty")
        assert client.get("/v1/problems").json() == []
    assert sale["id"] in ledger_books(sandbox, "T-0002")["redemption_ids"]
