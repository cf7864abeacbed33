"""The fleet reader's memory: every lane's record, fed by the broker, read by status and the page.

:class:`FleetWatch` takes each message from the subscription (on the MQTT
client's thread), reads its topic and payload (:mod:`pos_client.domain.lane_state`)
and keeps one :class:`~pos_client.domain.fleet_view.LaneRecord` per lane
(:func:`~pos_client.domain.fleet_view.receive`). A message on a topic that is
not a lane's state is counted and dropped; an empty retained message (a lane's
state cleared by an administrator) forgets the lane. At most
:data:`MAX_LANES` lanes are kept (a broker whose ACL let anyone write would
otherwise grow the reader without bound).

``fleet status`` waits for the retained burst to settle (:meth:`wait_settled`:
no retained message for a quiet spell, within a cap) and answers once;
``fleet serve`` asks for the lanes changed since a version it holds
(:meth:`changed_since`), a few times a second per page.

Thread-safe. Imports the domain only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pos_client.domain.fleet_view import LaneRecord, receive
from pos_client.domain.lane_state import LaneAddress, decode_state, parse_topic

__all__ = ["MAX_LANES", "FleetWatch"]

#: More lanes than any chain has; past it new lanes are not kept.
MAX_LANES = 100_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FleetWatch:
    """Every lane heard from, by address, with a version that grows at each change."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Condition()
        self._records: dict[LaneAddress, LaneRecord] = {}
        self._changed_at: dict[LaneAddress, int] = {}
        self._removed_at: dict[LaneAddress, int] = {}
        self._version = 0
        self._subscribed_at: float | None = None
        self._last_retained_at: float | None = None
        self.ignored = 0

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def now(self) -> datetime:
        return self._clock()

    # fed by the subscription ------------------------------------------------------------------

    def subscribed(self) -> None:
        """The broker confirmed the subscription: the retained burst follows."""
        with self._lock:
            self._subscribed_at = self._monotonic()
            self._lock.notify_all()

    def receive(self, topic: str, payload: bytes, retained: bool) -> None:
        """Take one message from the broker."""
        address = parse_topic(topic)
        with self._lock:
            if retained:
                self._last_retained_at = self._monotonic()
            if address is None:
                self.ignored += 1
                return
            if not payload:
                if self._records.pop(address, None) is not None:
                    self._version += 1
                    self._changed_at.pop(address, None)
                    self._removed_at[address] = self._version
                return
            held = self._records.get(address)
            if held is None and len(self._records) >= MAX_LANES:
                self.ignored += 1
                return
            self._records[address] = receive(held, address, decode_state(payload), self._clock())
            self._version += 1
            self._changed_at[address] = self._version
            self._removed_at.pop(address, None)
            self._lock.notify_all()

    # read ---------------------------------------------------------------------------------------

    def records(self) -> list[LaneRecord]:
        with self._lock:
            return list(self._records.values())

    def changed_since(self, version: int) -> tuple[int, list[LaneRecord], list[LaneAddress]]:
        """The current version, the lanes changed after ``version`` and those forgotten."""
        with self._lock:
            changed = [
                self._records[address] for address, at in self._changed_at.items() if at > version
            ]
            removed = [address for address, at in self._removed_at.items() if at > version]
            return self._version, changed, removed

    def wait_settled(self, *, quiet_s: float = 0.5, cap_s: float = 10.0) -> bool:
        """Wait until the retained burst is over: subscribed, and no retained message for
        ``quiet_s``; at most ``cap_s``. True if it settled within the cap."""
        deadline = self._monotonic() + cap_s
        with self._lock:
            while True:
                now = self._monotonic()
                if self._subscribed_at is not None:
                    last = max(self._subscribed_at, self._last_retained_at or 0.0)
                    if now - last >= quiet_s:
                        return True
                    wait = min(quiet_s - (now - last), deadline - now)
                else:
                    wait = deadline - now
                if wait <= 0:
                    return False
                self._lock.wait(min(wait, 0.05))
