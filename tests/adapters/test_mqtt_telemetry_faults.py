"""The lane's telemetry when things go wrong: a killed or hung lane, a late Will, a wrong topic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pos_client.adapters.mqtt_telemetry import MqttSettings, MqttTelemetry, SessionFile
from pos_client.domain.lane_state import LaneAddress, LaneState, state_topic
from pos_client.sandbox.broker import RunningBroker
from tests.support.fleet_reader import fleet_reader
from tests.support.tcp_proxy import tcp_proxy
from tests.support.waiting import eventually

KEEPALIVE_S = 2
#: Mosquitto 2.0 looks at its clients' keepalives every 5 s, not continuously.
BROKER_CHECK_S = 5.0
T1 = state_topic(LaneAddress("M-0001", "S-0001", "T-0001"))
T2 = state_topic(LaneAddress("M-0001", "S-0001", "T-0002"))
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def lane_process(broker: RunningBroker, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.telemetry_child",
            broker.url,
            "T-0001",
            "lane-T-0001",
            str(tmp_path / "session"),
            str(KEEPALIVE_S),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("connected "), line
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(10)
        if child.stdout:
            child.stdout.close()


def arrival_of_offline(reader: object, topic: str, session: int) -> float:
    def found() -> float | None:
        with reader.lock:  # type: ignore[attr-defined]
            for seen_topic, message, at in reader.seen:  # type: ignore[attr-defined]
                if (
                    seen_topic == topic
                    and isinstance(message, LaneState)
                    and not message.online
                    and message.session == session
                ):
                    return at
        return None

    return eventually(found, f"the Will of session {session}", within=30)


def test_a_lane_killed_with_sigkill_shows_offline_by_its_will(
    mqtt_broker: RunningBroker, tmp_path: Path
) -> None:
    with fleet_reader(mqtt_broker) as reader, lane_process(mqtt_broker, tmp_path) as child:
        alive = reader.wait(T1, lambda s: s.online, "the lane's state")
        assert alive.sales_today == 7
        killed_at = time.monotonic()
        child.send_signal(signal.SIGKILL)
        offline_at = arrival_of_offline(reader, T1, alive.session)
        assert offline_at - killed_at <= 1.5 * KEEPALIVE_S
        assert reader.state(T1) == LaneState(online=False, session=alive.session)


def test_a_hung_lane_shows_offline_within_one_and_a_half_keepalives(
    mqtt_broker: RunningBroker, tmp_path: Path
) -> None:
    """SIGSTOP keeps its connection open: only the broker's keepalive can tell."""
    with fleet_reader(mqtt_broker) as reader, lane_process(mqtt_broker, tmp_path) as child:
        alive = reader.wait(T1, lambda s: s.online, "the lane's state")
        child.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            offline_at = arrival_of_offline(reader, T1, alive.session)
        finally:
            child.send_signal(signal.SIGCONT)
        # 1.5 keepalives of silence, found at the broker's next keepalive check.
        assert offline_at - stopped_at <= 1.5 * KEEPALIVE_S + BROKER_CHECK_S + 1.0


def test_a_late_will_of_an_older_session_never_hides_the_live_lane(
    mqtt_broker: RunningBroker, tmp_path: Path
) -> None:
    with tcp_proxy(mqtt_broker.port) as proxy, fleet_reader(mqtt_broker) as reader:
        settings = MqttSettings(
            url=proxy.url,
            username="T-0001",
            password="lane-T-0001",
            keepalive_s=1,
            backoff_base_s=0.1,
            backoff_cap_s=0.3,
        )
        lane = MqttTelemetry(
            settings, LaneAddress("M-0001", "S-0001", "T-0001"), SessionFile(tmp_path / "s")
        )
        lane.publish(LaneState(online=True, session=0, at=datetime.now(UTC), sales_today=1))
        lane.start()
        try:
            first = reader.wait(T1, lambda s: s.online, "the first session's state")
            assert proxy.freeze() == 1  # the link goes silent; the broker still holds it
            second = reader.wait(
                T1, lambda s: s.online and s.session > first.session, "the lane back, reconnected"
            )
            proxy.cut_frozen()  # now the old connection dies: the broker sends its Will
            arrival_of_offline(reader, T1, first.session)
            assert reader.state(T1) == second or (
                reader.state(T1).online  # type: ignore[union-attr]
                and reader.state(T1).session >= second.session  # type: ignore[union-attr]
            )

            # What a reader starting now is given first (the retained message) is the live
            # lane again, not the old Will.
            def retained_is_live() -> bool:
                with fleet_reader(mqtt_broker) as late:
                    state = eventually(lambda: late.state(T1), "a retained state", within=10)
                    return state.online and state.session >= second.session

            eventually(retained_is_live, "the retained state back to the live lane", within=30)
        finally:
            lane.stop()


def test_a_lane_pointed_at_another_lanes_topic_is_refused_and_says_so(
    mqtt_broker: RunningBroker, tmp_path: Path
) -> None:
    with fleet_reader(mqtt_broker) as reader:
        wrong = MqttTelemetry(
            MqttSettings(url=mqtt_broker.url, username="T-0001", password="lane-T-0001"),
            LaneAddress("M-0001", "S-0001", "T-0002"),
            SessionFile(tmp_path / "wrong"),
        )
        right = MqttTelemetry(
            MqttSettings(url=mqtt_broker.url, username="T-0001", password="lane-T-0001"),
            LaneAddress("M-0001", "S-0001", "T-0001"),
            SessionFile(tmp_path / "right"),
        )
        for lane in (wrong, right):
            lane.publish(LaneState(online=True, session=0, at=datetime.now(UTC)))
        wrong.start()
        try:
            eventually(lambda: wrong.status().problem == "not_authorised", "the refusal told")
            right.start()
            reader.wait(T1, lambda s: s.online, "the lane's own topic")
            time.sleep(0.5)
            assert reader.messages(T2) == []
        finally:
            wrong.stop()
            right.stop()
