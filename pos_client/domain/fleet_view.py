"""The fleet view: what a chain's IT team sees of its lanes, from their telemetry states.

A reader (``pos-client fleet status``, ``fleet serve``) receives the retained
state of every lane (:mod:`pos_client.domain.lane_state`) and keeps, per lane,
a :class:`LaneRecord`: the last good state (folded by the session rule: a late
Will of an older session is ignored), the last *online* state (so an offline
lane still shows what it held when it went away: its unsent items, its
problems), a note of an invalid message (oversized, malformed: shown beside the
last good state, never instead of it) and when the reader last heard anything.

:func:`assess` says what about a lane needs a person, as words from
:data:`NEEDS`, ranked in that order: offline (its Will), an invalid message,
stale (its ``at`` older than the reader's ``stale_after``), the ledger
unreachable, unsent items, open problems, a device that is neither ``ok`` nor
``absent``. :func:`rank_key` orders lanes by it (within a need: the ledger lost
longest ago, the oldest unsent item, the most unsent money, the most problems
first). :func:`summarize` adds lanes up per store and for the chain.
:func:`lane_json`, :func:`totals_json` are the documented JSON of
``fleet status --json`` and of the fleet page.

Pure: the standard library and the domain only; "now" is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from pos_client.domain.errors import DomainError
from pos_client.domain.lane_state import (
    InvalidState,
    LaneAddress,
    LaneQueue,
    LaneState,
    fold,
)

__all__ = [
    "DEFAULT_STALE",
    "NEEDS",
    "Assessment",
    "LaneRecord",
    "Totals",
    "assess",
    "lane_json",
    "parse_duration",
    "rank_key",
    "ranked",
    "receive",
    "summarize",
    "totals_json",
]

#: What may need a person at a lane, most urgent first.
NEEDS: Final = (
    "offline",
    "invalid",
    "stale",
    "ledger_unreachable",
    "unsent",
    "problems",
    "device",
)
#: A lane whose last state is older than this is stale (``--stale``).
DEFAULT_STALE: Final = timedelta(minutes=5)
#: Device words that need nobody.
_QUIET_DEVICES: Final = frozenset({"ok", "absent"})
_DURATION: Final = re.compile(r"^\s*(\d{1,7})\s*([smhd]?)\s*$")
_UNIT_S: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: A sort value after every real time (a lane whose ledger is reachable).
_NEVER: Final = 2**62


@dataclass(frozen=True, slots=True)
class LaneRecord:
    """What a reader holds for one lane."""

    address: LaneAddress
    #: The last good state, folded by the session rule (an offline Will, or an online state).
    state: LaneState | None = None
    #: The last online state of the same or an older session: what an offline lane held.
    last_online: LaneState | None = None
    #: The last message that was not a state, unless a good state came after it.
    invalid: InvalidState | None = None
    #: When the reader last received a message on the lane's topic (its own clock).
    heard_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """What a lane's record means now."""

    #: ``online``, ``stale``, ``offline``, or ``unknown`` (no good state yet: only invalid ones).
    status: str
    needs: tuple[str, ...]
    queue: LaneQueue | None
    problems: int
    #: Devices that need a person, by name.
    devices_down: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Totals:
    """Lanes added up (a store's, or the chain's)."""

    lanes: int = 0
    online: int = 0
    stale: int = 0
    offline: int = 0
    unknown: int = 0
    invalid: int = 0
    needs_person: int = 0
    unsent_count: int = 0
    unsent_rial: int = 0
    problems: int = 0

    def add(self, assessment: Assessment) -> Totals:
        """These totals with one more lane."""
        mine = (
            self.lanes,
            self.online,
            self.stale,
            self.offline,
            self.unknown,
            self.invalid,
            self.needs_person,
            self.unsent_count,
            self.unsent_rial,
            self.problems,
        )
        return Totals(*(a + b for a, b in zip(mine, _counts(assessment), strict=True)))


def parse_duration(text: str) -> timedelta:
    """``"5m"``, ``"90s"``, ``"2h"``, ``"1d"`` or plain seconds (``"300"``); at least a second."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise DomainError(
            f"{text!r} is not a duration: write seconds or a number with s, m, h or d (e.g. 5m)",
            code="bad_duration",
        )
    return timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)])


# --- receiving ------------------------------------------------------------------------------


def receive(
    held: LaneRecord | None,
    address: LaneAddress,
    message: LaneState | InvalidState,
    now: datetime,
) -> LaneRecord:
    """The record of ``address`` after ``message`` arrived at ``now`` (the reader's clock)."""
    record = held if held is not None else LaneRecord(address=address)
    if isinstance(message, InvalidState):
        return replace(record, invalid=message, heard_at=now)
    state = fold(record.state, message)
    if state is not message:  # an older session's message: heard, and ignored
        return replace(record, heard_at=now)
    last_online = state if state.online else record.last_online
    return replace(record, state=state, last_online=last_online, invalid=None, heard_at=now)


# --- assessing ------------------------------------------------------------------------------


def assess(record: LaneRecord, now: datetime, stale_after: timedelta = DEFAULT_STALE) -> Assessment:
    """What about ``record`` needs a person at ``now``."""
    state, known = record.state, record.last_online
    needs: list[str] = []
    if state is None:
        status = "unknown"
    elif not state.online:
        status = "offline"
        needs.append("offline")
    elif state.at is not None and now - state.at > stale_after:
        status = "stale"
    else:
        status = "online"
    if record.invalid is not None:
        needs.append("invalid")
    if status == "stale":
        needs.append("stale")
    if known is not None and known.ledger is not None and not known.ledger.reachable:
        needs.append("ledger_unreachable")
    queue = known.queue if known is not None else None
    if queue is not None and queue.count > 0:
        needs.append("unsent")
    problems = (known.problems or 0) if known is not None else 0
    if problems > 0:
        needs.append("problems")
    devices_down = {
        name: word
        for name, word in sorted((known.devices if known is not None else {}).items())
        if word not in _QUIET_DEVICES
    }
    if devices_down:
        needs.append("device")
    return Assessment(
        status=status,
        needs=tuple(needs),
        queue=queue,
        problems=problems,
        devices_down=devices_down,
    )


def rank_key(record: LaneRecord, assessment: Assessment) -> tuple[int | str, ...]:
    """The order of lanes by what needs a person (smallest first): the first need in
    :data:`NEEDS` order, then the ledger lost longest ago, the oldest unsent item, the most
    unsent money, the most problems, the most devices down; then store and terminal."""
    tier = min((NEEDS.index(need) for need in assessment.needs), default=len(NEEDS))
    known = record.last_online
    since = _NEVER
    if known is not None and known.ledger is not None and not known.ledger.reachable:
        lost = known.ledger.offline_since or known.ledger.last_contact_at
        since = int(lost.timestamp()) if lost is not None else 0
    queue = assessment.queue
    address = record.address
    return (
        tier,
        since,
        -((queue.oldest_age_s or 0) if queue else 0),
        -(queue.rial if queue else 0),
        -(queue.count if queue else 0),
        -assessment.problems,
        -len(assessment.devices_down),
        address.merchant_id,
        address.store_id,
        address.terminal_id,
    )


def ranked(
    records: Iterable[LaneRecord], now: datetime, stale_after: timedelta = DEFAULT_STALE
) -> list[tuple[LaneRecord, Assessment]]:
    """Every record with its assessment, the lanes that need a person first."""
    pairs = [(record, assess(record, now, stale_after)) for record in records]
    pairs.sort(key=lambda pair: rank_key(*pair))
    return pairs


def _counts(assessment: Assessment) -> tuple[int, ...]:
    """One lane's contribution to :class:`Totals`, member by member."""
    queue, status = assessment.queue, assessment.status
    return (
        1,
        status == "online",
        status == "stale",
        status == "offline",
        status == "unknown",
        "invalid" in assessment.needs,
        bool(assessment.needs),
        queue.count if queue else 0,
        queue.rial if queue else 0,
        assessment.problems,
    )


def summarize(
    pairs: Iterable[tuple[LaneRecord, Assessment]],
) -> tuple[dict[tuple[str, str], Totals], Totals]:
    """Totals per (merchant, store), in id order, and for the whole chain."""
    stores: dict[tuple[str, str], list[int]] = {}
    chain = [0] * 10
    for record, assessment in pairs:
        key = (record.address.merchant_id, record.address.store_id)
        store = stores.get(key)
        if store is None:
            store = stores[key] = [0] * 10
        for i, value in enumerate(_counts(assessment)):
            store[i] += value
            chain[i] += value
    return {key: Totals(*counts) for key, counts in sorted(stores.items())}, Totals(*chain)


# --- JSON -----------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def lane_json(record: LaneRecord, assessment: Assessment) -> dict[str, Any]:
    """One lane as ``fleet status --json`` and the fleet page show it (see the README)."""
    address, state, known = record.address, record.state, record.last_online
    ledger = known.ledger if known is not None else None
    queue = assessment.queue
    return {
        "merchant_id": address.merchant_id,
        "store_id": address.store_id,
        "terminal_id": address.terminal_id,
        "status": assessment.status,
        "needs": list(assessment.needs),
        "session": state.session if state is not None else None,
        "at": _time(known.at) if known is not None else None,
        "heard_at": _time(record.heard_at),
        "software_version": known.software_version if known else None,
        "config_version": known.config_version if known else None,
        "rules_version": known.rules_version if known else None,
        "catalog_version": known.catalog_version if known else None,
        "ledger": None
        if ledger is None
        else {
            "reachable": ledger.reachable,
            "last_contact_at": _time(ledger.last_contact_at),
            "offline_since": _time(ledger.offline_since),
        },
        "queue": {
            "count": queue.count if queue else 0,
            "rial": queue.rial if queue else 0,
            "oldest_age_s": queue.oldest_age_s if queue else None,
        },
        "problems": assessment.problems,
        "sales_today": known.sales_today if known else None,
        "devices": dict(known.devices) if known is not None else {},
        "devices_down": dict(assessment.devices_down),
        "invalid": None
        if record.invalid is None
        else {"reason": record.invalid.reason, "size": record.invalid.size},
    }


def totals_json(totals: Totals) -> dict[str, int]:
    """A store's or the chain's totals as JSON."""
    return {
        "lanes": totals.lanes,
        "online": totals.online,
        "stale": totals.stale,
        "offline": totals.offline,
        "unknown": totals.unknown,
        "invalid": totals.invalid,
        "needs_person": totals.needs_person,
        "unsent_count": totals.unsent_count,
        "unsent_rial": totals.unsent_rial,
        "problems": totals.problems,
    }
