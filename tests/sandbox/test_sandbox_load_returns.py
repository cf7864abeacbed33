"""A herd refused ``503`` at once is told to come back spread out, not all a second later.

With a ``target_rate`` the sandbox books each refused request's return in a
second that still has room (``pos_client.sandbox.load``); without one every
``503`` says ``busy_retry_after``, as before. The limits are driven directly,
their clock standing still, and once over real HTTP on loopback.
"""

from __future__ import annotations

import shutil
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pos_client.sandbox.load import MAX_BUSY_RETRY_AFTER, LoadLimits, LoadSettings
from pos_client.sandbox.server import start_sandbox
from tests.support.waiting import eventually

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _full(settings: LoadSettings, now: list[datetime]) -> LoadLimits:
    limits = LoadLimits(settings, now=lambda: now[0])
    for _ in range(settings.max_in_flight):  # every slot taken, none given back
        assert limits.enter() is None
    return limits


def test_a_herd_refused_at_once_is_booked_back_over_the_seconds_it_needs() -> None:
    now = [NOW]
    rate = 20.0
    limits = _full(LoadSettings(max_in_flight=4, busy_retry_after=1, target_rate=rate), now)
    waits = [limits.enter() for _ in range(200)]
    assert all(w is not None and 1 <= w <= MAX_BUSY_RETRY_AFTER for w in waits)
    per_second = Counter(waits)
    # a second N ahead takes rate * min(1, N / 10) returns (a lane comes back within [N, 1.1 N])
    assert all(count <= max(1.0, rate * min(1.0, n / 10)) for n, count in per_second.items())
    assert per_second[1] == 2 and per_second[10] == rate  # few told to come back soon
    assert max(per_second.values()) < 200 / 4  # never the herd again in one second
    assert sorted(waits) == waits  # first refused, first back
    # Time passes: the seconds gone by are free again, the ones booked stay booked.
    now[0] = NOW + timedelta(seconds=30)
    again = limits.enter()
    assert again == 1


def test_without_a_target_rate_every_503_says_busy_retry_after() -> None:
    now = [NOW]
    limits = _full(LoadSettings(max_in_flight=2, busy_retry_after=3), now)
    assert {limits.enter() for _ in range(50)} == {3}


def test_over_http_the_503s_of_a_herd_carry_the_booked_retry_after(
    tmp_path: Path, sandbox_template: Path
) -> None:
    settings = LoadSettings(max_in_flight=1, busy_retry_after=1, target_rate=10.0)
    shutil.copytree(sandbox_template, tmp_path / "sb")
    with start_sandbox(tmp_path / "sb", load=settings) as sb:
        token = sb.terminal()["token"]
        parts = urlsplit(sb.url)
        held = socket.create_connection((parts.hostname, parts.port))
        held.sendall(  # a request that holds the one slot (its body never ends)
            b"POST /v1/redemptions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            + f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        try:
            eventually(lambda: sb.sandbox.load.in_flight == 1, "the slot held")
            with sb.client() as client:
                answers = [client.get("/v1/rules") for _ in range(12)]
        finally:
            held.close()
    assert {a.status_code for a in answers} == {503}
    waits = [int(a.headers["retry-after"]) for a in answers]
    assert waits[0] == 1 and waits[-1] > 1 and sorted(waits) == waits
