"""Lanes on a real broker, for the fleet view's tests (not a test module).

The telemetry publisher is another part of the program; these tests publish
the contract's messages with paho directly, as a lane account would:
:func:`publish` sends one retained message as a lane and disconnects cleanly;
:func:`lane_process` runs a lane in a child process that connects with its Will
(``{"online": false, "session": N}``), publishes its state and stays connected
until the test kills it with SIGKILL, when the broker publishes the Will.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from pos_client.domain.lane_state import (
    LaneAddress,
    LaneLedger,
    LaneQueue,
    LaneState,
    encode_state,
    state_topic,
)
from pos_client.sandbox.broker import RunningBroker


def lane_password(terminal_id: str) -> str:
    """The password the ``mqtt_broker`` fixture gives a lane account."""
    return f"lane-{terminal_id}"


def state(
    session: int = 1,
    *,
    at: datetime | None = None,
    queue: tuple[int, int, int | None] = (0, 0, None),
    problems: int = 0,
    devices: dict[str, str] | None = None,
    reachable: bool = True,
    software_version: str = "0.2.0",
) -> bytes:
    """An online state payload, as a lane's strict writer makes it."""
    at = at or datetime.now(UTC)
    return encode_state(
        LaneState(
            online=True,
            session=session,
            at=at,
            software_version=software_version,
            config_version="tc-000042",
            ledger=LaneLedger(
                reachable=reachable,
                last_contact_at=at,
                offline_since=None if reachable else at,
            ),
            queue=LaneQueue(count=queue[0], rial=queue[1], oldest_age_s=queue[2]),
            problems=problems,
            sales_today=10,
            devices=devices or {"scanner": "ok", "printer": "ok", "scale": "absent"},
        )
    )


def _client(broker: RunningBroker, user: str, password: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(user, password)
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    assert connected.wait(10), "the lane got no CONNACK"
    return client


def publish(broker: RunningBroker, address: LaneAddress, payload: bytes) -> None:
    """One retained QoS 1 message on the lane's own topic, as the lane account."""
    user = address.terminal_id
    client = _client(broker, user, lane_password(user))
    try:
        client.publish(state_topic(address), payload, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


_CHILD = r"""
import sys, time
import paho.mqtt.client as mqtt
host, port, user, password, topic, will, payload = sys.argv[1:8]
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=sys.argv[8],
                     protocol=mqtt.MQTTv311)
client.username_pw_set(user, password)
client.will_set(topic, will.encode(), qos=1, retain=True)
client.connect(host, int(port), keepalive=5)
client.loop_start()
client.publish(topic, payload.encode(), qos=1, retain=True).wait_for_publish(10)
print("ready", flush=True)
while True:
    time.sleep(1)
"""


@contextmanager
def lane_process(
    broker: RunningBroker, address: LaneAddress, session: int, payload: bytes
) -> Iterator[subprocess.Popen[str]]:
    """A lane connected with its Will for ``session``, its state published; kill it with
    :func:`kill`. Stopped by its pid at the end."""
    user = address.terminal_id
    will = encode_state(LaneState(online=False, session=session)).decode()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD,
            broker.host,
            str(broker.port),
            user,
            lane_password(user),
            state_topic(address),
            will,
            payload.decode(),
            f"lane-{user}-{session}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        yield child
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        if child.stdout:
            child.stdout.close()


def kill(child: subprocess.Popen[str]) -> None:
    """SIGKILL: the lane leaves no goodbye; the broker publishes its Will."""
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)


def retained(broker: RunningBroker, address: LaneAddress, *, wait_s: float = 0.5) -> bytes | None:
    """The retained message on the lane's topic now, read as the ``fleet`` reader."""
    got: list[bytes] = []
    arrived = threading.Event()
    client = _client(broker, "fleet", "fleet-pass")

    def take(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        got.append(bytes(message.payload))
        arrived.set()

    client.on_message = take
    try:
        client.subscribe(state_topic(address), qos=1)
        arrived.wait(wait_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return got[-1] if got else None
