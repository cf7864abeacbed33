"""``pos-client fleet serve`` as a real process: it serves the lanes, refuses a wrong password,
and stops cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from pos_client.domain.lane_state import LaneAddress
from pos_client.sandbox.broker import RunningBroker, free_port
from tests.support.cli import cli
from tests.support.mqtt_lanes import publish, state
from tests.support.waiting import eventually

T1 = LaneAddress("M-1", "S-1", "T-0001")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_shows_the_lanes_and_stops_cleanly(
    mqtt_broker: RunningBroker, stop: signal.Signals
) -> None:
    publish(mqtt_broker, T1, state(1, queue=(1, 1_000, 20)))
    port = free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pos_client.cli",
            "fleet",
            "serve",
            "--port",
            str(port),
            "--broker",
            f"mqtt://fleet@127.0.0.1:{mqtt_broker.port}",
        ],
        env={**os.environ, "POS_CLIENT_BROKER_PASSWORD": "fleet-pass"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        line = child.stderr.readline()
        assert line.startswith(f"fleet page on http://127.0.0.1:{port}/"), line

        def lanes() -> list[str]:
            document = httpx.get(f"http://127.0.0.1:{port}/lanes.json").json()
            return [lane["terminal_id"] for lane in document["lanes"]]

        eventually(lambda: lanes() == ["T-0001"], "the page knew the lane")
        child.send_signal(stop)
        assert child.wait(30) == 0
        assert "Traceback" not in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


def test_serve_with_a_wrong_password_is_one_sentence(mqtt_broker: RunningBroker) -> None:
    result = cli(
        "fleet",
        "serve",
        "--port",
        str(free_port()),
        "--broker",
        f"mqtt://fleet@127.0.0.1:{mqtt_broker.port}",
        env={"POS_CLIENT_BROKER_PASSWORD": "nope"},
    )
    assert result.returncode == 1
    assert "refused the reader account 'fleet'" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_beyond_loopback_needs_allow_remote() -> None:
    result = cli(
        "fleet",
        "serve",
        "--host",
        "0.0.0.0",
        "--broker",
        "mqtt://fleet@127.0.0.1:1",
        env={"POS_CLIENT_BROKER_PASSWORD": "x"},
    )
    assert result.returncode == 2
    assert "has no login" in result.stderr
