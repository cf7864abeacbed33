"""The enrolment answer's optional broker is kept in the lane's private config, ready to use."""

from __future__ import annotations

import logging
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pos_client.config import load_config
from pos_client.services.enrolment import credentials_from, lane_config_text, write_lane_config

ANSWER: dict[str, Any] = {
    "terminal_id": "T-0042",
    "merchant_id": "M-0001",
    "store_id": "S-017",
    "city": "rasht",
    "token": "tok_abc",
    "trusted_keys": {"k1": "A" * 43},
    "ledger_url": "https://ledger.example/",
}


def test_the_broker_from_the_enrolment_is_saved_private_and_read_back(tmp_path: Path) -> None:
    creds = credentials_from(
        {
            **ANSWER,
            "telemetry": {
                "url": "mqtts://broker.chain.example",
                "username": "T-0042",
                "password": "s3cret-broker-pass",
            },
        }
    )
    assert "s3cret-broker-pass" not in repr(creds)
    path = write_lane_config(tmp_path / "lane.toml", lane_config_text(creds))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    telemetry = load_config(path).telemetry
    assert telemetry.url == "mqtts://broker.chain.example"
    assert (telemetry.merchant_id, telemetry.store_id) == ("M-0001", "S-017")
    assert telemetry.username == "T-0042"
    assert telemetry.password == "s3cret-broker-pass"
    assert "s3cret-broker-pass" not in repr(telemetry)


def test_without_a_broker_the_topic_is_still_known_for_a_url_from_a_config_layer(
    tmp_path: Path,
) -> None:
    text = lane_config_text(credentials_from(ANSWER))
    assert tomllib.loads(text)["telemetry"] == {"merchant_id": "M-0001", "store_id": "S-017"}
    path = write_lane_config(tmp_path / "lane.toml", text)
    assert load_config(path).telemetry.url == ""


@pytest.mark.parametrize(
    "member",
    [
        "mqtts://broker",
        {"url": "https://broker", "username": "T-0042", "password": "p"},
        {"url": "mqtt://broker", "username": "a/b", "password": "p"},
        {"url": "mqtt://broker", "username": "T-0042", "password": ""},
        {"url": "mqtt://user:pw@broker", "username": "T-0042", "password": "p"},
    ],
)
def test_a_malformed_broker_is_left_out_and_the_lane_is_enrolled(
    member: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    creds = credentials_from({**ANSWER, "telemetry": member})
    assert creds.telemetry is None
    assert "malformed telemetry" in caplog.text
    path = write_lane_config(tmp_path / "lane.toml", lane_config_text(creds))
    assert load_config(path).telemetry.url == ""
