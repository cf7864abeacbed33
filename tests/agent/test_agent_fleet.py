"""Three lane agents on one broker, as a chain's IT team sees them.

Real parts throughout: the sandbox ledger on loopback, three ``pos-client agent``
processes each with its own SQLite store and socket, a Mosquitto broker with
the contract's ACL, a network receipt printer on loopback for the third lane,
``pos-client fleet status --json`` and ``pos-client fleet serve`` as commands,
and the fleet page in headless Chromium.

The story: the second lane sells offline while the ledger is down (the fleet
sees its unsent sale); the ledger comes back and its queue is drained; then the
first lane's agent is killed (SIGKILL: its Will marks it offline) and the third
lane's printer is switched off. The fleet shows exactly that, and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from drivers.printer.base import ASK_PAPER, ASK_PRINTER
from pos_client.bench.browser import chromium
from pos_client.sandbox.broker import RunningBroker, free_port
from pos_client.sandbox.server import RunningSandbox
from tests.agent.support import RunningAgent, short_dir, start_agent
from tests.support.lane import MILK_1L, national_id
from tests.support.waiting import eventually

LANES = ("T-0001", "T-0002", "T-0003")
STORE_OF = {"T-0001": "S-1", "T-0002": "S-1", "T-0003": "S-2"}
KEEPALIVE_S = 2
ROOT = Path(__file__).parents[2]


class NetworkPrinter:
    """A receipt printer on loopback port 9100's protocol: answers status as ready and
    takes jobs, one connection after another, until it is switched off."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self.port = int(self._server.getsockname()[1])
        self._on = threading.Event()
        self._on.set()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}?timeout_ms=1000"

    def _serve(self) -> None:
        while self._on.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            seen = b""
            try:
                while self._on.is_set() and (chunk := conn.recv(4096)):
                    seen = (seen + chunk)[-8:]
                    if seen.endswith(ASK_PRINTER) or seen.endswith(ASK_PAPER):
                        conn.sendall(b"\x12")  # online, paper present
            except OSError:
                pass

    def switch_off(self) -> None:
        self._on.clear()
        self._server.close()


def _lane_config(
    sandbox: RunningSandbox, broker: RunningBroker, terminal: str, printer: str
) -> None:
    path = sandbox.config_path(terminal)
    text = path.read_text(encoding="utf-8").replace(
        'printer = "dummy://"', f'printer = "{printer}"'
    )
    merchant = sandbox.terminal(terminal)["merchant_id"]
    text += (
        "\n[telemetry]\n"
        f'url = "{broker.url}"\n'
        f'merchant_id = "{merchant}"\n'
        f'store_id = "{STORE_OF[terminal]}"\n'
        f'password = "lane-{terminal}"\n'
        f"keepalive_s = {KEEPALIVE_S}\n"
        "devices_every_s = 1\n"
    )
    path.write_text(text, encoding="utf-8")


def fleet_status(broker: RunningBroker) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pos_client.cli",
            "fleet",
            "status",
            "--broker",
            f"mqtt://fleet@{broker.host}:{broker.port}",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "POS_CLIENT_BROKER_PASSWORD": "fleet-pass", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def lanes_by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lane["terminal_id"]: lane for lane in document["lanes"]}


@contextmanager
def fleet_page(broker: RunningBroker) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pos_client.cli",
            "fleet",
            "serve",
            "--broker",
            f"mqtt://fleet@{broker.host}:{broker.port}",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "POS_CLIENT_BROKER_PASSWORD": "fleet-pass", "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}/"

    def listening() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return process.poll() is not None  # stop waiting: the assertion below says why

    try:
        eventually(listening, "fleet serve listens")
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def chain(
    sandbox: RunningSandbox, mqtt_broker: RunningBroker
) -> Iterator[tuple[dict[str, RunningAgent], NetworkPrinter]]:
    printer = NetworkPrinter()
    for terminal in LANES:
        _lane_config(
            sandbox, mqtt_broker, terminal, printer.url if terminal == "T-0003" else "dummy://"
        )
    agents: dict[str, RunningAgent] = {}
    with ExitStack() as stack:
        for terminal in LANES:
            running = start_agent(sandbox, short_dir() / "agent.sock", terminal_id=terminal)
            agents[terminal] = running
            stack.callback(_stop, running)
        stack.callback(printer.switch_off)
        yield agents, printer


def _stop(running: RunningAgent) -> None:
    if running.process.poll() is None:
        try:
            running.stop(timeout=30)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait(timeout=10)


def test_the_fleet_shows_a_killed_lane_a_drained_queue_and_a_broken_printer(
    sandbox: RunningSandbox,
    mqtt_broker: RunningBroker,
    chain: tuple[dict[str, RunningAgent], NetworkPrinter],
) -> None:
    agents, printer = chain
    milk = [{"barcode": MILK_1L, "unit_price_rial": 420_000}]
    nid = national_id(sandbox, "kalabarg")

    def everyone_well(document: dict[str, Any]) -> bool:
        lanes = lanes_by_id(document)
        return set(lanes) == set(LANES) and all(
            lane["status"] == "online" and lane["needs"] == [] for lane in lanes.values()
        )

    eventually(lambda: everyone_well(fleet_status(mqtt_broker)), "three lanes online and well")

    # The second lane sells while the ledger is unavailable: approved offline, owed to the ledger.
    with agents["T-0002"].client() as lane2:
        warm = lane2.post("/v1/redemptions", json={"token": sandbox.mint_token(nid), "lines": milk})
        assert warm.json()["status"] == "approved"
        token = sandbox.mint_token(nid)
        # A short Retry-After: a lane honours the ledger's wait, a push included (fleet-api.md).
        sandbox.add_fault("unavailable", "/v1/*", count=None, retry_after=1)
        sale = lane2.post("/v1/redemptions", json={"token": token, "lines": milk}).json()
        assert sale["status"] == "approved_offline"

        def lane2_owes(document: dict[str, Any]) -> bool:
            lane = lanes_by_id(document)["T-0002"]
            return (
                lane["queue"]
                == {"count": 1, "rial": 420_000, "oldest_age_s": lane["queue"]["oldest_age_s"]}
                and "unsent" in lane["needs"]
            )

        eventually(lambda: lane2_owes(fleet_status(mqtt_broker)), "lane 2's unsent sale shown")

        # The ledger is back; the lane's queue is drained.
        sandbox.clear_faults()
        assert lane2.post("/v1/queue/push").status_code == 202
        eventually(lambda: lane2.get("/v1/queue").json() == [], "lane 2's outbox is empty")

    # The first lane's agent dies without a word; the third lane's printer is switched off.
    agents["T-0001"].process.send_signal(signal.SIGKILL)
    agents["T-0001"].process.wait(timeout=10)
    printer.switch_off()

    def exactly_that(document: dict[str, Any]) -> bool:
        lanes = lanes_by_id(document)
        if set(lanes) != set(LANES):
            return False
        one, two, three = (lanes[t] for t in LANES)
        return (
            one["status"] == "offline"
            and one["needs"] == ["offline"]
            and two["status"] == "online"
            and two["needs"] == []
            and two["queue"]["count"] == 0
            and two["queue"]["rial"] == 0
            and three["status"] == "online"
            and three["needs"] == ["device"]
            and three["devices_down"] == {"printer": "offline"}
        )

    eventually(lambda: exactly_that(fleet_status(mqtt_broker)), "the fleet shows exactly that")
    document = fleet_status(mqtt_broker)
    assert [lane["terminal_id"] for lane in document["lanes"]][:2] == ["T-0001", "T-0003"]
    assert document["chain"]["lanes"] == 3
    assert document["chain"]["offline"] == 1
    assert document["chain"]["needs_person"] == 2
    assert document["chain"]["unsent_count"] == 0

    # The page shows the same, in a real browser.
    with fleet_page(mqtt_broker) as url:
        browser = chromium()
        try:
            browser.get(url)
            eventually(
                lambda: browser.execute_script("return document.body.dataset.lanes") == "3",
                "the page shows three lanes",
            )
            shown = browser.execute_script(
                "return [...document.querySelectorAll('#lanes tbody tr')]"
                ".map(r => [r.dataset.key, r.className, r.textContent])"
            )
        finally:
            browser.quit()
    assert [key.rsplit("/", 1)[-1] for key, _, _ in shown] == ["T-0001", "T-0003", "T-0002"]
    (_, one_class, _), (_, three_class, three_text), (_, two_class, _) = shown
    assert one_class.split() == ["offline", "needs"]
    assert three_class.split() == ["online", "needs"] and "printer" in three_text
    assert two_class.split() == ["online"]
