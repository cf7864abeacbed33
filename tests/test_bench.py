"""``pos-client bench --quick --json`` in a subprocess: the shape of what it prints, not timings."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from pos_client.bench.figures import Against, Figure, Goal, percentile, rate, render_table

#: The history group's times (each a ratio of a long history's to a short one's).
HISTORY_TIMES = {
    f"history_{key}"
    for key in (
        "enqueue_p99",
        "pick",
        "status",
        "checkpoint",
        "x_today",
        "x_past",
        "queue",
        "startup",
    )
}
#: The herd simulation's figures (each with a goal).
HERD = {"herd_peak", "herd_wait_p50", "herd_empty", "herd_answered"}
#: The lane agent's redeem (its wallet inquired while scanning), beside the bare POST (with
#: the goal), the one-shot redeem through the agent, and a spawned ``pos-client redeem``;
#: the one-shot redeem beside the two bare exchanges it needs.
AGENT_GOALS = {"agent_p50_vs_bare_post", "agent_p99_vs_bare_post"}
AGENT = {
    *AGENT_GOALS,
    "agent_p50_vs_one_shot",
    "agent_p99_vs_one_shot",
    "agent_one_shot_p50_vs_two_exchanges",
    "agent_p50_vs_spawned",
    "agent_p99_vs_spawned",
}

#: The telemetry group's figures (lanes on one real Mosquitto).
TELEMETRY = {
    "telemetry_visible_p50",
    "telemetry_visible_p99",
    "telemetry_broker_cpu_s",
    "telemetry_publisher_rss_mb",
    "telemetry_handover_p99",
}
EXPECTED_KEYS = {
    "allocation_p99",
    "enrol_lanes_per_s",
    "fleet_page_full_table_s",
    "fleet_page_update_p50",
    "fleet_page_update_p99",
    "offline_token_p99",
    "enqueue_p50_vs_bare",
    "enqueue_p99_vs_bare",
    "enqueue_p50_vs_peer",
    "enqueue_p99_vs_peer",
    "catalog_load_s",
    "catalog_lookup_p99",
    "online_p50_vs_health",
    "online_p99_vs_health",
    "online_p50_vs_bare_post",
    "scan_to_basket_p50",
    "scan_to_basket_p99",
    "startup_s",
    "rss_mb",
    "drain_rate_vs_limit",
    "drain_rate_vs_one_by_one",
    "config_propagation_p99",
    "config_propagation_p50",
    *TELEMETRY,
    *HISTORY_TIMES,
    "history_export_peak",
    "history_bytes_per_sale",
    *HERD,
    *AGENT,
}
#: Figures that the issue gives a goal.
WITH_GOALS = {
    "allocation_p99",
    "fleet_page_full_table_s",
    "fleet_page_update_p99",
    "offline_token_p99",
    "enqueue_p50_vs_bare",
    "enqueue_p99_vs_bare",
    "enqueue_p50_vs_peer",
    "enqueue_p99_vs_peer",
    "catalog_load_s",
    "catalog_lookup_p99",
    "scan_to_basket_p99",
    "startup_s",
    "rss_mb",
    "drain_rate_vs_limit",
    "config_propagation_p99",
    "telemetry_visible_p99",
    *HISTORY_TIMES,
    "history_export_peak",
    *HERD,
    *AGENT_GOALS,
}


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


@pytest.fixture(scope="module")
def quick_run() -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "pos_client.cli", "bench", "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=480,
    )
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"not JSON (exit {result.returncode}): {result.stdout!r} {result.stderr[-2000:]}"
        )
    return result, data


def test_the_quick_run_completes_with_every_figure(quick_run: Any) -> None:
    result, data = quick_run
    assert data["errors"] == [], data["errors"]
    assert result.returncode == 0
    assert data["quick"] is True
    assert {f["key"] for f in data["figures"]} == EXPECTED_KEYS
    assert len(data["figures"]) == len(EXPECTED_KEYS)


def test_the_run_names_the_machine(quick_run: Any) -> None:
    _, data = quick_run
    info = data["machine"]
    assert info["arch"] and info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert isinstance(info["cpu"], str) and type(info["cores"]) is int and info["cores"] >= 1
    assert _is_number(data["seconds"]) and data["seconds"] > 0


def test_every_figure_is_a_positive_number_beside_a_positive_bound(quick_run: Any) -> None:
    _, data = quick_run
    for figure in data["figures"]:
        assert _is_number(figure["value"]) and figure["value"] > 0, figure
        assert figure["unit"] and figure["name"] and figure["group"]
        against = figure["against"]
        assert against["role"] in ("limit", "peer"), figure
        assert _is_number(against["value"]) and against["value"] > 0, figure
        assert type(figure["samples"]) is int and figure["samples"] >= 1


def test_ratios_are_the_value_over_what_it_is_beside(quick_run: Any) -> None:
    _, data = quick_run
    for figure in data["figures"]:
        expected = figure["value"] / figure["against"]["value"]
        assert math.isclose(figure["ratio"], expected, rel_tol=1e-9), figure


def test_goals_are_judged_as_they_say(quick_run: Any) -> None:
    _, data = quick_run
    with_goal = {f["key"] for f in data["figures"] if f["goal"] is not None}
    assert with_goal == WITH_GOALS
    for figure in data["figures"]:
        goal = figure["goal"]
        if goal is None:
            assert figure["met"] is None
            continue
        value, ratio, threshold = figure["value"], figure["ratio"], goal["threshold"]
        expected = {
            "value_below": value < threshold,
            "ratio_at_most": ratio <= threshold,
            "ratio_below": ratio < threshold,
            "ratio_at_least": ratio >= threshold,
        }[goal["kind"]]
        assert figure["met"] is expected, figure


def test_figures_sharing_a_measurement_agree(quick_run: Any) -> None:
    _, data = quick_run
    by_key = {f["key"]: f for f in data["figures"]}
    for a, b in (
        ("enqueue_p50_vs_bare", "enqueue_p50_vs_peer"),
        ("enqueue_p99_vs_bare", "enqueue_p99_vs_peer"),
        ("drain_rate_vs_limit", "drain_rate_vs_one_by_one"),
        ("online_p50_vs_health", "online_p50_vs_bare_post"),
        ("agent_p50_vs_bare_post", "agent_p50_vs_spawned"),
        ("agent_p50_vs_bare_post", "agent_p50_vs_one_shot"),
        ("agent_p99_vs_bare_post", "agent_p99_vs_one_shot"),
    ):
        assert by_key[a]["value"] == by_key[b]["value"]
    assert by_key["scan_to_basket_p50"]["value"] <= by_key["scan_to_basket_p99"]["value"]
    assert by_key["online_p50_vs_health"]["value"] <= by_key["online_p99_vs_health"]["value"]
    p50, p99 = by_key["config_propagation_p50"], by_key["config_propagation_p99"]
    assert p50["value"] <= p99["value"]
    assert p50["against"]["value"] == p99["against"]["value"]  # the same poll interval


def test_the_table_shows_every_figure(quick_run: Any) -> None:
    _, data = quick_run
    table = render_table([Figure.from_json(f) for f in data["figures"]])
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["figure", "value"]
    assert len(lines) == 2 + len(data["figures"])


def test_a_group_runs_alone_and_an_unknown_one_is_named() -> None:
    command = [sys.executable, "-m", "pos_client.cli", "bench", "--quick", "--json"]
    alone = subprocess.run(
        [*command, "--group", "allocation"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert alone.returncode == 0, alone.stderr[-2000:]
    data = json.loads(alone.stdout)
    assert {f["key"] for f in data["figures"]} == {"allocation_p99"}
    assert "sandbox ledger" not in alone.stderr  # no ledger started for it
    unknown = subprocess.run(
        [sys.executable, "-m", "pos_client.cli", "bench", "--group", "histroy"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 2
    assert "there is no figure group histroy; the groups are allocation," in unknown.stderr
    assert "history" in unknown.stderr and not unknown.stdout


# ---------------------------------------------------------------------- the arithmetic alone


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(x) for x in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile(samples, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_rate_and_ratio() -> None:
    assert rate(1000, 2.0) == 500.0
    with pytest.raises(ValueError):
        rate(1, 0)
    fast = Figure("k", "g", "n", 800.0, "redemptions/s", Against("limit", "x", 1000.0))
    assert fast.ratio == 0.8
    assert Goal("ratio_at_least", 0.8, "").met(fast.value, fast.ratio) is True
    assert Goal("ratio_below", 0.8, "").met(fast.value, fast.ratio) is False
    assert Figure("k", "g", "n", 1.0, "ms").ratio is None


def test_without_the_peer_installed_the_enqueue_group_says_what_to_install(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pos_client.bench import enqueue

    monkeypatch.setitem(sys.modules, "persistqueue", None)  # as if it were not installed
    with pytest.raises(RuntimeError, match=r"pip install 'pos-client\[bench\]'"):
        enqueue.measure(tmp_path / "enqueue", rounds=10)
    assert not (tmp_path / "enqueue" / "lane.sqlite").exists()  # nothing opened before it


def test_the_offline_token_figure_verifies_a_kb2_token_and_builds_its_wallet() -> None:
    from pos_client.bench import offline_token
    from pos_client.bench.world import household_purses

    (figure,) = offline_token.measure(runs=20)
    assert figure.key == "offline_token_p99" and figure.unit == "ms"
    assert figure.goal is not None and figure.goal.threshold == 2.0  # the allocation's budget
    assert figure.value > 0 and figure.against.value > 0 and figure.samples == 20
    # The token carried every purse of the household; the wallet built from it is not empty.
    assert figure.details["purses"] == len(household_purses(datetime.now(UTC)))
    assert 0 < figure.details["purses_offline"] <= figure.details["purses"]
