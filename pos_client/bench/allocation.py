"""Figure group: the split of a 50-line basket over 6 purses, p99.

Times :func:`pos_client.domain.allocation.allocate` (the best split, with the
rules: categories and their limits, cities, validity, entitlements) beside
the ledger's own check of that same split (:func:`settle_allocations`, what
the sandbox runs for every redemption): the peer that does the least the
lane could do and still know the answer holds. Goal: p99 under 2 ms.

Imports the standard library, the domain and the benchmark's own modules.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pos_client.domain.allocation import allocate, settle_allocations

from .figures import Against, Figure, Goal, percentile
from .world import CITY, basket, household_purses, rule_set

__all__ = ["measure"]

GROUP = "allocation"
LINES = 50


def measure(*, runs: int) -> list[Figure]:
    now = datetime.now(UTC)
    lines = basket(LINES)
    purses = household_purses(now)
    rules = rule_set(now)
    plan = allocate(lines, purses, rules=rules, city=CITY, now=now)
    used = len({a.purse_id for a in plan.allocations})
    best: list[float] = []
    check: list[float] = []
    for _ in range(max(5, runs // 10)):  # warm up
        allocate(lines, purses, rules=rules, city=CITY, now=now)
    for _ in range(runs):
        start = time.perf_counter()
        allocate(lines, purses, rules=rules, city=CITY, now=now)
        middle = time.perf_counter()
        settled = settle_allocations(
            lines, plan.allocations, purses, rules=rules, city=CITY, now=now, partial=False
        )
        end = time.perf_counter()
        best.append((middle - start) * 1000)
        check.append((end - middle) * 1000)
    assert settled.status == "approved"
    details = {
        "lines": LINES,
        "purses": len(purses),
        "purses_used": used,
        "allocations": len(plan.allocations),
        "p50_ms": percentile(best, 50),
        "settle_p50_ms": percentile(check, 50),
    }
    return [
        Figure(
            key="allocation_p99",
            group=GROUP,
            name=f"Allocation, {LINES} lines over {len(purses)} purses, p99",
            value=percentile(best, 99),
            unit="ms",
            against=Against("peer", "ledger's check of that split p99", percentile(check, 99)),
            goal=Goal("value_below", 2.0, "< 2 ms"),
            samples=runs,
            note="allocate() vs settle_allocations() of its plan, same process",
            details=details,
        )
    ]
