"""The forwarder paces itself by the domain's policy, against the real sandbox on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pos_client.adapters.ledger_http import HttpLedger
from pos_client.domain.pacing import Action
from pos_client.domain.redemption import BatchItemResult
from pos_client.domain.states import RedemptionStatus as S
from pos_client.sandbox.server import RunningSandbox
from tests.services.test_forwarder import _offline_sales
from tests.support.lane import lane, ledger_books


def _watch(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Record each request the forwarder makes: probe, batch or lookup."""
    calls: list[str] = []
    ledger = app.ledger
    for name, word in (("probe", "probe"), ("submit_batch", "batch"), ("get_redemption", "get")):
        real = getattr(ledger, name)

        def watched(*args, _real=real, _word=word):  # type: ignore[no-untyped-def]
            calls.append(_word)
            return _real(*args)

        setattr(ledger, name, watched)
    return calls


async def test_after_a_failure_the_next_request_is_a_health_probe_never_a_batch(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 3)
        calls = _watch(app)
        sandbox.add_fault("error_before", "/v1/redemptions/batch", status=502, count=1)
        first = await app.forwarder.drain_once()
        assert first.unreachable and calls == ["batch"]
        assert app.forwarder.step.action is Action.PROBE
        sandbox.add_fault("error_before", "/v1/health", status=502, count=1)
        second = await app.forwarder.drain_once()
        assert second.unreachable and calls == ["batch", "probe"]  # no batch after it failed
        third = await app.forwarder.drain_once()
        assert third.remaining == 0 and third.error is None
        assert calls[:3] == ["batch", "probe", "probe"]
        assert calls[3:] == ["batch"]  # the same bodies again, one request: idempotent by id
    counted = ledger_books(sandbox)["redemption_ids"]
    assert all(counted.count(i) == 1 for i in ids)


async def test_a_healthy_probe_reads_the_drain_window_and_the_run_waits_it(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        await _offline_sales(app, sandbox, 1)
        windows: list[float | None] = []
        real = app.ledger.probe

        async def probe() -> float | None:
            windows.append(await real())
            return 0.3  # the ledger asks the lanes to spread over 0.3 s

        app.ledger.probe = probe  # type: ignore[method-assign]
        sandbox.add_fault("error_before", "/v1/redemptions/batch", status=502, count=1)
        await app.forwarder.drain_once()
        step = await app.forwarder.probe()
        assert step.action is Action.DRAIN and 0 <= step.delay <= 0.3
        assert windows and (windows[0] is None or windows[0] >= 0)


async def test_a_429_mid_batch_keeps_every_sale_and_waits_its_retry_after(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 6)
        app.forwarder.batch_size = 3
        real = app.ledger.submit_batch
        refused: list[str] = []

        async def shedding(batch: Sequence[tuple[str, bytes]]) -> list[BatchItemResult]:
            if refused:  # shed once, then take everything
                return await real(batch)
            taken = await real(batch[:1])
            refused.extend(i for i, _ in batch[1:])
            shed = [BatchItemResult(i, "not_processed", retry_after=5.0) for i, _ in batch[1:]]
            return [*taken, *shed]

        app.ledger.submit_batch = shedding  # type: ignore[method-assign]
        first = await app.forwarder.drain_once()
        assert first.error and first.retry_after == 5.0 and first.approved == 1
        assert app.forwarder.step.action is Action.DRAIN  # reached: no probe needed
        assert 5.0 <= app.forwarder.step.delay <= 5.5
        assert len(app.store.outbox()) == 5
        report = await app.forwarder.sync(until_empty=True, timeout=60)
        assert report.remaining == 0
        assert all(app.store.redemption(i).status is S.APPROVED for i in ids)  # type: ignore[union-attr]
        assert min(app.clock.slept) >= 5.0  # type: ignore[attr-defined]
    counted = ledger_books(sandbox)["redemption_ids"]
    assert all(counted.count(i) == 1 for i in ids)


def test_a_batch_items_retry_after_is_read_from_its_headers() -> None:
    item = {"id": "r1", "status_code": 429, "body": {}, "headers": {"Retry-After": "7"}}
    result = HttpLedger._batch_item("r1", item)
    assert result.kind == "not_processed" and result.retry_after == 7.0
    lower = HttpLedger._batch_item("r1", {**item, "headers": {"retry-after": "2"}})
    assert lower.retry_after == 2.0
    bare = HttpLedger._batch_item("r1", {"id": "r1", "status_code": 429, "body": {}})
    assert bare.kind == "not_processed" and bare.retry_after is None
    odd = HttpLedger._batch_item("r1", {**item, "headers": ["Retry-After", "7"]})
    assert odd.kind == "not_processed" and odd.retry_after is None


async def test_push_probes_and_drains_at_once_after_an_outage(sandbox: RunningSandbox) -> None:
    async with lane(sandbox) as app:
        ids = await _offline_sales(app, sandbox, 2)
        app.forwarder.base_delay = 30.0  # a long probe backoff a person cuts short
        sandbox.add_fault("error_before", "/v1/*", status=502, count=None)
        stop = asyncio.Event()
        runner = asyncio.create_task(app.forwarder.run(stop))
        try:
            while app.forwarder.step.action is not Action.PROBE:
                await asyncio.sleep(0.01)
            sandbox.clear_faults()
            app.forwarder.push()
            async with asyncio.timeout(1.0):  # the drain starts within a second
                while app.store.outbox():
                    await asyncio.sleep(0.01)
        finally:
            stop.set()
            await runner
    counted = ledger_books(sandbox)["redemption_ids"]
    assert all(counted.count(i) == 1 for i in ids)


async def test_after_an_offline_approval_the_forwarder_probes_before_any_batch(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        await _offline_sales(app, sandbox, 1)
        calls = _watch(app)
        app.forwarder.wake(unreached=True)  # as the screen does after an offline approval
        report = await app.forwarder.drain_once()
        assert report.remaining == 0 and calls == ["probe", "batch"]
