"""``pos-client fleet status`` against a real Mosquitto, the lanes' states published as lanes."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pos_client.domain.lane_state import LaneAddress, will_payload
from pos_client.sandbox.broker import RunningBroker
from tests.support.cli import cli, run_json
from tests.support.mqtt_lanes import kill, lane_process, publish, retained, state
from tests.support.waiting import eventually

ENV = {"POS_CLIENT_BROKER_PASSWORD": "fleet-pass"}
T1 = LaneAddress("M-1", "S-1", "T-0001")
T2 = LaneAddress("M-1", "S-1", "T-0002")
T3 = LaneAddress("M-1", "S-2", "T-0003")


def status(broker: RunningBroker, *extra: str, env: dict[str, str] | None = None) -> object:
    return cli(
        "fleet",
        "status",
        "--broker",
        f"mqtt://fleet@{broker.host}:{broker.port}",
        *extra,
        env=env or ENV,
    )


def status_json(broker: RunningBroker, *extra: str) -> dict[str, object]:
    result = status(broker, "--json", *extra)
    assert result.returncode == 0, result.stderr
    return run_json(result)


def ids(document: dict[str, object]) -> list[str]:
    return [lane["terminal_id"] for lane in document["lanes"]]  # type: ignore[index, union-attr]


def test_a_killed_lane_is_offline_first_then_unsent_money_then_the_well(
    mqtt_broker: RunningBroker,
) -> None:
    publish(mqtt_broker, T1, state(3))
    publish(mqtt_broker, T2, state(8, queue=(4, 2_500_000, 620), problems=1))
    with lane_process(mqtt_broker, T3, 5, state(5, queue=(1, 90_000, 30))) as lane:
        kill(lane)
    eventually(lambda: retained(mqtt_broker, T3) == will_payload(5), "the broker sent the Will")

    document = status_json(mqtt_broker)

    assert ids(document) == ["T-0003", "T-0002", "T-0001"]
    lanes = document["lanes"]
    assert [lane["status"] for lane in lanes] == ["offline", "online", "online"]
    assert lanes[0]["needs"] == ["offline"]
    assert lanes[1]["needs"] == ["unsent", "problems"]
    assert lanes[1]["queue"] == {"count": 4, "rial": 2_500_000, "oldest_age_s": 620}
    assert lanes[2]["needs"] == []
    assert document["chain"] == {
        "lanes": 3,
        "online": 2,
        "stale": 0,
        "offline": 1,
        "unknown": 0,
        "invalid": 0,
        "needs_person": 2,
        "unsent_count": 4,
        "unsent_rial": 2_500_000,
        "problems": 1,
    }
    assert [(s["store_id"], s["lanes"]) for s in document["stores"]] == [("S-1", 2), ("S-2", 1)]
    assert document["version"] == 1 and document["settled"] is True
    assert "fleet-pass" not in json.dumps(document)


def test_the_text_report_puts_the_lanes_that_need_a_person_first(
    mqtt_broker: RunningBroker,
) -> None:
    publish(mqtt_broker, T1, state(1))
    publish(mqtt_broker, T2, state(1, devices={"printer": "paper_out"}))
    result = status(mqtt_broker)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Lanes that need a person: 1 of 2"
    assert lines[1].startswith("  S-1/T-0002  device; printer: paper_out; last state")
    assert "Per store:" in lines and "Chain:" in lines
    assert lines[-1] == (
        "  2 lanes: 2 online, 0 offline, 0 silent, 0 invalid; 0 unsent for 0 Rial; 0 problems"
    )


def test_in_persian_numbers_have_persian_digits(mqtt_broker: RunningBroker) -> None:
    publish(mqtt_broker, T1, state(1, queue=(2, 4_500_000, 60)))
    result = status(mqtt_broker, "--lang", "fa")
    assert result.returncode == 0, result.stderr
    assert "پایانه‌های نیازمند رسیدگی: ۱ از ۱" in result.stdout
    assert "۴٬۵۰۰٬۰۰۰ ریال" in result.stdout


def test_store_limits_the_answer_to_one_store(mqtt_broker: RunningBroker) -> None:
    for address in (T1, T2, T3):
        publish(mqtt_broker, address, state(1))
    document = status_json(mqtt_broker, "--store", "S-2")
    assert ids(document) == ["T-0003"]
    assert document["chain"]["lanes"] == 1  # type: ignore[index]


def test_stale_names_when_a_silent_lane_needs_a_person(mqtt_broker: RunningBroker) -> None:
    publish(mqtt_broker, T1, state(1, at=datetime.now(UTC) - timedelta(minutes=10)))
    publish(mqtt_broker, T2, state(1))
    default = status_json(mqtt_broker)
    assert ids(default) == ["T-0001", "T-0002"]
    assert default["lanes"][0]["status"] == "stale"  # type: ignore[index]
    assert default["lanes"][0]["needs"] == ["stale"]  # type: ignore[index]
    patient = status_json(mqtt_broker, "--stale", "15m")
    assert [lane["status"] for lane in patient["lanes"]] == ["online", "online"]  # type: ignore[union-attr, index]
    assert patient["stale_after_s"] == 900


def test_a_malformed_or_oversized_message_is_shown_as_invalid_and_the_rest_answer(
    mqtt_broker: RunningBroker,
) -> None:
    publish(mqtt_broker, T1, b'{"online": "yes", "session": 1}')
    publish(mqtt_broker, T2, b'{"online": true, "session": 1, "pad": "' + b"x" * 4000 + b'"}')
    publish(mqtt_broker, T3, state(1))
    document = status_json(mqtt_broker)
    lanes = {lane["terminal_id"]: lane for lane in document["lanes"]}  # type: ignore[union-attr]
    assert lanes["T-0001"]["status"] == "unknown"
    assert lanes["T-0001"]["invalid"] == {"reason": "online is not true or false", "size": 31}
    assert lanes["T-0002"]["invalid"]["reason"].endswith("over the 1024-byte limit")
    assert lanes["T-0003"]["status"] == "online"
    assert document["chain"]["invalid"] == 2  # type: ignore[index]
    assert ids(document)[-1] == "T-0003"


def test_a_wrong_password_is_one_sentence_and_exit_1(mqtt_broker: RunningBroker) -> None:
    result = status(mqtt_broker, env={"POS_CLIENT_BROKER_PASSWORD": "wrong"})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "refused the reader account 'fleet'" in result.stderr
    assert "Traceback" not in result.stderr and "wrong" not in result.stderr


def test_a_broker_that_is_down_is_one_sentence_and_exit_1(mqtt_broker: RunningBroker) -> None:
    mqtt_broker.stop()
    result = status(mqtt_broker)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"pos-client: cannot reach the broker at mqtt://fleet@127.0.0.1:{mqtt_broker.port}:"
        " Connection refused"
    )


def test_the_password_comes_from_a_private_file_never_the_url(
    mqtt_broker: RunningBroker, tmp_path: Path
) -> None:
    publish(mqtt_broker, T1, state(1))
    secret = tmp_path / "broker-password"
    secret.write_text("fleet-pass\n")
    os.chmod(secret, 0o600)
    env = {"POS_CLIENT_BROKER_PASSWORD": ""}
    result = status(mqtt_broker, "--json", "--password-file", str(secret), env=env)
    assert result.returncode == 0, result.stderr
    assert ids(run_json(result)) == ["T-0001"]
    in_url = cli(
        "fleet", "status", "--broker", f"mqtt://fleet:fleet-pass@127.0.0.1:{mqtt_broker.port}"
    )
    assert in_url.returncode == 2
    assert "must not hold the password" in in_url.stderr
    missing = status(mqtt_broker, env=env)
    assert missing.returncode == 2
    assert "POS_CLIENT_BROKER_PASSWORD" in missing.stderr


def test_an_empty_broker_says_so(mqtt_broker: RunningBroker) -> None:
    result = status(mqtt_broker)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "No lane has sent its state to this broker yet."
