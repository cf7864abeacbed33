"""The lane's clock against the ledger's: one measured offset, one tolerance.

The ledger is the judge of time (a token's ``iat``/``exp``, a sale's
``created_at``, the business date). The lane measures how far its own clock is
from the ledger's at every answer (the ``Date`` header, ``/v1/health``'s
``time``) and corrects its clock by that offset. :data:`CLOCK_TOLERANCE` is the
one tolerance every part agrees on: the doctor, the status line and offline
approval call a clock further off than this wrong (the contract's ledger takes
an offline ``created_at`` at most 5 minutes in the future).

Pure: standard library only; times come in as values, never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

__all__ = [
    "CLOCK_TOLERANCE",
    "MAX_MEASURE_AGE",
    "ClockOffset",
    "clock_trouble",
    "corrected",
    "measure_offset",
]

#: How far the lane's clock may be from the ledger's before it is called wrong.
CLOCK_TOLERANCE: Final = timedelta(minutes=5)
#: How long a measured offset is believed without a new one (a clock drifts, is reset).
MAX_MEASURE_AGE: Final = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class ClockOffset:
    """The ledger's time minus the lane's, measured at ``measured_at`` (the lane's clock).

    ``uncertainty`` bounds the measurement's own error (half the round trip,
    and the server time's resolution).
    """

    offset: timedelta
    measured_at: datetime
    uncertainty: timedelta = timedelta(0)

    def to_meta(self) -> str:
        return (
            f"{self.offset // timedelta(milliseconds=1)} "
            f"{self.uncertainty // timedelta(milliseconds=1)} "
            f"{self.measured_at.isoformat()}"
        )

    @classmethod
    def from_meta(cls, text: str | None) -> ClockOffset | None:
        """The offset :meth:`to_meta` wrote, or ``None`` for nothing or anything else."""
        if not text:
            return None
        parts = text.split(" ")
        if len(parts) != 3:
            return None
        try:
            offset_ms, uncertainty_ms = int(parts[0]), int(parts[1])
            measured_at = datetime.fromisoformat(parts[2])
        except ValueError:
            return None
        if measured_at.tzinfo is None or uncertainty_ms < 0:
            return None
        return cls(
            timedelta(milliseconds=offset_ms), measured_at, timedelta(milliseconds=uncertainty_ms)
        )


def measure_offset(
    *, sent: datetime, received: datetime, server_time: datetime, resolution: timedelta
) -> ClockOffset:
    """The offset from one exchange: the server's time against the middle of the round trip.

    ``sent`` and ``received`` are the lane's clock when the request left and the
    answer came; ``server_time`` is what the ledger said, truncated to
    ``resolution`` (one second for a ``Date`` header).
    """
    for name, moment in (("sent", sent), ("received", received), ("server_time", server_time)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    if received < sent:
        sent = received  # the lane's clock was set back during the exchange
    half_trip = (received - sent) / 2
    middle = sent + half_trip
    server_middle = server_time + resolution / 2
    return ClockOffset(
        offset=server_middle - middle,
        measured_at=received,
        uncertainty=half_trip + resolution / 2,
    )


def corrected(now: datetime, offset: ClockOffset | None) -> datetime | None:
    """The ledger's time now, by the lane's clock and the measured offset; ``None`` if unknown.

    An offset no larger than its measurement's own uncertainty is no offset: the
    clocks agree as far as can be told, and the lane's clock is kept.
    """
    if offset is None:
        return None
    if abs(offset.offset) <= offset.uncertainty:
        return now
    return now + offset.offset


def clock_trouble(now: datetime, offset: ClockOffset | None) -> str | None:
    """Why the lane's time cannot be trusted for a sale the ledger will check later, or ``None``.

    ``clock_unknown``: never measured, measured too long ago, or measured in the
    lane's future (its clock was set back since); ``clock_wrong``: the lane's
    clock is further from the ledger's than :data:`CLOCK_TOLERANCE`.
    """
    if offset is None:
        return "clock_unknown"
    age = now - offset.measured_at
    if age < -CLOCK_TOLERANCE or age > MAX_MEASURE_AGE:
        return "clock_unknown"
    if abs(offset.offset) + offset.uncertainty > CLOCK_TOLERANCE:
        return "clock_wrong"
    return None
