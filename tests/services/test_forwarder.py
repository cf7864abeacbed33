"""The forwarder: batches, Retry-After and backoff, a refused token, conflicts, held sales."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pos_client.domain.states import RedemptionStatus as S
from pos_client.errors import StoreError
from pos_client.ports import NewRedemption
from pos_client.sandbox.server import RunningSandbox
from pos_client.sandbox.throttle import MAX_FAILURES
from tests.sandbox.support import line, product, purse_id, redemption, rules_version
from tests.support.lane import MILK_1L, lane, lane_config, ledger_books, national_id


async def _offline_sales(app, sandbox: RunningSandbox, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    keys = ("kalabarg", "yasna", "expired_tranche", "large")
    ids = []
    sandbox.add_fault("rate_limit", "/v1/redemptions", count=None, retry_after=60)
    for n in range(count):
        session = app.checkout.new_session()
        await session.identify_token(sandbox.mint_token(national_id(sandbox, keys[n % len(keys)])))
        session.scan(MILK_1L)
        outcome = await session.confirm()
        assert outcome.status == "approved_offline", outcome
        session.acknowledge()
        ids.append(outcome.id)
    sandbox.clear_faults()
    return ids


async def test_a_backlog_goes_in_batches_honouring_retry_after(sandbox: RunningSandbox) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 7)
        app.forwarder.batch_size = 3
        sandbox.add_fault("unavailable", "/v1/redemptions/batch", count=2, retry_after=4)
        report = await app.forwarder.sync(until_empty=True, timeout=60)
        assert report.remaining == 0 and report.approved == 7 and report.passes >= 3
        assert max(app.clock.slept) >= 4  # type: ignore[attr-defined]
        assert all(app.store.redemption(i).status is S.APPROVED for i in ids)  # type: ignore[union-attr]
    counted = ledger_books(sandbox)["redemption_ids"]
    assert all(counted.count(i) == 1 for i in ids)


async def test_a_batch_whose_answer_is_lost_is_resolved_by_id_not_sent_blindly(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 3)
        sandbox.add_fault("drop_after", "/v1/redemptions/batch", count=1)
        first = await app.forwarder.drain_once()
        assert first.error and first.remaining == 3
        assert all(item.sent for item in app.store.outbox())
        second = await app.forwarder.drain_once()
        assert second.remaining == 0 and second.resolved == 3 and second.sent == 0
    counted = ledger_books(sandbox)["redemption_ids"]
    assert all(counted.count(i) == 1 for i in ids)


async def test_a_refused_token_stops_forwarding_and_keeps_everything(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 2)
        path = app.config.store.path
    config = lane_config(sandbox)
    config = replace(config, ledger=replace(config.ledger, token="tok_wrong"))
    async with lane(sandbox, config=config, sync=False) as app:
        assert app.config.store.path == path
        report = await app.forwarder.sync(until_empty=True, timeout=10)
        assert report.stopped and "refuses this terminal" in (report.error or "")
        assert sorted(i.redemption_id for i in app.store.outbox()) == sorted(ids)
        assert app.store.problems() == []


async def test_held_sales_are_left_to_the_counter(sandbox: RunningSandbox) -> None:
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        session.scan(MILK_1L)
        sandbox.add_fault("drop_after", "/v1/redemptions", method="POST", count=1)
        sandbox.add_fault("unavailable", "/v1/redemptions/*", method="GET", count=3)
        limits = replace(app.checkout.settings.limits, enabled=False)  # no offline way out
        app.checkout.settings = replace(app.checkout.settings, limits=limits)
        outcome = await session.confirm()
        assert outcome.status == "unknown"
        report = await app.forwarder.sync()
        assert report.remaining == 0 and report.sent == 0  # a hold is not the forwarder's
        assert [i.intent for i in app.store.outbox()] == ["hold"]
        resolved = await session.resolve()
        assert resolved.status == "approved"


async def test_one_batch_at_a_time_in_order_the_next_out_while_answers_are_recorded(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 7)
        app.forwarder.batch_size = 2
        submit = app.ledger.submit_batch
        sent: list[str] = []
        out = 0
        most_out = 0
        overlapped = 0

        async def watched(batch):  # type: ignore[no-untyped-def]
            nonlocal out, most_out, overlapped
            waiting = {i.redemption_id for i in app.store.outbox()}
            overlapped += any(i in waiting for i in sent)  # answers before it not yet recorded
            assert all(
                item.sent for item in app.store.outbox() if item.redemption_id in dict(batch)
            )
            sent.extend(i for i, _ in batch)
            out += 1
            most_out = max(most_out, out)
            try:
                return await submit(batch)
            finally:
                out -= 1

        app.ledger.submit_batch = watched  # type: ignore[method-assign]
        report = await app.forwarder.sync(until_empty=True, timeout=60)
        assert report.remaining == 0 and report.approved == 7 and report.sent == 7
    assert sent == ids and most_out == 1
    assert overlapped >= 1  # a batch went out before the one before it was recorded
    counted = ledger_books(sandbox)["redemption_ids"]
    assert all(counted.count(i) == 1 for i in ids)


async def test_a_failure_recording_answers_leaves_the_next_batch_to_be_asked_by_id(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 5)
        app.forwarder.batch_size = 2
        real_batch = app.store.batch
        failures = [StoreError("the disk is full")]

        def failing_batch():  # type: ignore[no-untyped-def]
            if failures:
                raise failures.pop()
            return real_batch()

        app.store.batch = failing_batch  # type: ignore[method-assign]
        with pytest.raises(StoreError):
            await app.forwarder.drain_once()
        left = app.store.outbox()
        assert len(left) == 5 and [i.sent for i in left] == [True] * 4 + [False]
        report = await app.forwarder.sync(until_empty=True, timeout=60)
        assert report.remaining == 0 and report.resolved == 4 and report.sent == 1
        assert all(app.store.redemption(i).status is S.APPROVED for i in ids)  # type: ignore[union-attr]
    counted = ledger_books(sandbox)["redemption_ids"]
    assert all(counted.count(i) == 1 for i in ids)


async def test_a_batch_item_refused_for_now_is_sent_again_no_sooner_than_its_retry_after(
    sandbox: RunningSandbox,
) -> None:
    """A 429 item of a batch (a purchase code while the terminal is throttled) waits its turn."""
    nid = national_id(sandbox, "kalabarg")
    code = sandbox.mint_purchase_code(nid)
    rice = product(sandbox, category="rice")
    async with lane(sandbox) as app:
        with sandbox.client() as client:
            body = redemption(
                beneficiary={"purchase_code": code},
                lines=[line(rice)],
                allocations=[
                    {
                        "line": 0,
                        "purse_id": purse_id(sandbox, "kalabarg", "kalabarg"),
                        "amount_rial": 1,
                    }
                ],
                rules=rules_version(client),
            )
            for n in range(MAX_FAILURES):  # the terminal guessed wrong ten times
                wrong = f"{(int(code) + 1 + n) % 100_000_000:08d}"
                answer = client.post("/v1/wallet-inquiries", json={"purchase_code": wrong})
                assert answer.status_code == 422
        now = app.clock.now()
        app.store.record_new_redemption(
            NewRedemption(
                id=body["id"],
                created_at=now,
                business_date=now.date(),
                identity_kind="purchase_code",
                mode="online",
                body=json.dumps(body).encode(),
                basket="{}",
                total_rial=body["lines"][0]["amount_rial"],
                covered_rial=1,
                payable_rial=body["lines"][0]["amount_rial"] - 1,
            ),
            at=now,
        )
        app.store.set_intent(body["id"], "deliver", at=now, note="test")
        report = await app.forwarder.drain_once()
        assert report.error and report.remaining == 1
        assert report.retry_after is not None and 1 <= report.retry_after <= 60
        assert all(not item.sent for item in app.store.outbox())  # never processed there
        assert app.forwarder.step.delay >= report.retry_after
        sandbox.advance_clock(61)
        later = await app.forwarder.drain_once()
        assert later.remaining == 0 and later.approved == 1, later
