"""The lane's clock against the ledger's: measuring, correcting, trusting (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pos_client.domain.clock import (
    CLOCK_TOLERANCE,
    MAX_MEASURE_AGE,
    ClockOffset,
    clock_trouble,
    corrected,
    measure_offset,
)

T = datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def test_the_offset_is_measured_against_the_middle_of_the_round_trip() -> None:
    # The lane sent at T, heard at T+2 s; the ledger said T+61 s (a whole second).
    offset = measure_offset(
        sent=T, received=T + 2 * SECOND, server_time=T + 61 * SECOND, resolution=SECOND
    )
    assert offset.offset == timedelta(seconds=60.5)
    assert offset.uncertainty == timedelta(seconds=1.5)
    assert offset.measured_at == T + 2 * SECOND
    assert corrected(T + 10 * SECOND, offset) == T + timedelta(seconds=70.5)
    assert corrected(T, None) is None
    # No larger than the measurement's own uncertainty: the clocks agree, nothing corrected.
    agree = ClockOffset(timedelta(seconds=0.4), measured_at=T, uncertainty=timedelta(seconds=0.5))
    assert corrected(T, agree) == T


def test_a_slow_or_fast_clock_within_the_tolerance_is_trusted() -> None:
    for minutes in (-4, -1, 0, 1, 4):
        offset = ClockOffset(timedelta(minutes=minutes), measured_at=T)
        assert clock_trouble(T + timedelta(minutes=10), offset) is None


def test_a_clock_further_off_than_the_tolerance_is_wrong() -> None:
    for off in (CLOCK_TOLERANCE + SECOND, -timedelta(hours=1), timedelta(hours=1)):
        assert clock_trouble(T, ClockOffset(off, measured_at=T)) == "clock_wrong"
    # The measurement's own uncertainty counts against it.
    near = ClockOffset(CLOCK_TOLERANCE - SECOND, measured_at=T, uncertainty=2 * SECOND)
    assert clock_trouble(T, near) == "clock_wrong"


def test_an_unmeasured_stale_or_future_measurement_is_unknown() -> None:
    assert clock_trouble(T, None) == "clock_unknown"
    old = ClockOffset(timedelta(0), measured_at=T - MAX_MEASURE_AGE - SECOND)
    assert clock_trouble(T, old) == "clock_unknown"
    ahead = ClockOffset(timedelta(0), measured_at=T + CLOCK_TOLERANCE + SECOND)
    assert clock_trouble(T, ahead) == "clock_unknown"  # the lane's clock was set back


def test_the_offset_survives_the_store_and_nothing_else_is_taken() -> None:
    offset = ClockOffset(timedelta(milliseconds=-65_250), T, timedelta(milliseconds=12))
    assert ClockOffset.from_meta(offset.to_meta()) == offset
    for text in (None, "", "x", "1 2", "1 2 not-a-time", "1 -2 " + T.isoformat(), "1 2 2026-12-06"):
        assert ClockOffset.from_meta(text) is None
