"""The lane's telemetry state message: its topic, its payload, its Will, and how a reader folds it.

As ``fleet-api.md`` ("Lane telemetry") defines it: the topic is
``pos/v1/<merchant_id>/<store_id>/<terminal_id>/state`` (retained, QoS 1) and the
payload is a JSON object of at most :data:`MAX_STATE_BYTES` bytes::

    {"online": true, "session": 17, "at": "...", "software_version": "0.2.0",
     "config_version": "tc-000042", "rules_version": "r-...", "catalog_version": "c-...",
     "ledger": {"reachable": true, "last_contact_at": "...", "offline_since": null},
     "queue": {"count": 3, "rial": 4500000, "oldest_age_s": 310},
     "problems": 1, "sales_today": 212,
     "devices": {"scanner": "ok", "printer": "paper_low", "scale": "absent"}}

The Will is ``{"online": false, "session": N}`` on the same topic. A reader ignores
a message whose ``session`` is older than the state it holds (:func:`fold`), so a
late Will of an earlier connection never marks a live lane offline.

The message carries no national ID, token or customer data: :class:`LaneState`
has no member that could hold one. Readers are tolerant (unknown members are
ignored, an empty optional string is absent); writers strict (:func:`encode_state`
refuses a state whose payload would exceed the limit).

Pure: the standard library and the domain only; "now" is passed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pos_client.domain.errors import ContractError

__all__ = [
    "MAX_STATE_BYTES",
    "TOPIC_PREFIX",
    "InvalidState",
    "LaneAddress",
    "LaneLedger",
    "LaneQueue",
    "LaneState",
    "decode_state",
    "encode_state",
    "fold",
    "parse_topic",
    "state_topic",
    "subscription",
    "will_payload",
]

#: The contract's limit on one state payload.
MAX_STATE_BYTES = 1024
TOPIC_PREFIX = "pos/v1"
#: An id in a topic: no MQTT wildcard or separator, nothing empty, nothing long.
_TOPIC_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
#: A device status word (``ok``, ``paper_low``, ``absent``, ...).
_DEVICE_WORD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_MAX_DEVICES = 16
_MAX_VERSION_CHARS = 64
_MAX_COUNT = 10**9
_MAX_RIAL = 10**15


@dataclass(frozen=True, slots=True)
class LaneAddress:
    """Which lane a topic belongs to."""

    merchant_id: str
    store_id: str
    terminal_id: str


@dataclass(frozen=True, slots=True)
class LaneLedger:
    reachable: bool
    last_contact_at: datetime | None = None
    offline_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class LaneQueue:
    count: int = 0
    rial: int = 0
    oldest_age_s: int | None = None


@dataclass(frozen=True, slots=True)
class LaneState:
    """One state message. An offline message (a Will, or a clean goodbye) has only
    ``online`` False and ``session``; every other member is then None."""

    online: bool
    session: int
    at: datetime | None = None
    software_version: str | None = None
    config_version: str | None = None
    rules_version: str | None = None
    catalog_version: str | None = None
    ledger: LaneLedger | None = None
    queue: LaneQueue | None = None
    problems: int | None = None
    sales_today: int | None = None
    devices: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InvalidState:
    """A message on a lane's topic that is not a state: shown as invalid, never trusted."""

    reason: str
    size: int


# --- topics ---------------------------------------------------------------------------------


def _check_id(kind: str, value: str) -> str:
    if not _TOPIC_ID.match(value):
        raise ContractError(f"{kind} {value!r} cannot be part of a telemetry topic")
    return value


def state_topic(address: LaneAddress) -> str:
    """``pos/v1/<merchant_id>/<store_id>/<terminal_id>/state``."""
    parts = (
        _check_id("merchant id", address.merchant_id),
        _check_id("store id", address.store_id),
        _check_id("terminal id", address.terminal_id),
    )
    return f"{TOPIC_PREFIX}/{'/'.join(parts)}/state"


def subscription(merchant_id: str | None = None, store_id: str | None = None) -> str:
    """The filter a reader subscribes to: every lane, a chain's, or one store's."""
    merchant = _check_id("merchant id", merchant_id) if merchant_id else "+"
    store = _check_id("store id", store_id) if store_id else "+"
    return f"{TOPIC_PREFIX}/{merchant}/{store}/+/state"


def parse_topic(topic: str) -> LaneAddress | None:
    """The lane a state topic names, or None for any other topic."""
    parts = topic.split("/")
    if len(parts) != 6 or f"{parts[0]}/{parts[1]}" != TOPIC_PREFIX or parts[5] != "state":
        return None
    if not all(_TOPIC_ID.match(part) for part in parts[2:5]):
        return None
    return LaneAddress(merchant_id=parts[2], store_id=parts[3], terminal_id=parts[4])


# --- writing --------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ContractError("a telemetry time must carry its offset")
    return value.isoformat(timespec="seconds")


def _state_object(state: LaneState) -> dict[str, Any]:
    if not state.online:
        return {"online": False, "session": state.session}
    body: dict[str, Any] = {"online": True, "session": state.session, "at": _time(state.at)}
    for name in ("software_version", "config_version", "rules_version", "catalog_version"):
        value = getattr(state, name)
        if value is not None:
            body[name] = value
    if state.ledger is not None:
        body["ledger"] = {
            "reachable": state.ledger.reachable,
            "last_contact_at": _time(state.ledger.last_contact_at),
            "offline_since": _time(state.ledger.offline_since),
        }
    if state.queue is not None:
        body["queue"] = {
            "count": state.queue.count,
            "rial": state.queue.rial,
            "oldest_age_s": state.queue.oldest_age_s,
        }
    if state.problems is not None:
        body["problems"] = state.problems
    if state.sales_today is not None:
        body["sales_today"] = state.sales_today
    if state.devices:
        body["devices"] = dict(state.devices)
    return body


def encode_state(state: LaneState) -> bytes:
    """The payload of ``state``: compact JSON, at most :data:`MAX_STATE_BYTES` bytes.

    Raises ContractError for a state a strict writer must not send (a negative
    session, an online state with no time, a payload over the limit)."""
    if state.session < 0:
        raise ContractError("a telemetry session is never negative")
    if state.online and state.at is None:
        raise ContractError("an online state says when it was true")
    payload = json.dumps(
        _state_object(state), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
    if len(payload) > MAX_STATE_BYTES:
        raise ContractError(f"a telemetry state of {len(payload)} bytes is over the limit")
    return payload


def will_payload(session: int) -> bytes:
    """The Will a lane leaves with the broker for this connection."""
    return encode_state(LaneState(online=False, session=session))


# --- reading --------------------------------------------------------------------------------


class _Bad(Exception):
    pass


def _opt_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > _MAX_VERSION_CHARS:
        raise _Bad(f"{name} is not a short text")
    return value


def _opt_time(body: Mapping[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Bad(f"{name} is not a time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{name} is not a time") from None
    if parsed.tzinfo is None:
        raise _Bad(f"{name} has no offset")
    return parsed


def _int(value: Any, name: str, *, limit: int, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise _Bad(f"{name} is not a count")
    return value


def _object(body: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Bad(f"{name} is not an object")
    return value


def _read(body: Mapping[str, Any]) -> LaneState:
    online = body.get("online")
    if not isinstance(online, bool):
        raise _Bad("online is not true or false")
    session = _int(body.get("session"), "session", limit=2**53)
    assert session is not None
    if not online:
        return LaneState(online=False, session=session)
    at = _opt_time(body, "at")
    if at is None:
        raise _Bad("an online state has no time")
    ledger_body = _object(body, "ledger")
    ledger = None
    if ledger_body is not None:
        reachable = ledger_body.get("reachable")
        if not isinstance(reachable, bool):
            raise _Bad("ledger.reachable is not true or false")
        ledger = LaneLedger(
            reachable=reachable,
            last_contact_at=_opt_time(ledger_body, "last_contact_at"),
            offline_since=_opt_time(ledger_body, "offline_since"),
        )
    queue_body = _object(body, "queue")
    queue = None
    if queue_body is not None:
        queue = LaneQueue(
            count=_int(queue_body.get("count", 0), "queue.count", limit=_MAX_COUNT) or 0,
            rial=_int(queue_body.get("rial", 0), "queue.rial", limit=_MAX_RIAL) or 0,
            oldest_age_s=_int(
                queue_body.get("oldest_age_s"),
                "queue.oldest_age_s",
                limit=_MAX_COUNT,
                optional=True,
            ),
        )
    devices_body = _object(body, "devices") or {}
    if len(devices_body) > _MAX_DEVICES:
        raise _Bad("too many devices")
    devices: dict[str, str] = {}
    for name, status in devices_body.items():
        if not _DEVICE_WORD.match(str(name)) or not isinstance(status, str):
            raise _Bad("a device status is not a word")
        if not _DEVICE_WORD.match(status):
            raise _Bad("a device status is not a word")
        devices[str(name)] = status
    return LaneState(
        online=True,
        session=session,
        at=at,
        software_version=_opt_str(body, "software_version"),
        config_version=_opt_str(body, "config_version"),
        rules_version=_opt_str(body, "rules_version"),
        catalog_version=_opt_str(body, "catalog_version"),
        ledger=ledger,
        queue=queue,
        problems=_int(body.get("problems"), "problems", limit=_MAX_COUNT, optional=True),
        sales_today=_int(body.get("sales_today"), "sales_today", limit=_MAX_COUNT, optional=True),
        devices=devices,
    )


def decode_state(payload: bytes) -> LaneState | InvalidState:
    """Read one message from a lane's topic; anything that is not a state is an InvalidState
    (oversized, not UTF-8 JSON, not an object, a member of the wrong kind). Never raises."""
    size = len(payload)
    if size > MAX_STATE_BYTES:
        return InvalidState(
            reason=f"{size} bytes, over the {MAX_STATE_BYTES}-byte limit", size=size
        )
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return InvalidState(reason="not JSON", size=size)
    if not isinstance(body, dict):
        return InvalidState(reason="not a JSON object", size=size)
    try:
        return _read(body)
    except _Bad as bad:
        return InvalidState(reason=str(bad), size=size)


def fold(held: LaneState | None, incoming: LaneState) -> LaneState:
    """What a reader holds for a lane after ``incoming`` arrives.

    A message from an older session than the state held is ignored (a late Will of
    an earlier connection, or a retained state replayed out of order). An
    :class:`InvalidState` is never folded: the reader keeps the last good state
    and shows the invalid message beside it."""
    if held is None or incoming.session >= held.session:
        return incoming
    return held
