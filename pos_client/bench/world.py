"""The goods, purses and rules the in-process figures work on (no ledger needed).

A rule set with the sandbox's demo categories and programmes, a household with
six purses (two Kalabarg tranches with a dairy limit, a city-bound donor purse,
a Yasna package of quantity entitlements, a second donor and a later tranche),
and baskets of any size drawn from a fixed seed: pieces and weighed goods, some
with entitlement groups, some outside the catalog. Also a realistic
:class:`~pos_client.ports.NewRedemption` for the durable enqueue.

Imports the standard library, the domain, the ports, the services' helpers
and the sandbox's demo data (plain values).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from pos_client.domain.models import (
    BasketLine,
    Entitlement,
    Program,
    ProgramKind,
    Purse,
    RuleSet,
    Unit,
)
from pos_client.domain.redemption import Identity, RedemptionDraft, redemption_body
from pos_client.ports import NewRedemption
from pos_client.sandbox.demo import CATEGORIES, ORIGINAL_ELEVEN, PROGRAMS, YASNA_GROUPS
from pos_client.services.redemptions import basket_json, business_date, new_redemption_id

__all__ = ["CITY", "basket", "household_purses", "new_redemption", "rule_set"]

CITY = "rasht"
_LEAVES = tuple(c.id for c in CATEGORIES if c.parent is not None and c.parent != "mother-infant")
_WEIGHED = frozenset({"chicken", "red-meat", "fish", "poultry", "cheese"})


def rule_set(now: datetime) -> RuleSet:
    return RuleSet(
        version="r-bench",
        issued_at=now - timedelta(hours=1),
        valid_until=now + timedelta(days=2),
        signing_keys=(),
        categories=CATEGORIES,
        programs=(*PROGRAMS, Program("donor-2", "کمک خیرین ۲", ProgramKind.AMOUNT, ("groceries",))),
        catalog_version="c-bench",
        hot_list=frozenset(),
    )


def household_purses(now: datetime) -> tuple[Purse, ...]:
    """Six purses of one household, every kind the programme has."""
    start, end = now - timedelta(days=20), now + timedelta(days=10)
    return (
        Purse(
            id="pu_t7",
            program="kalabarg",
            kind=ProgramKind.AMOUNT,
            balance_rial=20_000_000,
            valid_from=start,
            expires_at=end,
            categories=ORIGINAL_ELEVEN,
            category_limits_rial={"dairy": 6_000_000},
        ),
        Purse(
            id="pu_t8",
            program="kalabarg",
            kind=ProgramKind.AMOUNT,
            balance_rial=20_000_000,
            valid_from=start,
            expires_at=end + timedelta(days=30),
            categories=("dairy", "protein", "groceries"),
            category_limits_rial={"dairy": 6_000_000},
        ),
        Purse(
            id="pu_donor",
            program="donor",
            kind=ProgramKind.AMOUNT,
            balance_rial=10_000_000,
            valid_from=start,
            expires_at=end + timedelta(days=50),
            city=CITY,
            categories=("rice", "oil", "legumes", "pasta", "sugar"),
        ),
        Purse(
            id="pu_yasna",
            program="yasna",
            kind=ProgramKind.QUANTITY,
            valid_from=start,
            expires_at=end + timedelta(days=70),
            entitlements=(
                Entitlement("diaper-s3", 4000),
                Entitlement("diaper-s4", 2000),
                Entitlement("infant-food", 6000),
                Entitlement("hygiene", 3000),
            ),
        ),
        Purse(
            id="pu_donor2",
            program="donor-2",
            kind=ProgramKind.AMOUNT,
            balance_rial=5_000_000,
            valid_from=start,
            expires_at=end + timedelta(days=5),
            categories=("groceries",),
        ),
        Purse(
            id="pu_t6",
            program="kalabarg",
            kind=ProgramKind.AMOUNT,
            balance_rial=3_000_000,
            valid_from=start - timedelta(days=30),
            expires_at=now + timedelta(days=1),
            categories=ORIGINAL_ELEVEN,
        ),
    )


def basket(size: int, *, seed: int = 7) -> tuple[BasketLine, ...]:
    """``size`` lines: mostly programme goods, some for Yasna, a few outside the catalog."""
    rng = random.Random(seed)
    lines = []
    for i in range(size):
        gtin = f"626{i:09d}0"
        roll = rng.random()
        if roll < 0.1:
            lines.append(BasketLine(gtin, 1000 * rng.randint(1, 3), rng.randint(1, 30) * 10_000))
        elif roll < 0.25:
            group = rng.choice(YASNA_GROUPS)
            category = "diapers" if group.startswith("diaper") else group
            lines.append(
                BasketLine(
                    gtin,
                    1000 * rng.randint(1, 3),
                    rng.randint(20, 90) * 10_000,
                    category=category,
                    groups=(group,),
                    max_unit_price_rial=600_000,
                )
            )
        else:
            category = rng.choice(_LEAVES)
            weighed = category in _WEIGHED
            lines.append(
                BasketLine(
                    gtin,
                    rng.randint(250, 3000) if weighed else 1000 * rng.randint(1, 4),
                    rng.randint(5, 150) * 10_000,
                    category=category,
                    unit=Unit.KG if weighed else Unit.PIECE,
                )
            )
    return tuple(lines)


def new_redemption(now: datetime | None = None, *, lines: int = 8) -> NewRedemption:
    """A redemption as the checkout writes it, of a basket of ``lines`` lines."""
    from pos_client.domain.allocation import allocate

    now = now or datetime.now(UTC)
    goods = basket(lines, seed=11)
    purses = household_purses(now)
    plan = allocate(goods, purses, rules=rule_set(now), city=CITY, now=now)
    redemption_id = new_redemption_id(now)
    body = redemption_body(
        RedemptionDraft(
            id=redemption_id,
            terminal_id="T-0001",
            created_at=now,
            mode="online",
            identity=Identity.token("KB1." + "x" * 180 + "." + "y" * 86),
            rules_version="r-bench",
            lines=goods,
            allocations=plan.allocations,
        )
    )
    return NewRedemption(
        id=redemption_id,
        created_at=now,
        business_date=business_date(now),
        identity_kind="token",
        mode="online",
        body=body,
        basket=basket_json(
            lines=goods,
            allocations=plan.allocations,
            total_rial=plan.total_rial,
            covered_rial=plan.covered_rial,
            payable_rial=plan.payable_rial,
            waived_rial=plan.waived_rial,
            purses=purses,
            program_of={p.id: p.program for p in purses},
        ),
        total_rial=plan.total_rial,
        covered_rial=plan.covered_rial,
        payable_rial=plan.payable_rial,
        intent="hold",
        nid_hash="0" * 64,
        nid_masked="390*****15",
        beneficiary_ref="b_bench",
        display_name="ع. رضایی",
        token_jti=str(uuid.uuid4()),  # the token's id: a token is good for one sale
    )
