"""A scanner that floods the lane with unterminated bytes: the lane keeps reading, and the
log gets one warning and a count, not one warning per dropped run of bytes."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from drivers.scanner import ScannerStatus, SerialScanner, Suffix
from drivers.scanner.framing import DEFAULT_MAX_LENGTH, Framer
from drivers.scanner.serialport import DropLog
from tests.drivers.conftest import FAST_BACKOFF, WAIT, Recorder

FLOOD = 1024 * 1024  # 1 MB without a single terminator
BURST = 2 * DEFAULT_MAX_LENGTH
GAP = 0.002  # a pause this long ends a partial frame (as a scanner's pause between scans)
PAUSE = 0.01  # between bursts: longer than the gap


def test_a_megabyte_flood_logs_one_warning_and_a_count(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="drivers.scanner")
    master, slave = os.openpty()  # a real pseudo-terminal; writes block until read
    scanner = SerialScanner(
        port=os.ttyname(slave),
        source="flood-1",
        on_scan=recorder.on_scan,
        on_state=recorder.on_state,
        framer=Framer(suffix=Suffix.CR, gap=GAP),
        backoff=FAST_BACKOFF,
    )

    def flood() -> None:  # in bursts: each pause ends a partial frame, so each burst drops
        for start in range(0, FLOOD, BURST):
            os.write(master, b"9" * min(BURST, FLOOD - start))
            time.sleep(PAUSE)
        os.write(master, b"\rGOOD\r")  # the end of the flood, then a good scan

    try:
        scanner.start()
        recorder.wait_state(ScannerStatus.CONNECTED)
        writer = threading.Thread(target=flood, daemon=True)
        writer.start()
        recorder.wait_scans(1)
        writer.join(WAIT)
        assert recorder.data() == ["GOOD"]  # the lane still reads
    finally:
        scanner.stop()
        os.close(master)
        os.close(slave)
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("drivers.scanner")]
    assert 1 <= len(warnings) <= 3, warnings
    assert "too_long" in warnings[0]
    [summary] = [w for w in warnings[1:] if "more times" in w]
    assert int(summary.split("dropped ")[1].split()[0]) >= 10  # the flood was counted
    assert all("9999" not in w for w in warnings)  # no scanned data in the log


def test_the_drop_log_sums_up_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="drivers.scanner")
    now = [0.0]
    drops = DropLog("s", interval=10.0, monotonic=lambda: now[0])
    drops.dropped(5, "noise")
    for _ in range(100):
        now[0] += 0.01
        drops.dropped(4097, "too_long")
    assert len(caplog.records) == 1
    now[0] = 20.0
    drops.dropped(3, "incomplete")  # a new interval: the count, then this one
    messages = [r.getMessage() for r in caplog.records]
    assert messages[1] == "scanner s: dropped 100 more times, 409700 bytes in all (too_long)"
    assert messages[2] == "scanner s: dropped 3 bytes (incomplete)"
    drops.flush()
    assert len(caplog.records) == 3  # nothing counted since
