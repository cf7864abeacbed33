"""Figure group: draining a backlog of offline sales to the ledger on loopback.

The backlog: ``count`` sales approved offline by the lane (written with
:meth:`record_new_redemption`, then :meth:`approve_offline`: in the outbox
with intent ``deliver``), each with its own signed token of the sandbox's load
household. Timed: :meth:`Forwarder.sync` until the outbox is empty (batches
of 100 on ``POST /v1/redemptions/batch``, every answer recorded in the
journal), in redemptions per second, beside:

- the limit: the ledger's own intake, measured by a plain loop that posts the
  same kind of sales, 100 a request, to the batch endpoint and does nothing
  else (half before the drain, half after, so both see the same books);
- forwarding one by one: the same forwarder with ``batch_size=1`` (one
  request per redemption) on a backlog of its own.

Goal: at least 0.95x the limit (issue 15; it was 0.8x).

Imports the standard library, httpx, the composition root, the config, the
ports, the forwarder and the benchmark's own modules.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pos_client.compose import App, build_app
from pos_client.config import Config
from pos_client.ports import NewRedemption
from pos_client.services.forwarder import Forwarder
from pos_client.services.redemptions import business_date

from .figures import Against, Figure, Goal, rate
from .ledger import LedgerProcess, Sale

__all__ = ["measure"]

GROUP = "drain"
BATCH = 100


def _lane(config: Config, path: Path) -> App:
    store = dataclasses.replace(config.store, path=path)
    return build_app(dataclasses.replace(config, store=store))


def _backlog(app: App, sales: list[Sale]) -> None:
    """Write ``sales`` as the lane writes sales it approved offline."""
    store = app.store
    for sale in sales:
        now = datetime.now(UTC)
        store.record_new_redemption(
            NewRedemption(
                id=sale.id,
                created_at=now,
                business_date=business_date(now),
                identity_kind="token",
                mode="offline",
                body=sale.body,
                basket="{}",
                total_rial=sale.covered_rial,
                covered_rial=sale.covered_rial,
                payable_rial=0,
                intent="hold",
                nid_hash="0" * 64,
                token_jti=sale.token_jti,
            ),
            at=now,
        )
        store.approve_offline(
            sale.id,
            at=now,
            body=None,
            nid_hash="0" * 64,
            by_program={"kalabarg": sale.covered_rial},
            business_date=business_date(now),
            note="approved offline",
        )


def _intake(ledger: LedgerProcess, sales: list[Sale]) -> float:
    """Seconds a plain loop takes to post ``sales`` to the batch endpoint."""
    with ledger.client() as client:
        client.get("/v1/health")
        start = time.perf_counter()
        for first in range(0, len(sales), BATCH):
            chunk = sales[first : first + BATCH]
            body = b'{"redemptions":[' + b",".join(s.body for s in chunk) + b"]}"
            response = client.post(
                "/v1/redemptions/batch",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            response.raise_for_status()
            results = response.json()["results"]
            if any(r["status_code"] != 201 for r in results):
                raise RuntimeError("the ledger refused part of a batch")
        return time.perf_counter() - start


async def _drain(forwarder: Forwarder, count: int) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    report = await forwarder.sync(until_empty=True, timeout=3600)
    seconds = time.perf_counter() - start
    if report.remaining or report.approved != count or report.errors:
        raise RuntimeError(f"the backlog was not drained: {report.to_json()} {report.errors}")
    return seconds, report.to_json()


async def measure(
    ledger: LedgerProcess, config: Config, folder: Path, *, count: int, one_by_one: int
) -> list[Figure]:
    folder.mkdir(parents=True, exist_ok=True)
    backlog = ledger.sales(count, mode="offline")
    plain = ledger.sales(count, mode="online")
    singles = ledger.sales(one_by_one, mode="offline")
    lane = _lane(config, folder / "drain.sqlite")
    single_lane = _lane(config, folder / "one-by-one.sqlite")
    try:
        _backlog(lane, backlog)
        _backlog(single_lane, singles)
        half = count // 2
        before = _intake(ledger, plain[:half])
        drain_seconds, report = await _drain(lane.forwarder, count)
        after = _intake(ledger, plain[half:])
        limit_seconds = before + after
        one = Forwarder(
            ledger=single_lane.ledger,
            store=single_lane.store,
            clock=single_lane.clock,
            batch_size=1,
        )
        single_seconds, _ = await _drain(one, one_by_one)
    finally:
        await lane.aclose()
        await single_lane.aclose()
    drained = rate(count, drain_seconds)
    details = {
        "drain_s": drain_seconds,
        "limit_s": limit_seconds,
        "limit_rate_before": rate(half, before),
        "limit_rate_after": rate(count - half, after),
        "one_by_one_s": single_seconds,
        "report": report,
    }
    note = f"Forwarder.sync of {count:,} offline sales, batches of {BATCH}"
    return [
        Figure(
            key="drain_rate_vs_limit",
            group=GROUP,
            name=f"Backlog drain, {count:,} redemptions",
            value=drained,
            unit="redemptions/s",
            against=Against("limit", "ledger intake, plain batch loop", rate(count, limit_seconds)),
            goal=Goal("ratio_at_least", 0.95, "≥ 0.95x limit"),
            samples=count,
            note=note,
            details=details,
        ),
        Figure(
            key="drain_rate_vs_one_by_one",
            group=GROUP,
            name=f"Backlog drain, {count:,} redemptions",
            value=drained,
            unit="redemptions/s",
            against=Against(
                "peer",
                f"forwarding one by one ({one_by_one:,})",
                rate(one_by_one, single_seconds),
            ),
            samples=count,
            note="the same forwarder with batch_size=1: one request per redemption",
        ),
    ]
