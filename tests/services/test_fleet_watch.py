"""The fleet reader kept live on a real Mosquitto: the session rule, rogue messages, restarts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pos_client.compose import broker_endpoint, fleet_reader
from pos_client.domain.fleet_view import LaneRecord, assess
from pos_client.domain.lane_state import LaneAddress
from pos_client.errors import TelemetryError
from pos_client.sandbox.broker import RunningBroker
from pos_client.services.fleet_watch import FleetWatch
from tests.support.mqtt_lanes import kill, lane_process, publish, state
from tests.support.waiting import eventually

T1 = LaneAddress("M-1", "S-1", "T-0001")


@pytest.fixture
def watch(mqtt_broker: RunningBroker) -> Iterator[FleetWatch]:
    watch = FleetWatch()
    endpoint = broker_endpoint(f"mqtt://fleet@{mqtt_broker.host}:{mqtt_broker.port}")
    reader = fleet_reader(endpoint, "fleet-pass", watch)
    reader.start()
    try:
        yield watch
    finally:
        reader.stop()


def lane(watch: FleetWatch, address: LaneAddress = T1) -> LaneRecord | None:
    return next((r for r in watch.records() if r.address == address), None)


def heard(watch: FleetWatch, version: int) -> int:
    return eventually(lambda: watch.version > version and watch.version, "a message arrived")


def test_a_late_will_of_an_older_session_leaves_the_live_lane_online(
    mqtt_broker: RunningBroker, watch: FleetWatch
) -> None:
    with lane_process(mqtt_broker, T1, 4, state(4)) as old:
        eventually(lambda: (r := lane(watch)) and r.state and r.state.session == 4, "session 4")
        with lane_process(mqtt_broker, T1, 5, state(5)) as new:
            eventually(lambda: (r := lane(watch)) and r.state and r.state.session == 5, "session 5")
            version = watch.version
            kill(old)
            heard(watch, version)
            record = lane(watch)
            assert record is not None and record.state is not None
            assert (record.state.online, record.state.session) == (True, 5)
            version = watch.version
            kill(new)
            heard(watch, version)
            record = lane(watch)
            assert record is not None
            assert assess(record, watch.now()).status == "offline"


def test_a_rogue_message_never_hides_the_last_good_state(
    mqtt_broker: RunningBroker, watch: FleetWatch
) -> None:
    publish(mqtt_broker, T1, state(2, problems=3))
    eventually(lambda: lane(watch), "the lane's state")
    version = watch.version
    publish(mqtt_broker, T1, b"\xff" * 5000)
    heard(watch, version)
    record = lane(watch)
    assert record is not None and record.state is not None and record.invalid is not None
    assert record.state.problems == 3
    assert assess(record, watch.now()).needs == ("invalid", "problems")


def test_a_broker_restarted_mid_day_sends_the_states_again(
    mqtt_broker: RunningBroker, watch: FleetWatch
) -> None:
    publish(mqtt_broker, T1, state(1))
    eventually(lambda: lane(watch), "the lane's state")
    version = watch.version
    mqtt_broker.restart()
    heard(watch, version)  # the reader reconnected, resubscribed and got the retained state
    record = lane(watch)
    assert record is not None and record.state is not None and record.state.online


def test_an_empty_retained_message_forgets_the_lane(
    mqtt_broker: RunningBroker, watch: FleetWatch
) -> None:
    publish(mqtt_broker, T1, state(1))
    eventually(lambda: lane(watch), "the lane's state")
    publish(mqtt_broker, T1, b"")
    eventually(lambda: lane(watch) is None, "the lane forgotten")
    _version, changed, removed = watch.changed_since(0)
    assert changed == [] and removed == [T1]


def test_a_reader_without_read_rights_is_told(mqtt_broker: RunningBroker) -> None:
    watch = FleetWatch()
    endpoint = broker_endpoint(f"mqtt://T-0001@{mqtt_broker.host}:{mqtt_broker.port}")
    reader = fleet_reader(endpoint, "wrong", watch)
    with pytest.raises(TelemetryError, match="refused the reader account 'T-0001'"):
        reader.start()
