"""The MQTT telemetry adapter against a real Mosquitto: birth, sessions, Will, goodbye, faults."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pos_client.adapters.mqtt_telemetry import MqttSettings, MqttTelemetry, SessionFile
from pos_client.domain.lane_state import LaneAddress, LaneState, state_topic
from pos_client.sandbox.broker import RunningBroker
from tests.support.fleet_reader import fleet_reader
from tests.support.waiting import eventually

LANE = LaneAddress("M-0001", "S-0001", "T-0001")
TOPIC = state_topic(LANE)


def state(sales: int = 0) -> LaneState:
    return LaneState(
        online=True, session=0, at=datetime.now(UTC), software_version="0.2.0", sales_today=sales
    )


def adapter(
    broker: RunningBroker, tmp_path: Path, *, password: str = "lane-T-0001", **options: object
) -> MqttTelemetry:
    settings = MqttSettings(
        url=broker.url,
        username="T-0001",
        password=password,
        keepalive_s=2,
        backoff_base_s=0.2,
        backoff_cap_s=1.0,
        **options,  # type: ignore[arg-type]
    )
    return MqttTelemetry(settings, LANE, SessionFile(tmp_path / "lane.telemetry-session"))


def test_birth_state_carries_the_session_kept_on_disk(
    mqtt_broker: RunningBroker, tmp_path: Path
) -> None:
    (tmp_path / "lane.telemetry-session").write_text("41\n")
    with fleet_reader(mqtt_broker) as reader:
        lane = adapter(mqtt_broker, tmp_path)
        lane.publish(state(sales=3))
        lane.start()
        try:
            got = reader.wait(TOPIC, lambda s: s.online, "the birth state")
            assert got.session == 42
            assert got.sales_today == 3
            assert (tmp_path / "lane.telemetry-session").read_text().strip() == "42"
            mode = stat.S_IMODE((tmp_path / "lane.telemetry-session").stat().st_mode)
            assert mode == 0o600
            lane.publish(state(sales=4))
            got = reader.wait(TOPIC, lambda s: s.sales_today == 4, "the change")
            assert got.session == 42
        finally:
            lane.stop()
        gone = reader.wait(TOPIC, lambda s: not s.online, "the goodbye")
        assert gone.session == 42


def test_the_session_grows_across_restarts(mqtt_broker: RunningBroker, tmp_path: Path) -> None:
    sessions = []
    with fleet_reader(mqtt_broker) as reader:
        for _ in range(3):
            lane = adapter(mqtt_broker, tmp_path)
            lane.publish(state())
            lane.start()
            last = sessions[-1] if sessions else 0
            got = reader.wait(TOPIC, lambda s, last=last: s.online and s.session > last, "a birth")
            sessions.append(got.session)
            lane.stop()
            reader.wait(TOPIC, lambda s, n=got.session: not s.online and s.session == n, "bye")
    assert sessions == [1, 2, 3]


def test_a_wrong_password_is_told_once_without_the_password(
    mqtt_broker: RunningBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    lane = adapter(mqtt_broker, tmp_path, password="not-the-Secret-77", refused_retry_s=0.3)
    lane.publish(state())
    lane.start()
    try:
        eventually(lambda: lane.status().problem == "not_authorised", "the refusal noticed")
        first = lane.status().session
        eventually(lambda: lane.status().session >= first + 2, "slow retries")
    finally:
        lane.stop()
    told = [r for r in caplog.records if "refused user T-0001" in r.getMessage()]
    assert len(told) == 1, [r.getMessage() for r in caplog.records]
    assert all("not-the-Secret-77" not in r.getMessage() for r in caplog.records)
    assert "not-the-Secret-77" not in caplog.text
