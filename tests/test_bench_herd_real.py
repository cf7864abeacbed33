"""The real herd's figure group: lanes against a sandbox with its load limits on (a small herd)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pos_client.bench import herd_real
from pos_client.bench.ledger import ledger_process
from pos_client.bench.runner import DEFAULT_GROUPS, GROUPS, OPT_IN


def test_the_real_herd_runs_only_when_named() -> None:
    assert "herd_real" in GROUPS and "herd_real" in OPT_IN
    assert "herd_real" not in DEFAULT_GROUPS


def test_a_small_herd_drains_every_lane_and_says_what_the_sandbox_counted(tmp_path: Path) -> None:
    lanes, backlog = 4, 2
    with ledger_process(tmp_path / "ledger", catalog_size=60, terminals=lanes) as ledger:
        figures = asyncio.run(
            herd_real.measure(ledger, tmp_path / "lanes", lanes=lanes, backlog=backlog, batch=2)
        )
        with ledger.client() as client:  # the limits are off again afterwards
            assert [client.get("/v1/rules").status_code for _ in range(5)] == [200] * 5
    by_key = {f.key: f for f in figures}
    # The refusal figure exists only when the probe met a refusal before the herd was over
    # (a small herd paced well may drain first); every other figure, always.
    refused = by_key["herd_real_goodput"].details["probe_refused"]
    assert set(by_key) == {
        "herd_real_goodput",
        "herd_real_goodput_whole",
        "herd_real_max_wait",
        "herd_real_offered",
        *(["herd_real_refusal_p99"] if refused else []),
    }
    goodput = by_key["herd_real_goodput"]
    details = goodput.details
    assert details["booked"] == lanes * backlog
    assert by_key["herd_real_goodput_whole"].samples == details["booked"]
    # the goodput while overloaded counts only what was booked in those seconds
    assert 0 <= details["overloaded_booked"] <= details["booked"]
    if details["overloaded_s"]:
        assert goodput.samples == max(1, details["overloaded_booked"])
        assert details["overloaded_offered_per_s"] >= details["maximum_requests_per_s"]
    else:  # no second reached the maximum: the whole herd stands for it
        assert goodput.value == by_key["herd_real_goodput_whole"].value
    # the queue was sized from the maximum's request rate x busy_retry_after (1 s)
    assert details["limits"]["queue_auto"] is True
    assert details["queue_size"] >= herd_real.WORKERS
    assert details["left_in_outboxes"] == details["lanes_not_drained"] == 0
    assert details["limits"]["max_in_flight"] == herd_real.WORKERS
    # the buckets let through 3x the maximum's request rate, shared by the lanes
    per_terminal = details["limits"]["terminal_rate"] * lanes
    assert abs(per_terminal - 3 * details["maximum_requests_per_s"]) < 1e-6
    assert details["lane_requests"] >= lanes  # every lane sent its batch at least once
    assert details["wait_min_s"] <= details["wait_p50_s"] <= details["wait_max_s"]
    assert by_key["herd_real_max_wait"].value == details["wait_max_s"]
    assert all(f.value > 0 and f.against.value > 0 for f in figures)
    # the probe (terminal T-0001, its own bucket): its refusals, each timed, if it met any
    if refused:
        assert details["probe_refused"] == by_key["herd_real_refusal_p99"].samples >= 1
