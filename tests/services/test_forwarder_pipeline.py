"""The forwarder's pipeline of batches: one request in flight, the next one ready when it may go."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pos_client.domain.redemption import BatchItemResult, ProblemDocument, RedemptionAnswer
from pos_client.domain.states import RedemptionStatus as S
from pos_client.sandbox.server import RunningSandbox
from tests.services.test_forwarder import _offline_sales
from tests.support.lane import lane, ledger_books
from tests.support.waiting import eventually_async

#: How long a held request waits for what the code under test should have done: a bound.
BOUND = 10.0


async def test_the_next_batch_is_noted_as_sent_while_the_one_before_is_on_the_wire(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 5)
        app.forwarder.batch_size = 2
        real = app.ledger.submit_batch
        noted_ahead: list[bool] = []

        def sent(wanted: Sequence[str]) -> bool:
            return all(i.sent for i in app.store.outbox() if i.redemption_id in wanted)

        async def on_the_wire(batch: Sequence[tuple[str, bytes]]) -> list[BatchItemResult]:
            results = await real(batch)
            index = ids.index(batch[0][0])
            following = ids[index + 2 : index + 4]
            if following:  # the answer is in: the next batch must already be written ahead
                try:
                    await eventually_async(
                        lambda: sent(following),
                        "the next batch noted as sent while this one was out",
                        within=BOUND,
                        step=lambda: asyncio.sleep(0.01),
                    )
                    noted_ahead.append(True)
                except AssertionError:
                    noted_ahead.append(False)
            return results

        app.ledger.submit_batch = on_the_wire  # type: ignore[method-assign]
        report = await app.forwarder.sync(until_empty=True, timeout=60)
        assert report.remaining == 0 and report.approved == 5
    assert noted_ahead == [True, True]
    counted = ledger_books(sandbox)["redemption_ids"]
    assert all(counted.count(i) == 1 for i in ids)


async def test_a_conflict_in_a_batch_is_looked_up_before_the_next_batch_leaves(
    sandbox: RunningSandbox,
) -> None:
    """A ``409 idempotency_conflict`` item is asked by id: that lookup is a request too, so the
    next batch waits for it (one request in flight per lane)."""
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 4)
        app.forwarder.batch_size = 2
        real_batch, real_get = app.ledger.submit_batch, app.ledger.get_redemption
        out = 0
        most_out = 0
        looked_up = asyncio.Event()
        conflicted = ids[1]

        async def batch_call(batch: Sequence[tuple[str, bytes]]) -> list[BatchItemResult]:
            nonlocal out, most_out
            out += 1
            most_out = max(most_out, out)
            try:
                if batch[0][0] != ids[0]:  # the second batch: out while the lookup would run
                    await asyncio.wait_for(looked_up.wait(), BOUND)
                results = await real_batch(batch)
            finally:
                out -= 1
            if batch[0][0] == ids[0]:  # the ledger took it, and says the second one conflicts
                problem = ProblemDocument(status=409, code="idempotency_conflict")
                return [results[0], BatchItemResult(conflicted, "rejected", problem=problem)]
            return results

        async def lookup(redemption_id: str) -> RedemptionAnswer | None:
            nonlocal out, most_out
            out += 1
            most_out = max(most_out, out)
            looked_up.set()
            try:
                return await real_get(redemption_id)
            finally:
                out -= 1

        app.ledger.submit_batch = batch_call  # type: ignore[method-assign]
        app.ledger.get_redemption = lookup  # type: ignore[method-assign]
        await app.forwarder.sync(until_empty=True, timeout=60)
        assert looked_up.is_set()
        assert most_out == 1
        for redemption_id in (ids[0], ids[2], ids[3]):
            assert app.store.redemption(redemption_id).status is S.APPROVED  # type: ignore[union-attr]
