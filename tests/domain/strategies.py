"""Builders and hypothesis strategies for baskets, purses and rule sets (allocation tests)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

from pos_client.domain.models import (
    BasketLine,
    Category,
    Entitlement,
    Program,
    ProgramKind,
    Purse,
    RuleSet,
    Unit,
)

TEHRAN = timezone(timedelta(hours=3, minutes=30))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=TEHRAN)
CITY = "rasht"

# A small category tree: food > {rice, oil, dairy > {milk, cheese}}, hygiene > diaper.
CATEGORY_PARENTS: dict[str, str | None] = {
    "food": None,
    "rice": "food",
    "oil": "food",
    "dairy": "food",
    "milk": "dairy",
    "cheese": "dairy",
    "hygiene": None,
    "diaper": "hygiene",
}
LEAF_CATEGORIES = ("rice", "oil", "milk", "cheese", "diaper")
GROUPS = ("diaper-s3", "formula")


def make_rules(
    *,
    program_max: Mapping[str, int | None] | None = None,
    program_categories: Mapping[str, tuple[str, ...]] | None = None,
) -> RuleSet:
    """Rules with programmes kalabarg, donor (amount) and yasna (quantity)."""
    maxima = dict(program_max or {})
    cats = dict(program_categories or {})
    programs = (
        Program(
            "kalabarg",
            "کالابرگ",
            ProgramKind.AMOUNT,
            cats.get("kalabarg", ()),
            maxima.get("kalabarg"),
        ),
        Program(
            "donor", "کمک خیرین", ProgramKind.AMOUNT, cats.get("donor", ()), maxima.get("donor")
        ),
        Program("yasna", "یسنا", ProgramKind.QUANTITY, (), maxima.get("yasna")),
    )
    return RuleSet(
        version="r-1",
        issued_at=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=1),
        signing_keys=(),
        categories=tuple(Category(c, c, c, p) for c, p in CATEGORY_PARENTS.items()),
        programs=programs,
        catalog_version="c-1",
        hot_list=frozenset(),
    )


RULES = make_rules()


def line(
    category: str | None,
    price: int,
    quantity_milli: int = 1000,
    *,
    unit: Unit = Unit.PIECE,
    groups: tuple[str, ...] = (),
    cap: int | None = None,
    gtin: str = "6260000000019",
) -> BasketLine:
    return BasketLine(
        gtin=gtin,
        quantity_milli=quantity_milli,
        unit_price_rial=price,
        category=category,
        groups=groups,
        max_unit_price_rial=cap,
        unit=unit,
    )


def amount_purse(
    purse_id: str,
    balance: int,
    categories: tuple[str, ...],
    *,
    program: str = "kalabarg",
    limits: Mapping[str, int] | None = None,
    city: str | None = None,
    expires_at: datetime | None = None,
    valid_from: datetime | None = None,
) -> Purse:
    return Purse(
        id=purse_id,
        program=program,
        kind=ProgramKind.AMOUNT,
        balance_rial=balance,
        categories=categories,
        category_limits_rial=dict(limits or {}),
        city=city,
        expires_at=expires_at,
        valid_from=valid_from,
    )


def quantity_purse(
    purse_id: str,
    entitlements: Mapping[str, int],
    *,
    program: str = "yasna",
    city: str | None = None,
    expires_at: datetime | None = None,
) -> Purse:
    return Purse(
        id=purse_id,
        program=program,
        kind=ProgramKind.QUANTITY,
        entitlements=tuple(Entitlement(g, q) for g, q in entitlements.items()),
        city=city,
        expires_at=expires_at,
    )


# --------------------------------------------------------------------------- strategies

_PRICES = st.integers(min_value=0, max_value=40)


@st.composite
def basket_lines(draw: st.DrawFn) -> BasketLine:
    unit = draw(st.sampled_from([Unit.PIECE, Unit.PIECE, Unit.KG]))
    if unit is Unit.PIECE:
        quantity = 1000 * draw(st.integers(min_value=1, max_value=3))
    else:
        quantity = draw(st.integers(min_value=1, max_value=2500))
    category = draw(st.sampled_from((*LEAF_CATEGORIES, None)))
    groups = tuple(sorted(draw(st.sets(st.sampled_from(GROUPS), max_size=2))))
    cap = draw(st.one_of(st.none(), _PRICES))
    # Prices in tens of Rials for kg lines keep rounding in play.
    price = draw(_PRICES) * (10 if unit is Unit.PIECE else 1)
    return line(category, price, quantity, unit=unit, groups=groups, cap=cap)


_EXPIRY = st.one_of(
    st.none(),
    st.none(),
    st.integers(min_value=-1, max_value=3).map(lambda d: NOW + timedelta(days=d, hours=1)),
)


@st.composite
def amount_purses(draw: st.DrawFn, purse_id: str) -> Purse:
    categories = tuple(
        sorted(
            draw(
                st.sets(
                    st.sampled_from(("food", "food", "dairy", "hygiene", *CATEGORY_PARENTS)),
                    min_size=1,
                    max_size=3,
                )
            )
        )
    )
    limits = draw(
        st.dictionaries(
            st.sampled_from(("food", "dairy", "milk", "rice", "hygiene")),
            st.integers(min_value=0, max_value=60),
            max_size=2,
        )
    )
    return amount_purse(
        purse_id,
        draw(st.integers(min_value=0, max_value=120)),
        categories,
        program=draw(st.sampled_from(("kalabarg", "kalabarg", "donor"))),
        limits=limits,
        city=draw(st.sampled_from((None, None, CITY, "tehran"))),
        expires_at=draw(_EXPIRY),
    )


@st.composite
def quantity_purses(draw: st.DrawFn, purse_id: str) -> Purse:
    groups = draw(st.sets(st.sampled_from(GROUPS), min_size=1, max_size=2))
    entitlements = {
        g: draw(st.sampled_from((0, 500, 1000, 1500, 2000, 3000))) for g in sorted(groups)
    }
    return quantity_purse(
        purse_id,
        entitlements,
        # now and then a programme shared with amount purses (and its maximum)
        program=draw(st.sampled_from(("yasna", "yasna", "yasna", "kalabarg"))),
        city=draw(st.sampled_from((None, None, CITY, "tehran"))),
        expires_at=draw(_EXPIRY),
    )


@st.composite
def wallets(draw: st.DrawFn, max_purses: int = 4) -> tuple[Purse, ...]:
    n = draw(st.integers(min_value=0, max_value=max_purses))
    purses: list[Purse] = []
    for i in range(n):
        pid = f"pu_{i}"
        if draw(st.integers(min_value=0, max_value=2)) == 0:
            purses.append(draw(quantity_purses(pid)))
        else:
            purses.append(draw(amount_purses(pid)))
    return tuple(purses)


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    maxima = {
        p: draw(st.one_of(st.none(), st.integers(min_value=0, max_value=150)))
        for p in ("kalabarg", "donor", "yasna")
    }
    kalabarg = draw(st.sampled_from(((), ("food",), ("food", "hygiene"), ("rice", "dairy"))))
    return make_rules(program_max=maxima, program_categories={"kalabarg": kalabarg})


@st.composite
def contested_baskets(draw: st.DrawFn) -> tuple[list[BasketLine], tuple[Purse, ...]]:
    """Several lines wanting the same free package, and credit that could pay for them too."""
    count = draw(st.integers(min_value=2, max_value=4))
    lines = []
    for _ in range(count):
        unit = draw(st.sampled_from([Unit.PIECE, Unit.KG]))
        quantity = (
            1000 * draw(st.integers(min_value=1, max_value=3))
            if unit is Unit.PIECE
            else draw(st.integers(min_value=1, max_value=1500))
        )
        price = draw(st.integers(min_value=1, max_value=40)) * (10 if unit is Unit.PIECE else 1)
        lines.append(
            line(
                draw(st.sampled_from(("milk", "cheese", "diaper", "rice"))),
                price,
                quantity,
                unit=unit,
                groups=("formula",),
                cap=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=400))),
            )
        )
    purses: list[Purse] = []
    for n in range(draw(st.integers(min_value=1, max_value=2))):
        purses.append(
            quantity_purse(
                f"q{n}",
                {"formula": draw(st.integers(min_value=0, max_value=3000))},
                program=draw(st.sampled_from(("yasna", "kalabarg"))),
                expires_at=draw(_EXPIRY),
            )
        )
    for n in range(draw(st.integers(min_value=1, max_value=2))):
        purses.append(
            amount_purse(
                f"a{n}",
                draw(st.integers(min_value=0, max_value=150)),
                (draw(st.sampled_from(("dairy", "food", "hygiene", "milk"))),),
                program=draw(st.sampled_from(("kalabarg", "donor"))),
                limits=draw(
                    st.dictionaries(
                        st.sampled_from(("dairy", "milk")), st.integers(0, 80), max_size=1
                    )
                ),
            )
        )
    return lines, tuple(draw(st.permutations(purses)))
