"""Figure group: an online redemption, confirm to approved, against the ledger on loopback.

Times :meth:`CheckoutSession.confirm` of a one-line token sale (the journal
and outbox written and fsynced, the request sent with its idempotency key,
the ledger's answer recorded) beside the ledger's bare ``GET /v1/health``
round trip on a kept-alive connection (the limit the issue names: what one
exchange on loopback costs), interleaved one for one; and, beside that, the
same kind of redemption posted bare to ``POST /v1/redemptions`` (the peer:
what the ledger itself takes, with nothing of the lane around it).

Imports the standard library, httpx, the composition root, the config and
the benchmark's own modules.
"""

from __future__ import annotations

import time

import httpx

from pos_client.compose import build_app
from pos_client.config import Config

from .figures import Against, Figure, percentile
from .ledger import LedgerProcess

__all__ = ["measure"]

GROUP = "online"


async def measure(ledger: LedgerProcess, config: Config, *, sales: int) -> list[Figure]:
    product = ledger.load_product()
    app = build_app(config)
    confirm: list[float] = []
    health: list[float] = []
    posted: list[float] = []
    headers = {"Authorization": f"Bearer {ledger.terminal_token()}"}
    bare_sales = ledger.sales(sales, mode="online")
    try:
        app.store.import_prices(
            [(product["gtin"], int(product["price_rial"]), None)], at=app.clock.now()
        )
        await app.refresh.sync_rules()
        async with httpx.AsyncClient(base_url=ledger.url, headers=headers, timeout=30) as client:
            await client.get("/v1/health")
            warm = 3
            for n in range(warm + sales):
                session = app.checkout.new_session()
                await session.identify_token(ledger.token())
                session.scan(product["gtin"])
                start = time.perf_counter()
                outcome = await session.confirm()
                took = time.perf_counter() - start
                if outcome.status != "approved":
                    raise RuntimeError(f"an online sale was {outcome.status} ({outcome.reason})")
                session.acknowledge()
                start = time.perf_counter()
                answer = await client.get("/v1/health")
                round_trip = time.perf_counter() - start
                answer.raise_for_status()
                if n < warm:
                    continue
                sale = bare_sales[n - warm]
                start = time.perf_counter()
                answer = await client.post(
                    "/v1/redemptions",
                    content=sale.body,
                    headers={"Idempotency-Key": sale.id, "Content-Type": "application/json"},
                )
                bare = time.perf_counter() - start
                if answer.status_code != 201 or answer.json()["status"] != "approved":
                    raise RuntimeError(f"a bare redemption was answered {answer.status_code}")
                confirm.append(took * 1000)
                health.append(round_trip * 1000)
                posted.append(bare * 1000)
    finally:
        await app.aclose()
    note = "CheckoutSession.confirm of a one-line token sale, sandbox in its own process"
    figures = [
        Figure(
            key=f"online_p{q}_vs_health",
            group=GROUP,
            name=f"Online redemption, confirm to approved p{q}",
            value=percentile(confirm, q),
            unit="ms",
            against=Against("limit", f"bare GET /v1/health round trip p{q}", percentile(health, q)),
            samples=sales,
            note=note,
        )
        for q in (50, 99)
    ]
    figures.append(
        Figure(
            key="online_p50_vs_bare_post",
            group=GROUP,
            name="Online redemption, confirm to approved p50",
            value=percentile(confirm, 50),
            unit="ms",
            against=Against("peer", "bare POST /v1/redemptions p50", percentile(posted, 50)),
            samples=sales,
            note="the same kind of sale posted by a plain client: the ledger's own share",
            details={"bare_post_p99_ms": percentile(posted, 99)},
        )
    )
    return figures
