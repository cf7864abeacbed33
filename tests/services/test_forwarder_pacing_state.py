"""The pacing state outlives the process: a fresh ``queue sync`` knows how the last run ended.

Each ``async with lane(...)`` below is a fresh composition over the same SQLite
file, as each command run is; against the real sandbox on loopback.
"""

from __future__ import annotations

from pos_client.domain.pacing import PacingSettings
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.pacing_state import PACING_META_KEY, PacingState
from tests.services.test_forwarder import _offline_sales
from tests.services.test_forwarder_pacing import _watch
from tests.support.lane import lane, ledger_books


async def test_a_fresh_process_probes_first_after_the_last_run_failed_to_reach_the_ledger(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 3)
        sandbox.add_fault("error_before", "/v1/redemptions/batch", status=502, count=1)
        failed = await app.forwarder.drain_once()
        assert failed.unreachable and failed.remaining == 3
    async with lane(sandbox, sync=False) as app:  # the next `queue sync`
        calls = _watch(app)
        report = await app.forwarder.sync(until_empty=True, timeout=30)
        assert calls == ["probe", "batch"]  # never a batch first
        assert report.remaining == 0 and report.approved == 3
    async with lane(sandbox, sync=False) as app:  # it went through: no probe needed now
        more = await _offline_sales(app, sandbox, 1)
        calls = _watch(app)
        await app.forwarder.sync(until_empty=True, timeout=30)
        assert calls == ["batch"]
    counted = ledger_books(sandbox)["redemption_ids"]
    assert sorted(counted) == sorted(ids + more)


async def test_a_fresh_process_waits_out_a_retry_after_and_keeps_the_retry_budget(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        await _offline_sales(app, sandbox, 2)
        sandbox.add_fault("unavailable", "/v1/redemptions/batch", count=1, retry_after=30)
        refused = await app.forwarder.drain_once()
        assert refused.retry_after == 30.0
        tokens = app.forwarder.pacing.budget.tokens
        assert tokens == PacingSettings().retry_capacity - PacingSettings().retry_cost
    async with lane(sandbox, sync=False) as app:
        assert app.forwarder.pacing.budget.tokens == tokens
        report = await app.forwarder.sync(until_empty=True, timeout=120)
        assert report.remaining == 0
        assert app.clock.slept and app.clock.slept[0] >= 29.0  # type: ignore[attr-defined]


def test_a_kept_state_that_cannot_be_read_means_probe_first() -> None:
    assert PacingState.read("not json").must_probe
    assert PacingState.read('{"failures": -1}').must_probe
    assert PacingState.read('{"failed_at": "2026-01-01T00:00:00"}').must_probe  # no offset
    kept = PacingState(must_probe=True, failures=2, budget=490)
    assert PacingState.read(kept.wire()) == kept
    assert PACING_META_KEY == "forwarder.pacing"
