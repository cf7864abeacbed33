"""Figure group: the lanes' telemetry at a chain's scale, on one real Mosquitto.

``lanes`` simulated lanes in this one process, each the real publishing code
(:class:`~pos_client.adapters.mqtt_telemetry.MqttTelemetry`: its own network
thread, session file, Will, birth state, reading its own topic back), each
with a broker account of its own under the contract's ACL. Once every birth
state has reached the reader, each lane publishes one change (``sales_today``
0 → 1), the changes spread evenly over ``spread_s`` seconds. The reader (the
``fleet`` account, subscribed to every lane, :func:`decode_state` and
:func:`fold` as the fleet view does) notes when each change becomes visible.

Then every lane changes at once (a burst), whose p50 and p99 are in the details.

Figures: publish-to-visible latency p50 and p99 (goal: p99 ≤ 2 s), beside the
same changes published by one bare paho client at the same pace (the broker's
and the reader's own share); the broker's CPU seconds over the change phase
(``RunningBroker.cpu_seconds``); this process's resident memory with every
lane connected, and per lane; and what a sale pays: the hand-over of a state
to the port (:meth:`MqttTelemetry.publish`) p99, with the broker up.

Imports the standard library, paho-mqtt, the adapter, the domain's state
message, the training broker and the benchmark's figures.
"""

from __future__ import annotations

import resource
import socket
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pos_client.adapters.mqtt_telemetry import MqttSettings, MqttTelemetry, SessionFile
from pos_client.domain.lane_state import (
    LaneAddress,
    LaneLedger,
    LaneQueue,
    LaneState,
    decode_state,
    encode_state,
    fold,
    state_topic,
    subscription,
)
from pos_client.sandbox.broker import start_broker

from .figures import Against, Figure, Goal, percentile

__all__ = ["measure"]

GROUP = "telemetry"
MERCHANT = "M-0001"
READER = ("fleet", "fleet-bench-pass")
#: How long the bench waits for every lane (or every change) to show (seconds).
PATIENCE_S = 120.0


def _terminal(n: int) -> str:
    return f"B-{n:05d}"


def _store(n: int) -> str:
    return f"S-{n // 40:03d}"  # 40 lanes a store


def _state(sales: int) -> LaneState:
    now = datetime.now(UTC)
    return LaneState(
        online=True,
        session=0,
        at=now,
        software_version="0.1.0",
        config_version="tc-000042",
        rules_version="r-2026-12",
        catalog_version="c-000317",
        ledger=LaneLedger(reachable=True, last_contact_at=now),
        queue=LaneQueue(count=0, rial=0),
        problems=0,
        sales_today=sales,
        devices={"scanner": "ok", "printer": "ok", "scale": "absent"},
    )


class _Reader:
    """The fleet's reader: folds every state and notes when each lane showed ``sales_today``."""

    def __init__(self) -> None:
        self.held: dict[str, LaneState] = {}
        self.seen_at: dict[tuple[str, int], float] = {}
        self.invalid = 0
        self._lock = threading.Lock()

    def on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        arrived = time.monotonic()
        state = decode_state(bytes(message.payload))
        with self._lock:
            if not isinstance(state, LaneState):
                self.invalid += 1
                return
            held = fold(self.held.get(message.topic), state)
            self.held[message.topic] = held
            if held is state and state.online and state.sales_today is not None:
                self.seen_at.setdefault((message.topic, state.sales_today), arrived)

    def count(self, sales: int) -> int:
        with self._lock:
            return sum(1 for (_, s) in self.seen_at if s == sales)


def _client(user: str, password: str, host: str, port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


def _wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the telemetry bench waited in vain for {what}")
        time.sleep(0.02)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _raise_file_limit(lanes: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, lanes * 8 + 256))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _paced(count: int, spread_s: float, act: Any) -> None:
    start = time.monotonic()
    for n in range(count):
        due = start + spread_s * n / count
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        act(n)


def measure(root: Path, *, lanes: int, spread_s: float = 5.0) -> list[Figure]:
    _raise_file_limit(lanes)
    accounts = {_terminal(n): f"pw-{n}" for n in range(lanes)}
    accounts["B-bare"] = "pw-bare"
    with start_broker(root / "broker", lanes=accounts, readers=dict([READER])) as broker:
        reader = _Reader()
        fleet = _client(*READER, broker.host, broker.port)
        fleet.on_message = reader.on_message
        fleet.subscribe(subscription(), qos=1)
        # The peer's client is made before the lanes: paho's own loop uses select(), which
        # takes no file number above 1,023, and the lanes' sockets take thousands.
        bare_topic = state_topic(LaneAddress(MERCHANT, "S-bare", "B-bare"))
        bare = _client("B-bare", "pw-bare", broker.host, broker.port)
        rss_before = _rss_mb()
        ports: list[MqttTelemetry] = []
        started = time.perf_counter()
        for n in range(lanes):
            settings = MqttSettings(url=broker.url, username=_terminal(n), password=f"pw-{n}")
            port = MqttTelemetry(
                settings,
                LaneAddress(MERCHANT, _store(n), _terminal(n)),
                SessionFile(root / "sessions" / _terminal(n)),
            )
            port.publish(_state(0))
            port.start()
            ports.append(port)
        _wait(lambda: reader.count(0) >= lanes, "every lane's birth state")
        connected_s = time.perf_counter() - started
        time.sleep(1.0)  # the lanes' own reads of their topics settle
        rss_connected = _rss_mb()

        # The changes, one a lane, spread evenly.
        sent: dict[str, float] = {}
        handover: list[float] = []
        cpu_before = broker.cpu_seconds()

        bare_wake: list[float] = []
        ends = socket.socketpair()
        for end in ends:
            end.setblocking(False)

        def change(n: int) -> None:
            port = ports[n]
            state = _state(1)
            sent[port.topic] = time.monotonic()
            began = time.perf_counter()
            port.publish(state)
            handover.append(time.perf_counter() - began)
            began = time.perf_counter()
            ends[1].send(b"\0")  # the floor: one wake-up byte, as the port sends
            bare_wake.append(time.perf_counter() - began)
            ends[0].recv(16)  # drained, as the port's network thread drains its own

        phase = time.perf_counter()
        _paced(lanes, spread_s, change)
        for end in ends:
            end.close()
        _wait(lambda: reader.count(1) >= lanes, "every lane's change")
        phase = time.perf_counter() - phase
        cpu_used = broker.cpu_seconds() - cpu_before
        latencies = [reader.seen_at[(topic, 1)] - at for topic, at in sent.items()]

        # A burst: every lane changes at once (a chain's morning, a broker back after a fault).
        burst_sent: dict[str, float] = {}
        for port in ports:
            burst_sent[port.topic] = time.monotonic()
            port.publish(_state(2))
        _wait(lambda: reader.count(2) >= lanes, "every lane's change in the burst")
        burst = [reader.seen_at[(topic, 2)] - at for topic, at in burst_sent.items()]

        # The peer: the same number of changes from one bare paho client at the same pace.
        bare_sent: dict[int, float] = {}
        bare_latencies: list[float] = []
        seen_bare = threading.Event()
        done = [0]

        def on_bare(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
            reader.on_message(_c, _u, message)
            if message.topic != bare_topic:
                return
            state = decode_state(bytes(message.payload))
            if isinstance(state, LaneState) and state.sales_today in bare_sent:
                bare_latencies.append(time.monotonic() - bare_sent[state.sales_today])
                done[0] += 1
                if done[0] >= lanes:
                    seen_bare.set()

        fleet.on_message = on_bare

        def bare_change(n: int) -> None:
            payload = encode_state(replace(_state(100 + n), session=1))
            bare_sent[100 + n] = time.monotonic()
            bare.publish(bare_topic, payload, qos=1, retain=True)

        _paced(lanes, spread_s, bare_change)
        if not seen_bare.wait(PATIENCE_S):
            raise RuntimeError(f"the bare publisher's changes: {done[0]} of {lanes} arrived")
        bare.loop_stop()
        bare.disconnect()

        stopping = time.perf_counter()
        for port in ports:
            port.stop(timeout=0)
        for port in ports:
            port.stop(timeout=5)
        stopping = time.perf_counter() - stopping
        fleet.loop_stop()
        fleet.disconnect()

    per_lane_kb = (rss_connected - rss_before) * 1024 / lanes
    details = {
        "lanes": lanes,
        "spread_s": spread_s,
        "connect_all_s": round(connected_s, 3),
        "change_phase_s": round(phase, 3),
        "stop_all_s": round(stopping, 3),
        "broker_cpu_s_per_change": round(cpu_used / lanes, 6),
        "burst_visible_p50_s": round(percentile(burst, 50), 4),
        "burst_visible_p99_s": round(percentile(burst, 99), 4),
        "invalid_seen": reader.invalid,
    }
    changes = f"{lanes:,} lanes, one change each spread over {spread_s:g} s, one Mosquitto"
    return [
        Figure(
            key="telemetry_visible_p50",
            group=GROUP,
            name="Telemetry: a lane's change visible to the fleet reader p50",
            value=percentile(latencies, 50) * 1000,
            unit="ms",
            against=Against(
                "limit", "bare paho publish to reader p50", percentile(bare_latencies, 50) * 1000
            ),
            samples=len(latencies),
            note=changes,
            details=details,
        ),
        Figure(
            key="telemetry_visible_p99",
            group=GROUP,
            name="Telemetry: a lane's change visible to the fleet reader p99",
            value=percentile(latencies, 99) * 1000,
            unit="ms",
            against=Against(
                "limit", "bare paho publish to reader p99", percentile(bare_latencies, 99) * 1000
            ),
            goal=Goal("value_below", 2000.0, "< 2 s"),
            samples=len(latencies),
            note=changes,
            details=details,
        ),
        Figure(
            key="telemetry_broker_cpu_s",
            group=GROUP,
            name=f"Telemetry: broker CPU over the {lanes:,} changes",
            value=cpu_used,
            unit="s",
            against=Against("limit", "wall time of the change phase", phase),
            samples=lanes,
            note="Mosquitto's user + system CPU (/proc), the lanes' reads of their topics included",
            details=details,
        ),
        Figure(
            key="telemetry_publisher_rss_mb",
            group=GROUP,
            name=f"Telemetry: publisher memory, {lanes:,} lanes connected",
            value=rss_connected,
            unit="MB",
            against=Against("limit", "the same process before the lanes", rss_before),
            samples=lanes,
            note=f"resident memory of this one process; {per_lane_kb:.0f} KB a lane",
            details=details,
        ),
        Figure(
            key="telemetry_handover_p99",
            group=GROUP,
            name="Telemetry: a state handed to the port p99",
            value=percentile(handover, 99) * 1000,
            unit="ms",
            against=Against(
                "limit", "a bare one-byte socket send p99", percentile(bare_wake, 99) * 1000
            ),
            samples=len(handover),
            note=(
                "MqttTelemetry.publish: into the mailbox of one and a wake-up, never the network;"
                f" p50 {percentile(handover, 50) * 1e6:.0f} µs, among {lanes:,} network threads"
                " (a lane calls it from a worker thread, never on a sale's path)"
            ),
            details=details,
        ),
    ]
