"""The training broker: a real Mosquitto with the contract's ACL.

A lane writes only its own topic; readers only read."""

from __future__ import annotations

import queue
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest

from pos_client.domain.lane_state import LaneAddress, state_topic
from pos_client.errors import TelemetryError
from pos_client.sandbox.broker import RunningBroker

T1 = state_topic(LaneAddress("M-1", "S-1", "T-0001"))


@contextmanager
def connected(broker: RunningBroker, user: str, password: str) -> Iterator[mqtt.Client]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(user, password)
    answered = threading.Event()
    codes: list[object] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, code: object, _p: object) -> None:
        codes.append(code)
        answered.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    try:
        assert answered.wait(5), "no CONNACK"
        if getattr(codes[0], "is_failure", False):
            raise ConnectionRefusedError(str(codes[0]))
        yield client
    finally:
        client.loop_stop()
        client.disconnect()


def retained(broker: RunningBroker, topic_filter: str, wait_s: float = 1.0) -> dict[str, bytes]:
    """Every retained message under ``topic_filter``, read as the fleet reader."""
    got: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    with connected(broker, "fleet", "fleet-pass") as reader:
        reader.on_message = lambda _c, _u, message: got.put(message)
        reader.subscribe(topic_filter, qos=1)
        messages: dict[str, bytes] = {}
        try:
            while True:
                message = got.get(timeout=wait_s)
                messages[message.topic] = message.payload
        except queue.Empty:
            return messages


def test_a_lane_publishes_its_own_retained_state_and_a_reader_sees_it(
    mqtt_broker: RunningBroker,
) -> None:
    with connected(mqtt_broker, "T-0001", "lane-T-0001") as lane:
        lane.publish(T1, b'{"online":false,"session":1}', qos=1, retain=True).wait_for_publish(5)
    assert retained(mqtt_broker, "pos/v1/#") == {T1: b'{"online":false,"session":1}'}


def test_a_lane_cannot_write_another_lanes_topic(mqtt_broker: RunningBroker) -> None:
    with connected(mqtt_broker, "T-0002", "lane-T-0002") as rogue:
        rogue.publish(T1, b'{"online":false,"session":99}', qos=1, retain=True).wait_for_publish(5)
    assert retained(mqtt_broker, "pos/v1/#") == {}


def test_a_reader_cannot_write(mqtt_broker: RunningBroker) -> None:
    with connected(mqtt_broker, "fleet", "fleet-pass") as reader:
        reader.publish(T1, b"{}", qos=1, retain=True).wait_for_publish(5)
    assert retained(mqtt_broker, "pos/v1/#") == {}


def test_a_wrong_password_is_refused(mqtt_broker: RunningBroker) -> None:
    with pytest.raises(ConnectionRefusedError), connected(mqtt_broker, "T-0001", "wrong"):
        pass


def test_accounts_added_while_running_can_connect(mqtt_broker: RunningBroker) -> None:
    mqtt_broker.add_accounts(lanes={"T-0009": "lane-nine"})
    topic = state_topic(LaneAddress("M-1", "S-1", "T-0009"))
    deadline_tries = 50
    for attempt in range(deadline_tries):
        try:
            with connected(mqtt_broker, "T-0009", "lane-nine") as lane:
                lane.publish(topic, b"{}", qos=1, retain=True).wait_for_publish(5)
            break
        except ConnectionRefusedError:
            if attempt == deadline_tries - 1:
                raise
            threading.Event().wait(0.05)
    assert topic in retained(mqtt_broker, "pos/v1/#")


def test_retained_states_survive_a_restart_on_the_same_port(mqtt_broker: RunningBroker) -> None:
    port = mqtt_broker.port
    with connected(mqtt_broker, "T-0001", "lane-T-0001") as lane:
        lane.publish(T1, b'{"online":false,"session":3}', qos=1, retain=True).wait_for_publish(5)
    mqtt_broker.restart()
    assert mqtt_broker.port == port
    assert retained(mqtt_broker, "pos/v1/#") == {T1: b'{"online":false,"session":3}'}


def test_its_files_are_private(mqtt_broker: RunningBroker) -> None:
    for name in ("passwd", "acl", "mosquitto.conf"):
        assert stat.S_IMODE((mqtt_broker.work_dir / name).stat().st_mode) == 0o600


def test_an_account_that_would_break_the_password_file_is_refused(
    mqtt_broker: RunningBroker,
) -> None:
    with pytest.raises(TelemetryError):
        mqtt_broker.add_accounts(lanes={"T:1": "x"})
