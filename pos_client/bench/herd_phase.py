"""The real herd's overloaded phase: the seconds in which the lanes asked for at least
what the ledger can take, and the redemptions it booked in those seconds.

A herd's whole span dilutes the ledger's goodput with what no ledger can help:
the ramp while lanes wait out their drain window (``uniform(0, window)``) and
the tail while the last few lanes finish. The goodput that says whether the
ledger's limits waste its capacity is the one measured while it is asked for
more than it can do: the whole seconds in which the lanes' requests (admitted
and refused, as the sandbox counted them, less the probe's own) were at least
the maximum's request rate. Both are reported; the phase's offered load is
said beside it, so that nothing is hidden.

Pure: numbers in, numbers out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Phase", "overloaded_phase"]


@dataclass(frozen=True, slots=True)
class Phase:
    """The overloaded seconds and what the ledger did in them."""

    seconds: int  # whole seconds in which the lanes asked for at least the maximum
    booked: int  # redemptions booked within those seconds
    requests: int  # the lanes' requests within those seconds
    first: int | None  # the first such second (Unix time), None without one
    last: int | None

    @property
    def goodput(self) -> float:
        return self.booked / self.seconds if self.seconds else 0.0

    @property
    def offered(self) -> float:
        """The lanes' requests per second in the phase."""
        return self.requests / self.seconds if self.seconds else 0.0


def overloaded_phase(
    *,
    per_second: Mapping[str, Sequence[int]],
    probe_at: Iterable[float],
    booked_at: Iterable[float],
    maximum_requests: float,
    start: float,
    end: float,
) -> Phase:
    """The whole seconds within ``[start, end)`` (Unix time) in which the lanes' requests
    (``per_second``: admitted, 429, 503 per Unix second, less the probe's ``probe_at``)
    reached ``maximum_requests``; the redemptions booked in them (``booked_at``)."""
    probe: dict[int, int] = {}
    for at in probe_at:
        probe[int(at)] = probe.get(int(at), 0) + 1
    chosen: dict[int, int] = {}
    for key, counts in per_second.items():
        second = int(key)
        if second < start or second + 1 > end:  # whole seconds of the herd only
            continue
        requests = sum(counts) - probe.get(second, 0)
        if requests >= maximum_requests:
            chosen[second] = requests
    booked = sum(1 for at in booked_at if int(at) in chosen)
    return Phase(
        seconds=len(chosen),
        booked=booked,
        requests=sum(chosen.values()),
        first=min(chosen) if chosen else None,
        last=max(chosen) if chosen else None,
    )
