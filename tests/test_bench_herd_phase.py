"""The real herd's overloaded phase: only the whole seconds in which the lanes asked for
at least the maximum count, and only what was booked in them."""

from __future__ import annotations

from pos_client.bench.herd_phase import overloaded_phase


def test_the_phase_leaves_out_the_ramp_the_tail_and_the_probe() -> None:
    per_second = {
        "99": [50, 0, 0],  # before the herd started
        "100": [4, 2, 0],  # the ramp: under the maximum of 10
        "101": [4, 10, 3],  # overloaded
        "102": [4, 3, 4],  # 11, less the probe's 2: 9, under the maximum
        "103": [5, 20, 5],  # overloaded
        "104": [40, 0, 0],  # past the end (not a whole second of the herd)
    }
    probe_at = [102.1, 102.5, 103.3]
    booked_at = [100.5] * 30 + [101.2] * 40 + [102.9] * 40 + [103.0] * 38 + [104.2] * 9
    phase = overloaded_phase(
        per_second=per_second,
        probe_at=probe_at,
        booked_at=booked_at,
        maximum_requests=10,
        start=100.0,
        end=104.5,
    )
    assert (phase.seconds, phase.first, phase.last) == (2, 101, 103)
    assert phase.booked == 40 + 38
    assert phase.requests == 17 + 29
    assert phase.goodput == 39.0 and phase.offered == 23.0


def test_no_overloaded_second_is_an_empty_phase() -> None:
    phase = overloaded_phase(
        per_second={"100": [1, 0, 0]},
        probe_at=[],
        booked_at=[100.2],
        maximum_requests=10,
        start=100.0,
        end=102.0,
    )
    assert phase.seconds == phase.booked == 0
    assert phase.goodput == 0.0 and phase.first is None
