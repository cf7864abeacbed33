"""The herd simulation: the real pacing policy on a virtual clock against a model ledger."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pos_client.bench import herd
from pos_client.domain.pacing import PacingPolicy

#: A smaller scene with the same proportions as the goal's (lanes / capacity = 20 s).
SCENE = {"lanes": 5_000, "outage": 600.0, "capacity": 250.0}


@pytest.fixture(scope="module")
def runs() -> dict[str, herd.HerdResult]:
    return herd.run_all(**SCENE)  # type: ignore[arg-type]


def test_the_paced_lanes_meet_the_goals_and_beat_the_anchors(
    runs: dict[str, herd.HerdResult],
) -> None:
    paced, jitter, grpc = runs["paced"], runs["full_jitter"], runs["grpc"]
    assert paced.peak_units <= 1.15 * paced.capacity
    assert paced.wait_p50 <= 15.0
    assert paced.empty_after <= 1.3 * paced.ideal
    assert paced.refused_share <= 0.05
    assert jitter.wait_p50 > 3 * paced.wait_p50 and grpc.wait_p50 > 2 * paced.wait_p50
    assert paced.batches == jitter.batches == grpc.batches  # the same lanes and backlogs


def test_every_lane_gets_its_backlog_on_the_books(runs: dict[str, herd.HerdResult]) -> None:
    for result in runs.values():
        assert result.wait_max < float("inf") and result.requests >= result.batches


def test_the_simulation_drives_the_real_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"health": 0}
    real = PacingPolicy.on_health

    def counted(self: PacingPolicy, window: float | None):  # type: ignore[no-untyped-def]
        calls["health"] += 1
        return real(self, window)

    monkeypatch.setattr(PacingPolicy, "on_health", counted)
    result = herd.simulate("paced", lanes=200, outage=120.0, capacity=10.0)
    assert calls["health"] >= 200  # each lane probed once the ledger was back
    assert result.wait_max < float("inf")


def test_the_same_seed_gives_the_same_run() -> None:
    one = herd.simulate("paced", lanes=300, outage=60.0, capacity=15.0, seed=4).to_json()
    two = herd.simulate("paced", lanes=300, outage=60.0, capacity=15.0, seed=4).to_json()
    one.pop("wall_s"), two.pop("wall_s")
    assert one == two


@pytest.mark.parametrize(("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("30m", 1800.0)])
def test_durations(text: str, seconds: float) -> None:
    assert herd.parse_duration(text) == seconds


def test_a_bad_duration_is_refused_in_a_sentence() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        herd.parse_duration("soon")
    result = subprocess.run(
        [sys.executable, "-m", "pos_client.cli", "bench", "herd", "--outage", "soon"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "not a duration" in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_herd_runs_alone_with_its_sizes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pos_client.cli", "bench", "herd", "--lanes", "300", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    assert {f["key"] for f in data["figures"]} == {
        "herd_peak",
        "herd_wait_p50",
        "herd_empty",
        "herd_answered",
    }
    assert data["figures"][0]["details"]["paced"]["lanes"] == 300
