"""The sandbox's demo world: categories, programmes, terminals and households.

Looks like the real programme: the eleven Kalabarg goods (low-fat milk,
yoghurt, cheese, chicken, red meat, eggs, cooking oil, pasta, sugar, rice,
legumes) plus the later additions (fish, poultry) under three parent
categories; Kalabarg credit as monthly tranches that unlock on a date, expire,
and carry what is left into the next tranche; Yasna as quantity entitlements
(diapers by size, infant food, hygiene items); donor credit spendable in one
city only; a household on the hot list; one whose older tranche expired unused.

Everything here is built once, on the first start, from the seed (national
IDs, ids) and the first start's time (the tranches' dates); the books keep it
afterwards. Imports the standard library and the pure domain only.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from pos_client.domain.models import (
    Category,
    Entitlement,
    OfflinePolicy,
    Program,
    ProgramKind,
    Purse,
)
from pos_client.domain.national_id import national_id_check_digit

from .clock import TEHRAN

# --------------------------------------------------------------------------- categories

#: Parent categories, then their children (the leaf categories products belong to).
CATEGORIES: tuple[Category, ...] = (
    Category("dairy", "لبنیات", "Dairy"),
    Category("protein", "پروتئین", "Protein"),
    Category("groceries", "خواربار", "Groceries"),
    Category("mother-infant", "مادر و کودک", "Mother and infant"),
    Category("milk-lowfat", "شیر کم‌چرب", "Low-fat milk", "dairy"),
    Category("yoghurt", "ماست", "Yoghurt", "dairy"),
    Category("cheese", "پنیر", "Cheese", "dairy"),
    Category("chicken", "مرغ", "Chicken", "protein"),
    Category("red-meat", "گوشت قرمز", "Red meat", "protein"),
    Category("eggs", "تخم‌مرغ", "Eggs", "protein"),
    Category("fish", "ماهی", "Fish", "protein"),
    Category("poultry", "ماکیان", "Poultry", "protein"),
    Category("oil", "روغن", "Cooking oil", "groceries"),
    Category("pasta", "ماکارونی", "Pasta", "groceries"),
    Category("sugar", "شکر", "Sugar", "groceries"),
    Category("rice", "برنج", "Rice", "groceries"),
    Category("legumes", "حبوبات", "Legumes", "groceries"),
    Category("diapers", "پوشک", "Diapers", "mother-infant"),
    Category("infant-food", "غذای کودک", "Infant food", "mother-infant"),
    Category("hygiene", "بهداشت مادر و کودک", "Mother and infant hygiene", "mother-infant"),
)

#: The eleven goods of the first Kalabarg tranches (before fish and poultry).
ORIGINAL_ELEVEN: tuple[str, ...] = (
    "milk-lowfat",
    "yoghurt",
    "cheese",
    "chicken",
    "red-meat",
    "eggs",
    "oil",
    "pasta",
    "sugar",
    "rice",
    "legumes",
)

#: Yasna's quantity-entitlement groups.
YASNA_GROUPS: tuple[str, ...] = (
    "diaper-s1",
    "diaper-s2",
    "diaper-s3",
    "diaper-s4",
    "diaper-s5",
    "infant-food",
    "hygiene",
)

# --------------------------------------------------------------------------- programmes

KALABARG_OFFLINE = OfflinePolicy(
    allowed=True, max_rial_per_transaction=5_000_000, max_rial_per_beneficiary_per_day=5_000_000
)

PROGRAMS: tuple[Program, ...] = (
    Program(
        id="kalabarg",
        name_fa="کالابرگ",
        kind=ProgramKind.AMOUNT,
        categories=("dairy", "protein", "groceries"),
        per_transaction_max_rial=100_000_000,
        offline=KALABARG_OFFLINE,
    ),
    Program(
        id="yasna",
        name_fa="بسته مادر و کودک",
        kind=ProgramKind.QUANTITY,
        categories=("mother-infant",),
        offline=OfflinePolicy(allowed=False),
    ),
    Program(
        id="donor",
        name_fa="کمک خیرین",
        kind=ProgramKind.AMOUNT,
        categories=("groceries", "dairy"),
        offline=OfflinePolicy(allowed=False),
    ),
)

# --------------------------------------------------------------------------- terminals


@dataclass(frozen=True, slots=True)
class DemoTerminal:
    terminal_id: str
    city: str
    merchant_id: str
    shop_name: str


TERMINALS: tuple[DemoTerminal, ...] = (
    DemoTerminal("T-0001", "rasht", "M-0001", "فروشگاه نمونه"),
    DemoTerminal("T-0002", "rasht", "M-0001", "فروشگاه نمونه"),
    DemoTerminal("T-0003", "tehran", "M-0002", "هایپر نمونه تهران"),
)

# --------------------------------------------------------------------------- households


@dataclass(frozen=True, slots=True)
class DemoPurse:
    """A purse as first issued, and the purse its unused balance carries over into."""

    purse: Purse
    carry_over_to: str | None = None


@dataclass(frozen=True, slots=True)
class DemoHousehold:
    key: str  # a stable word for tests and docs: "kalabarg", "yasna", "blocked", ...
    description: str
    ref: str
    national_id: str
    display_name: str
    household_size: int
    city: str
    blocked: bool
    offline_allowance_rial: int
    purses: tuple[DemoPurse, ...] = field(default=())


def _digest(seed: int, *parts: str) -> bytes:
    text = ":".join((str(seed), *parts))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def demo_national_id(seed: int, key: str) -> str:
    """A valid national ID for a demo household, the same for the same seed and key."""
    rng = random.Random(_digest(seed, "nid", key))
    while True:
        first_nine = f"{rng.randrange(1, 1000):03d}{rng.randrange(1, 1_000_000):06d}"
        code = first_nine + str(national_id_check_digit(first_nine))
        if len(set(code)) > 1:
            return code


def _ref(seed: int, prefix: str, *parts: str) -> str:
    return prefix + _digest(seed, prefix, *parts).hex()[:10]


def _midnight(day_offset: int, anchor: datetime) -> datetime:
    """Midnight in Tehran, ``day_offset`` days from the anchor's Tehran date."""
    local_day = anchor.astimezone(TEHRAN).date() + timedelta(days=day_offset)
    return datetime.combine(local_day, time(0, 0), tzinfo=TEHRAN)


def _tranche(
    seed: int,
    household: str,
    number: int,
    *,
    balance: int,
    unlock: datetime,
    expires: datetime,
    categories: tuple[str, ...],
    limits: Mapping[str, int] | None = None,
) -> Purse:
    persian = str(number).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    return Purse(
        id=_ref(seed, "pu_", household, f"kalabarg-{number}"),
        program="kalabarg",
        kind=ProgramKind.AMOUNT,
        label_fa=f"کالابرگ مرحله {persian}",
        balance_rial=balance,
        valid_from=unlock,
        expires_at=expires,
        city=None,
        categories=categories,
        category_limits_rial=dict(limits or {}),
    )


def _yasna(seed: int, household: str, *, start: datetime, expires: datetime) -> Purse:
    return Purse(
        id=_ref(seed, "pu_", household, "yasna"),
        program="yasna",
        kind=ProgramKind.QUANTITY,
        label_fa="بسته مادر و نوزاد (یسنا)",
        valid_from=start,
        expires_at=expires,
        city=None,
        entitlements=(
            Entitlement("diaper-s3", 4000),
            Entitlement("diaper-s4", 2000),
            Entitlement("infant-food", 6000),
            Entitlement("hygiene", 3000),
        ),
    )


def _donor(
    seed: int, household: str, *, balance: int, city: str, start: datetime, expires: datetime
) -> Purse:
    city_fa = {"rasht": "رشت", "tehran": "تهران"}.get(city, city)
    return Purse(
        id=_ref(seed, "pu_", household, "donor"),
        program="donor",
        kind=ProgramKind.AMOUNT,
        label_fa=f"کمک خیرین {city_fa}",
        balance_rial=balance,
        valid_from=start,
        expires_at=expires,
        city=city,
        categories=("rice", "oil", "legumes", "pasta", "sugar"),
    )


#: Tranche 7 covers the original eleven goods; tranche 8 adds fish and poultry.
_OLD_TRANCHE = ORIGINAL_ELEVEN
_NEW_TRANCHE = ("dairy", "protein", "groceries")


def build_households(seed: int, anchor: datetime) -> tuple[DemoHousehold, ...]:
    """The demo households, their purses dated around ``anchor`` (the first start)."""

    def m(days: int) -> datetime:
        return _midnight(days, anchor)

    per_person = 5_000_000  # Rials a month per household member

    def kalabarg_pair(key: str, size: int, *, spent: int = 0) -> tuple[DemoPurse, ...]:
        t7 = _tranche(
            seed,
            key,
            7,
            balance=size * per_person - spent,
            unlock=m(-20),
            expires=m(10),
            categories=_OLD_TRANCHE,
            limits={"dairy": size * 1_500_000},
        )
        t8 = _tranche(
            seed,
            key,
            8,
            balance=size * per_person,
            unlock=m(10),
            expires=m(40),
            categories=_NEW_TRANCHE,
            limits={"dairy": size * 1_500_000},
        )
        return (DemoPurse(t7, carry_over_to=t8.id), DemoPurse(t8))

    def household(
        key: str,
        description: str,
        name: str,
        size: int,
        city: str,
        purses: tuple[DemoPurse, ...],
        *,
        blocked: bool = False,
        offline: int = 3_000_000,
    ) -> DemoHousehold:
        return DemoHousehold(
            key=key,
            description=description,
            ref=_ref(seed, "b_", key),
            national_id=demo_national_id(seed, key),
            display_name=name,
            household_size=size,
            city=city,
            blocked=blocked,
            offline_allowance_rial=offline,
            purses=purses,
        )

    return (
        household(
            "kalabarg",
            "Kalabarg tranche 7 (carries over into tranche 8, which unlocks in 10 days) "
            "and donor credit for Rasht",
            "ع. رضایی",
            4,
            "rasht",
            (
                *kalabarg_pair("kalabarg", 4),
                DemoPurse(
                    _donor(
                        seed,
                        "kalabarg",
                        balance=10_000_000,
                        city="rasht",
                        start=m(-30),
                        expires=m(60),
                    )
                ),
            ),
        ),
        household(
            "yasna",
            "Kalabarg tranche 7 and a Yasna package (diapers size 3 and 4, infant food, hygiene)",
            "ز. محمدی",
            3,
            "rasht",
            (
                *kalabarg_pair("yasna", 3),
                DemoPurse(_yasna(seed, "yasna", start=m(-10), expires=m(80))),
            ),
        ),
        household(
            "blocked",
            "On the hot list: every redemption is refused",
            "م. کریمی",
            5,
            "tehran",
            kalabarg_pair("blocked", 5),
            blocked=True,
        ),
        household(
            "expired_tranche",
            "Tranche 6 expired unused 20 days ago (no carry-over); tranche 7 is current",
            "ف. حسینی",
            2,
            "tehran",
            (
                DemoPurse(
                    _tranche(
                        seed,
                        "expired_tranche",
                        6,
                        balance=4_000_000,
                        unlock=m(-50),
                        expires=m(-20),
                        categories=_OLD_TRANCHE,
                    )
                ),
                *kalabarg_pair("expired_tranche", 2),
            ),
        ),
        household(
            "low_balance",
            "Little credit left: 500,000 Rials in tranche 7",
            "ح. احمدی",
            1,
            "rasht",
            (
                DemoPurse(
                    _tranche(
                        seed,
                        "low_balance",
                        7,
                        balance=500_000,
                        unlock=m(-20),
                        expires=m(10),
                        categories=_OLD_TRANCHE,
                    )
                ),
            ),
            offline=500_000,
        ),
        household(
            "large",
            "A large household with much credit (for load tests and benchmarks)",
            "س. موسوی",
            12,
            "rasht",
            (
                DemoPurse(
                    _tranche(
                        seed,
                        "large",
                        7,
                        balance=50_000_000_000,
                        unlock=m(-20),
                        expires=m(365),
                        categories=_NEW_TRANCHE,
                    )
                ),
            ),
        ),
    )
