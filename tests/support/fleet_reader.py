"""A fleet reader for tests: subscribes as ``fleet`` and folds every lane's state as a reader must.

Holds, per topic, the folded state (``fold``), every message in arrival order
(decoded), and the time each arrived; tests wait on them with
:func:`tests.support.waiting.eventually`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt

from pos_client.domain.lane_state import InvalidState, LaneState, decode_state, fold, subscription
from pos_client.sandbox.broker import RunningBroker
from tests.support.waiting import eventually


@dataclass
class FleetReader:
    held: dict[str, LaneState] = field(default_factory=dict)
    seen: list[tuple[str, LaneState | InvalidState, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        decoded = decode_state(message.payload)
        with self.lock:
            self.seen.append((message.topic, decoded, time.monotonic()))
            if isinstance(decoded, LaneState):
                self.held[message.topic] = fold(self.held.get(message.topic), decoded)

    def state(self, topic: str) -> LaneState | None:
        with self.lock:
            return self.held.get(topic)

    def messages(self, topic: str) -> list[LaneState | InvalidState]:
        with self.lock:
            return [m for t, m, _ in self.seen if t == topic]

    def wait(self, topic: str, predicate: object, what: str, within: float = 30.0) -> LaneState:
        def check() -> LaneState | None:
            state = self.state(topic)
            return state if state is not None and predicate(state) else None  # type: ignore[operator]

        return eventually(check, what, within=within)


@contextmanager
def fleet_reader(broker: RunningBroker, topic_filter: str | None = None) -> Iterator[FleetReader]:
    """A reader subscribed to every lane (``pos/v1/+/+/+/state``) for the ``with`` block."""
    reader = FleetReader()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set("fleet", "fleet-pass")
    subscribed = threading.Event()
    client.on_message = reader.on_message
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(topic_filter or subscription(), qos=1)
    client.reconnect_delay_set(0.1, 0.5)
    client.connect(broker.host, broker.port, keepalive=5)
    client.loop_start()
    try:
        assert subscribed.wait(10), "the fleet reader could not subscribe"
        yield reader
    finally:
        client.loop_stop()
        client.disconnect()
