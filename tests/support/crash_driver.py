"""A lane that sells until it is killed: the subprocess the crash test kills with SIGKILL.

Usage: ``python crash_driver.py CONFIG RUN SALES SEED KILL_POINT KILL_AT``

1. Recovery, as a cashier would do at start: every interrupted sale is resolved
   and finished (even runs) or cancelled (odd runs); the outbox is drained once.
2. Then ``SALES`` token sales against the sandbox, each with a chance of a
   fault injected on the ledger first. Before each, a line ``BEGIN <n>``; after
   the outcome is known, ``SALE <json>`` on stdout (the "cashier was told"),
   then the sale is acknowledged. Every few sales the outbox is drained (batch).
3. At sale ``KILL_AT`` the process kills itself with SIGKILL at ``KILL_POINT``:
   ``before_commit``, ``after_commit``, ``after_ledger_commit`` (the ledger
   answered, nothing recorded), ``mid_batch`` (a batch answered, nothing
   recorded), ``before_batch`` (marked sent, not yet sent), ``after_record``
   (recorded, not yet acknowledged), ``store_fails`` (the ledger answered and
   the store cannot write it: the cashier is told the ledger's answer, then
   the lane dies before it could save it), or ``none``.

Not a test module (pytest does not collect it).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from typing import Any

import httpx

from pos_client.compose import App, build_app
from pos_client.config import load_config
from pos_client.errors import StoreError

PASTA = "6260000000248"  # 420,000 Rials
MILK_200ML = "6260000000057"  # 110,000 Rials: small, so many fit the offline limits
FAULTS = (
    ("drop_after", {"method": "POST"}),
    ("error_after", {"method": "POST"}),
    ("error_before", {"method": "POST"}),
    ("unavailable", {"count": 4, "retry_after": 1}),
    ("rate_limit", {"retry_after": 1}),
    ("latency", {"latency_ms": 50}),
)


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def arm(app: App, point: str, state: dict[str, Any]) -> None:
    """Wrap the store and ledger so that the process dies at ``point`` when armed."""
    store, ledger = app.store, app.ledger

    record = store.record_new_redemption

    def record_new_redemption(*args: Any, **kw: Any) -> Any:
        if state["armed"] and point == "before_commit":
            die()
        result = record(*args, **kw)
        if state["armed"] and point == "after_commit":
            die()
        return result

    submit = ledger.submit_redemption

    async def submit_redemption(*args: Any, **kw: Any) -> Any:
        result = await submit(*args, **kw)
        if state["armed"] and point == "after_ledger_commit":
            die()
        if state["armed"] and point == "store_fails":
            state["store_down"] = True  # disk full from here on
        return result

    set_status = store.set_status

    def set_status_or_fail(*args: Any, **kw: Any) -> Any:
        if state.get("store_down"):
            raise StoreError("the disk is full")
        return set_status(*args, **kw)

    store.set_status = set_status_or_fail  # type: ignore[method-assign]

    mark_sent = store.mark_sent

    def mark(*args: Any, **kw: Any) -> Any:
        result = mark_sent(*args, **kw)
        if state["armed"] and point == "before_batch" and state["in_batch"]:
            die()
        return result

    batch = ledger.submit_batch

    async def submit_batch(*args: Any, **kw: Any) -> Any:
        result = await batch(*args, **kw)
        if state["armed"] and point == "mid_batch":
            die()
        return result

    store_batch = store.batch

    def batch_of_answers(*args: Any, **kw: Any) -> Any:
        # The forwarder records a batch's answers in a worker thread while the next
        # batch is on its way: dying here leaves both noted as sent, to be asked by id.
        if state["armed"] and point == "mid_record" and state["in_batch"]:
            out = sum(item.sent for item in store.outbox())
            print(f"MID_RECORD {out} sent", flush=True)  # two or more: one batch was ahead
            die()
        return store_batch(*args, **kw)

    store.batch = batch_of_answers  # type: ignore[method-assign]
    store.record_new_redemption = record_new_redemption  # type: ignore[method-assign]
    ledger.submit_redemption = submit_redemption  # type: ignore[method-assign]
    store.mark_sent = mark  # type: ignore[method-assign]
    ledger.submit_batch = submit_batch  # type: ignore[method-assign]


async def recover(app: App, run: int) -> None:
    for outcome in app.checkout.interrupted():
        assert outcome.id is not None
        if run % 2 == 0:
            result = await app.checkout.finish_interrupted(outcome.id)
        else:
            result = await app.checkout.cancel_interrupted(outcome.id)
        print("RECOVERED " + json.dumps({"id": outcome.id, "status": result.status}), flush=True)


async def main() -> None:
    config_path, run, sales, seed, point, kill_at = sys.argv[1:7]
    run_n, sales_n, kill_n = int(run), int(sales), int(kill_at)
    rng = random.Random(int(seed))
    config = load_config(config_path)
    app = build_app(config)
    app.checkout.resolve_max_pause = 0.05  # keep the run short; the rules are the same
    state = {"armed": False, "in_batch": False}
    arm(app, point, state)
    if point == "mid_record":
        app.forwarder.batch_size = 1  # several batches a pass: one is out while one is recorded
    admin = httpx.Client(base_url=config.ledger.url, timeout=30)
    households = json.loads(os.environ["CRASH_HOUSEHOLDS"])
    try:
        await app.refresh.sync_rules()
        if app.store.catalog_state()[2] == 0:
            await app.refresh.sync_catalog()
        if app.store.price(PASTA) is None:
            app.store.import_prices(
                [(PASTA, 420_000, None), (MILK_200ML, 110_000, None)], at=app.clock.now()
            )
        await recover(app, run_n)
        await app.forwarder.drain_once()
        for n in range(sales_n):
            batch_point = point in ("mid_batch", "before_batch", "mid_record")
            state["armed"] = n >= kill_n and not batch_point
            if n >= kill_n and batch_point:
                # Make sure there is something to forward: the ledger is down for this sale.
                body = {"kind": "unavailable", "path": "/v1/redemptions*", "count": 4}
                admin.post("/sandbox/faults", json=body).raise_for_status()
            elif rng.random() < 0.45:
                kind, options = rng.choice(FAULTS)
                body = {"kind": kind, "path": "/v1/redemptions*", "count": 1, **options}
                admin.post("/sandbox/faults", json=body).raise_for_status()
            nid = rng.choice(households)
            token = admin.post("/sandbox/tokens", json={"national_id": nid}).json()["token"]
            print(f"BEGIN {n}", flush=True)
            session = app.checkout.new_session()
            try:
                await session.identify_token(token)
            except Exception as exc:  # noqa: BLE001 - report and go on, as a cashier would
                print("SKIP " + json.dumps({"error": type(exc).__name__}), flush=True)
                continue
            session.scan(MILK_200ML if rng.random() < 0.7 else PASTA)
            try:
                outcome = await session.confirm()
            except Exception as exc:  # noqa: BLE001
                print("SKIP " + json.dumps({"error": type(exc).__name__}), flush=True)
                continue
            if outcome.status == "unknown":
                outcome = await session.abandon()
            if state["armed"] and point == "after_record":
                die()
            if state.get("store_down"):
                # Told the ledger's answer though it could not be saved; then the lane dies.
                print(
                    "SALE "
                    + json.dumps(
                        {
                            "id": outcome.id,
                            "status": outcome.status,
                            "goes_ahead": outcome.goes_ahead,
                        }
                    ),
                    flush=True,
                )
                die()
            print(
                "SALE "
                + json.dumps(
                    {"id": outcome.id, "status": outcome.status, "goes_ahead": outcome.goes_ahead}
                ),
                flush=True,
            )
            session.acknowledge()
            # (mid_record: from the sale after, so that more than one batch is waiting)
            if n % 4 == 3 or (batch_point and n >= kill_n + (point == "mid_record")):
                state["armed"] = n >= kill_n and batch_point
                state["in_batch"] = True
                await app.forwarder.drain_once()
                state["in_batch"] = False
        print("DONE", flush=True)
    finally:
        admin.close()
        await app.aclose()


if __name__ == "__main__":
    asyncio.run(main())
