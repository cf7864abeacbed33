"""Wiring the lane's telemetry: which broker, which credentials, which adapter (one line to start).

The broker's URL is the lane's ``telemetry.url`` as the config layers and the
lane's own file decide it (``[telemetry] url`` wins over a layer, a chain's
lock over both); the user name is ``[telemetry] username`` or else the
terminal id; the password and the topic's merchant and store come from the
``[telemetry]`` section (written by ``pos-client enrol``). With no URL, or
without a merchant and store to name the topic, the lane gets the port's
default adapter, which publishes nothing: it sells exactly as before.

To run it beside a lane (the checkout screen, the agent)::

    task = asyncio.create_task(lane_telemetry(lane).run())   # cancel it to stop

Imports the config, the compose root's Lane, the adapters and the services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pos_client import __version__
from pos_client.adapters.mqtt_telemetry import (
    MqttSettings,
    MqttTelemetry,
    SessionFile,
    probe_broker,
)
from pos_client.config import Config
from pos_client.config_telemetry import telemetry_password
from pos_client.domain.errors import ContractError
from pos_client.domain.lane_state import LaneAddress, state_topic
from pos_client.errors import ConfigError
from pos_client.ports import NoTelemetry, Telemetry, TelemetryStatus
from pos_client.services.doctor.telemetry import TelemetryFacts
from pos_client.services.redemptions import business_date
from pos_client.services.telemetry import DeviceWatch, LaneTelemetry

if TYPE_CHECKING:
    from pos_client.compose import Lane

__all__ = ["broker_url", "lane_telemetry", "probe_lane_broker", "session_path", "telemetry_port"]

log = logging.getLogger(__name__)


def broker_url(lane: Lane) -> str:
    """The broker URL in force for ``lane`` ("" for none)."""
    own = lane.config.telemetry.url
    book = lane.terminal_config
    if book is None:
        return own
    found = book.effective()["telemetry.url"]
    if own and found.source != "lock":  # the lane's own file wins over a layer, not a lock
        return own
    return str(found.value or "")


def session_path(lane: Lane) -> Path:
    """Where the lane keeps its telemetry session counter (beside its store, mode 0600)."""
    store = lane.config.store.path
    return store.with_name(store.name + ".telemetry-session")


def telemetry_port(lane: Lane, **settings: object) -> Telemetry:
    """The MQTT adapter for ``lane``, or the adapter that does nothing (and why, in the log)."""
    config = lane.config.telemetry
    url = broker_url(lane)
    if not url:
        return NoTelemetry()
    if not config.merchant_id or not config.store_id:
        log.warning(
            "telemetry: %s is set but [telemetry] merchant_id and store_id are not;"
            " nothing is published",
            url,
        )
        return NoTelemetry()
    try:
        password = telemetry_password(config)
        address = LaneAddress(config.merchant_id, config.store_id, lane.config.terminal.id)
        state_topic(address)
    except (ConfigError, ContractError) as exc:
        log.warning("telemetry: nothing is published: %s", exc)
        return NoTelemetry()
    options = MqttSettings(
        url=url,
        username=config.username or lane.config.terminal.id,
        password=password,
        ca_file=config.ca_file,
        keepalive_s=config.keepalive_s,
        **settings,  # type: ignore[arg-type]
    )
    return MqttTelemetry(options, address, SessionFile(session_path(lane)))


def lane_telemetry(
    lane: Lane,
    *,
    devices: DeviceWatch | None = None,
    reachable: Callable[[], bool] | None = None,
    **settings: object,
) -> LaneTelemetry:
    """The lane's telemetry service on the port its config asks for (not started: ``run()``).

    ``reachable``: whether the ledger answers, as the caller knows it (default: the
    forwarder's pacing has no failure to probe after)."""
    book = lane.terminal_config
    watch = devices or DeviceWatch(
        {
            "scanner": bool(lane.config.devices.scanners),
            "printer": bool(lane.config.devices.printer),
            "scale": bool(lane.config.devices.scale),
        }
    )
    rules = lane.rules

    def rules_version() -> str | None:
        current = rules.current()
        return None if current is None else current.version

    return LaneTelemetry(
        telemetry=telemetry_port(lane, **settings),
        store=lane.store,
        clock=lane.ledger_time or lane.clock,
        business_date=business_date,
        software_version=__version__,
        config_version=(lambda: book.version) if book is not None else (lambda: None),
        rules_version=rules_version,
        reachable=reachable or (lambda: not lane.forwarder.pacing.must_probe),
        devices=watch,
    )


def probe_lane_broker(config: Config, *, timeout: float = 5.0) -> TelemetryFacts | None:
    """For the doctor: one connection to the broker the lane's file names (None: none named).

    The password file that cannot be read is told as a refusal of the credentials."""
    tele = config.telemetry
    if not tele.url:
        return None
    user = tele.username or config.terminal.id
    facts = TelemetryFacts(
        url=tele.url, user=user, complete=bool(tele.merchant_id and tele.store_id)
    )
    if not facts.complete:
        return facts
    try:
        password = telemetry_password(tele)
    except ConfigError as exc:
        status = TelemetryStatus(configured=True, problem="not_authorised", detail=exc.message)
        return replace(facts, status=status)
    settings = MqttSettings(url=tele.url, username=user, password=password, ca_file=tele.ca_file)
    return replace(facts, status=probe_broker(settings, timeout=timeout))
