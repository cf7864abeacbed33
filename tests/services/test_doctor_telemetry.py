"""The doctor says in one sentence whether the chain's broker takes the lane (a real Mosquitto)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pos_client.compose import build_doctor
from pos_client.config import load_config
from pos_client.config_telemetry import TelemetryConfig
from pos_client.sandbox.broker import RunningBroker, free_port
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.doctor import Verdict


def config_with(sandbox: RunningSandbox, **telemetry: object):  # type: ignore[no-untyped-def]
    config = load_config(sandbox.config_path("T-0001"))
    return replace(config, telemetry=TelemetryConfig(**telemetry))  # type: ignore[arg-type]


async def telemetry_check(config: object, lang: str = "en"):  # type: ignore[no-untyped-def]
    report = await build_doctor(config, lang=lang).run(devices=False)  # type: ignore[arg-type]
    found = [c for c in report.checks if c.name == "telemetry"]
    return found[0] if found else None, report


async def test_the_broker_takes_the_lane(
    sandbox: RunningSandbox, mqtt_broker: RunningBroker
) -> None:
    config = config_with(
        sandbox, url=mqtt_broker.url, merchant_id="M-1", store_id="S-1", password="lane-T-0001"
    )
    check, _ = await telemetry_check(config)
    assert check is not None and check.verdict is Verdict.OK
    assert "accepts this lane as T-0001" in check.detail


@pytest.mark.parametrize("lang", ["en", "fa"])
async def test_a_wrong_password_is_one_sentence_without_the_password(
    sandbox: RunningSandbox, mqtt_broker: RunningBroker, lang: str
) -> None:
    config = config_with(
        sandbox, url=mqtt_broker.url, merchant_id="M-1", store_id="S-1", password="Wr0ng-pass-55"
    )
    check, report = await telemetry_check(config, lang)
    assert check is not None and check.verdict is Verdict.WARNING
    if lang == "en":
        assert check.detail.startswith(f"the broker {mqtt_broker.url} refused the user name")
    else:
        assert "نام کاربری یا رمز" in check.detail
    assert check.advice and "[telemetry]" in check.advice
    shown = json.dumps(report.to_json(language=lang, config=None, terminal=None))
    assert "Wr0ng-pass-55" not in shown


async def test_a_broker_that_is_not_there_is_a_warning(sandbox: RunningSandbox) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    config = config_with(sandbox, url=url, merchant_id="M-1", store_id="S-1", password="p")
    check, _ = await telemetry_check(config)
    assert check is not None and check.verdict is Verdict.WARNING
    assert check.detail.startswith(f"the broker {url} cannot be reached")


async def test_no_broker_no_check(sandbox: RunningSandbox) -> None:
    check, _ = await telemetry_check(load_config(sandbox.config_path("T-0001")))
    assert check is None
