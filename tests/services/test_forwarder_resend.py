"""A batch refused or unanswered is settled by sending the same stored bodies again, in one request.

Each item of a batch is idempotent by its own id (``ledger-api.md``), so the
ledger answers its stored result for what it had recorded and takes the rest
as new: one request on the next attempt, never one lookup per item; no sale
lost or counted twice. Against the real sandbox on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest

from pos_client.domain.pacing import Action
from pos_client.domain.reconcile import Finding
from pos_client.domain.states import RedemptionStatus as S
from pos_client.errors import UnknownOutcome
from pos_client.sandbox.server import RunningSandbox
from tests.services.test_forwarder import _offline_sales
from tests.services.test_forwarder_pacing import _watch
from tests.support.lane import lane, ledger_books, ledger_redemption

SALES = 5


async def _settled_once(app: Any, sandbox: RunningSandbox, ids: list[str]) -> None:
    """Every sale approved once on both sides, and the Z report agrees with the ledger's books."""
    assert app.store.outbox() == []
    assert all(app.store.redemption(i).status is S.APPROVED for i in ids)
    counted = ledger_books(sandbox)["redemption_ids"]
    assert sorted(counted) == sorted(ids)
    z = await app.reports.close_day()
    assert z.status == "agreed" and z.reconciliation is not None
    assert z.reconciliation.ledger_count == len(ids)
    assert {line.id: line.finding for line in z.reconciliation.lines} == dict.fromkeys(
        ids, Finding.MATCHED
    )


@pytest.mark.parametrize(
    ("kind", "recorded"),
    [("error_after", True), ("unavailable", False)],
    ids=["recorded-then-503", "503-before-recording"],
)
async def test_a_batch_answered_503_costs_one_request_on_the_next_attempt_not_one_per_sale(
    sandbox: RunningSandbox, kind: str, recorded: bool
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, SALES)
        calls = _watch(app)
        sandbox.add_fault(kind, "/v1/redemptions/batch", status=503, count=1, retry_after=2)
        first = await app.forwarder.drain_once()
        assert first.error and first.retry_after == 2.0 and first.remaining == SALES
        assert all(item.sent for item in app.store.outbox())  # the outcome is not known
        assert all((ledger_redemption(sandbox, i) is not None) is recorded for i in ids)
        assert app.forwarder.step.action is Action.DRAIN  # reached: it asked to wait
        assert app.forwarder.step.delay >= 2.0  # its Retry-After, never undercut
        second = await app.forwarder.sync(until_empty=True, timeout=60)
        assert app.clock.slept  # type: ignore[attr-defined]
        assert calls == ["batch", "batch"]  # the same bodies again, in one request
        assert second.remaining == 0 and second.approved == SALES
        assert second.resolved == SALES and second.sent == 0
        await _settled_once(app, sandbox, ids)


async def test_a_batch_whose_answer_never_came_is_sent_again_after_the_probe_in_one_request(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, SALES)
        calls = _watch(app)
        sandbox.add_fault("drop_after", "/v1/redemptions/batch", count=1)
        first = await app.forwarder.drain_once()
        assert first.unreachable and first.remaining == SALES
        assert all(ledger_redemption(sandbox, i) is not None for i in ids)  # it was recorded
        second = await app.forwarder.sync(until_empty=True, timeout=60)
        assert calls == ["batch", "probe", "batch"]
        assert second.remaining == 0 and second.approved == SALES
        await _settled_once(app, sandbox, ids)


async def test_a_sale_sent_again_that_the_ledger_never_had_is_taken_once(
    sandbox: RunningSandbox,
) -> None:
    """Some items of a batch recorded, some not (a batch cut short): each counted exactly once."""
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, SALES)
        real = app.ledger.submit_batch
        taken: list[str] = []

        async def cut_short(batch):  # type: ignore[no-untyped-def]
            if not taken:  # the first two reach the books, then the connection breaks
                await real(batch[:2])
                taken.extend(i for i, _ in batch[:2])
                raise UnknownOutcome("batch: no answer came from the ledger")
            return await real(batch)

        app.ledger.submit_batch = cut_short  # type: ignore[method-assign]
        calls = _watch(app)
        report = await app.forwarder.sync(until_empty=True, timeout=60)
        assert calls == ["batch", "probe", "batch"]
        assert report.remaining == 0 and report.approved == SALES
        await _settled_once(app, sandbox, ids)
