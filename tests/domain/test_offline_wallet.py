"""The offline wallet built from a KB2 token's snapshot (pos_client.domain.offline_wallet)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.allocation import allocate
from pos_client.domain.models import (
    Beneficiary,
    OfflinePolicy,
    ProgramKind,
    Purse,
    Wallet,
)
from pos_client.domain.offline_wallet import wallet_from_token
from pos_client.domain.tokens import TokenClaims, TokenEntitlement, TokenPurse
from tests.domain.strategies import CITY, amount_purse, line, make_rules, quantity_purse

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
ISSUED = NOW - timedelta(minutes=2)
LATER = NOW + timedelta(days=20)
PER_SALE, PER_DAY = 5_000_000, 6_000_000

_BASE = make_rules(program_categories={"kalabarg": ("rice", "oil", "dairy"), "donor": ("rice",)})
RULES = replace(
    _BASE,
    programs=(
        replace(_BASE.programs[0], offline=OfflinePolicy(True, PER_SALE, PER_DAY)),
        _BASE.programs[1],  # donor: no offline
        replace(_BASE.programs[2], offline=OfflinePolicy(True, 2_000_000, 2_000_000)),
    ),
)


def kala(
    off: int, *, purse_id: str = "pu_1", exp: datetime = LATER, city: str | None = None
) -> TokenPurse:
    return TokenPurse(id=purse_id, program="kalabarg", expires_at=exp, city=city, off_rial=off)


def yasna(off_milli: int, *, purse_id: str = "pu_2") -> TokenPurse:
    return TokenPurse(
        id=purse_id,
        program="yasna",
        expires_at=LATER,
        entitlements=(TokenEntitlement("diaper-s3", off_milli),),
    )


def claims(*purses: TokenPurse, off: int = 9_000_000) -> TokenClaims:
    return TokenClaims(
        v=2,
        kid="k1",
        national_id="0499370899",
        jti="j-1",
        issued_at=ISSUED,
        expires_at=NOW + timedelta(minutes=5),
        offline_allowance_rial=off,
        purses=purses,
    )


def cached(*purses: Purse, allowance: int = 9_000_000) -> Wallet:
    return Wallet(
        beneficiary=Beneficiary(ref="b_7f3a", display_name="ع. رضایی"),
        requires_otp=True,
        offline_allowance_rial=allowance,
        purses=purses,
    )


def test_amount_purse_takes_its_programme_categories_and_its_off() -> None:
    built = wallet_from_token(claims(kala(3_000_000)), RULES, now=NOW)
    (purse,) = built.wallet.purses
    assert purse.kind is ProgramKind.AMOUNT
    assert purse.balance_rial == 3_000_000
    assert purse.categories == ("rice", "oil", "dairy")
    assert purse.expires_at == LATER
    assert built.wallet.requires_otp is False
    assert built.wallet.offline_allowance_rial == 9_000_000
    assert built.dropped == ()
    # The snapshot carries no label: the receipt names the purse by its programme's name.
    assert purse.label_fa == RULES.program("kalabarg").name_fa != ""


def test_off_above_the_programme_limits_is_bounded() -> None:
    built = wallet_from_token(claims(kala(90_000_000)), RULES, now=NOW)
    assert built.wallet.purses[0].balance_rial == PER_SALE


def test_quantity_purse_from_its_entitlements() -> None:
    built = wallet_from_token(claims(yasna(1500)), RULES, now=NOW)
    (purse,) = built.wallet.purses
    assert purse.kind is ProgramKind.QUANTITY
    assert [(e.group, e.remaining_milli) for e in purse.entitlements] == [("diaper-s3", 1500)]


@pytest.mark.parametrize(
    ("purse", "reason"),
    [
        (replace(kala(1), program="unheard-of"), "program_unknown"),
        (replace(kala(1), program="donor"), "program_not_offline"),
        (kala(1, exp=NOW), "purse_expired"),
        (kala(1, exp=NOW - timedelta(days=1)), "purse_expired"),
        (replace(kala(1), program="yasna"), "kind_mismatch"),
        (replace(yasna(1), program="kalabarg"), "kind_mismatch"),
    ],
)
def test_purses_that_may_not_be_spent_offline_are_dropped(purse: TokenPurse, reason: str) -> None:
    built = wallet_from_token(claims(purse, kala(2_000, purse_id="pu_9")), RULES, now=NOW)
    assert [p.id for p in built.wallet.purses] == ["pu_9"]
    assert [(d.purse_id, d.reason) for d in built.dropped] == [(purse.id, reason)]


def test_a_fresher_cached_wallet_lowers_each_purse() -> None:
    mine = cached(
        amount_purse("pu_1", 1_000_000, ("rice", "oil"), limits={"oil": 400_000}),
        quantity_purse("pu_2", {"diaper-s3": 500}),
    )
    built = wallet_from_token(claims(kala(3_000_000), yasna(2000)), RULES, now=NOW, cached=mine,
                              cached_at=NOW - timedelta(minutes=1))  # fmt: skip
    one, two = built.wallet.purses
    assert one.balance_rial == 1_000_000
    assert one.categories == ("rice", "oil")  # the smaller set wins too
    assert dict(one.category_limits_rial) == {"oil": 400_000}
    assert two.entitlements[0].remaining_milli == 500
    assert built.wallet.beneficiary.ref == "b_7f3a"
    assert built.wallet.requires_otp is False  # the token shows possession


def test_the_token_lowers_a_cached_wallet_too() -> None:
    mine = cached(amount_purse("pu_1", 8_000_000, ("rice", "oil", "dairy")), allowance=2_000_000)
    built = wallet_from_token(
        claims(kala(3_000_000)), RULES, now=NOW, cached=mine, cached_at=NOW - timedelta(hours=3)
    )
    assert built.wallet.purses[0].balance_rial == 3_000_000
    assert built.wallet.offline_allowance_rial == 2_000_000


def test_purse_missing_from_a_fresher_cached_wallet_is_dropped() -> None:
    mine = cached(amount_purse("pu_9", 1_000_000, ("rice",)))
    built = wallet_from_token(
        claims(kala(3_000_000)),
        RULES,
        now=NOW,
        cached=mine,
        cached_at=ISSUED + timedelta(seconds=1),
    )
    assert built.wallet.purses == ()
    assert [d.reason for d in built.dropped] == ["not_in_fresher_wallet"]


def test_purse_missing_from_an_older_cached_wallet_is_kept_but_cached_purses_are_not_added() -> (
    None
):
    mine = cached(amount_purse("pu_9", 1_000_000, ("rice",)))
    built = wallet_from_token(
        claims(kala(3_000_000)), RULES, now=NOW, cached=mine, cached_at=ISSUED - timedelta(hours=5)
    )
    assert [p.id for p in built.wallet.purses] == ["pu_1"]
    assert built.wallet.purses[0].balance_rial == 3_000_000


def test_cached_purse_of_another_programme_or_city_is_dropped() -> None:
    other = cached(amount_purse("pu_1", 1_000_000, ("rice",), program="donor"))
    built = wallet_from_token(claims(kala(3_000_000)), RULES, now=NOW, cached=other, cached_at=NOW)
    assert [d.reason for d in built.dropped] == ["kind_mismatch"]
    elsewhere = cached(amount_purse("pu_1", 1_000_000, ("rice",), city="tabriz"))
    built = wallet_from_token(
        claims(kala(3_000_000, city=CITY)), RULES, now=NOW, cached=elsewhere, cached_at=NOW
    )
    assert [d.reason for d in built.dropped] == ["city_mismatch"]


def test_the_split_is_the_online_one_over_the_built_wallet() -> None:
    built = wallet_from_token(claims(kala(3_000_000)), RULES, now=NOW)
    basket = [line("rice", 2_000_000), line("oil", 2_500_000)]
    plan = allocate(basket, built.wallet.purses, rules=RULES, city=CITY, now=NOW)
    assert plan.covered_rial == 3_000_000
    assert plan.payable_rial == 1_500_000


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone"):
        wallet_from_token(claims(kala(1)), RULES, now=NOW.replace(tzinfo=None))


_programs = st.sampled_from(["kalabarg", "donor", "yasna", "unknown"])


@st.composite
def token_purses(draw: st.DrawFn, purse_id: str) -> TokenPurse:
    program = draw(_programs)
    exp = NOW + timedelta(hours=draw(st.integers(min_value=-48, max_value=48)))
    if draw(st.booleans()):
        return TokenPurse(purse_id, program, exp, off_rial=draw(st.integers(0, 10**12)))
    ent = TokenEntitlement("diaper-s3", draw(st.integers(0, 10**6)))
    return TokenPurse(purse_id, program, exp, entitlements=(ent,))


@st.composite
def cached_wallets(draw: st.DrawFn) -> Wallet | None:
    if draw(st.booleans()):
        return None
    purses = []
    for purse_id in draw(st.lists(st.sampled_from(["pu_0", "pu_1", "pu_2"]), unique=True)):
        if draw(st.booleans()):
            purses.append(amount_purse(purse_id, draw(st.integers(0, 10**10)), ("rice", "oil")))
        else:
            purses.append(quantity_purse(purse_id, {"diaper-s3": draw(st.integers(0, 10**5))}))
    return cached(*purses, allowance=draw(st.integers(0, 10**10)))


@settings(max_examples=200)
@given(
    purses=st.tuples(token_purses("pu_0"), token_purses("pu_1"), token_purses("pu_2")),
    mine=cached_wallets(),
    cache_age=st.integers(min_value=-10, max_value=10),
    off=st.integers(min_value=0, max_value=10**10),
)
def test_never_more_credit_than_the_smallest_limit(
    purses: tuple[TokenPurse, ...], mine: Wallet | None, cache_age: int, off: int
) -> None:
    token = claims(*purses, off=off)
    cached_at = ISSUED + timedelta(minutes=cache_age)
    built = wallet_from_token(token, RULES, now=NOW, cached=mine, cached_at=cached_at)
    by_id = {p.id: p for p in purses}
    mine_by_id = {p.id: p for p in mine.purses} if mine else {}
    assert len(built.wallet.purses) + len(built.dropped) == len(purses)
    assert built.wallet.offline_allowance_rial <= off
    if mine is not None:
        assert built.wallet.offline_allowance_rial <= mine.offline_allowance_rial
    for purse in built.wallet.purses:
        source = by_id[purse.id]
        program = RULES.program(purse.program)
        assert program is not None and program.offline.allowed
        assert source.expires_at > NOW
        assert purse.kind is program.kind
        assert set(purse.categories) <= set(program.categories)
        old = mine_by_id.get(purse.id)
        if old is None:
            assert mine is None or cached_at < ISSUED
        if purse.kind is ProgramKind.AMOUNT:
            assert source.off_rial is not None
            assert 0 <= purse.balance_rial <= source.off_rial
            assert purse.balance_rial <= program.offline.max_rial_per_transaction
            assert purse.balance_rial <= program.offline.max_rial_per_beneficiary_per_day
            if old is not None:
                assert purse.balance_rial <= old.balance_rial
        else:
            (ent,) = purse.entitlements
            assert ent.remaining_milli <= source.entitlements[0].off_milli
            if old is not None:
                assert ent.remaining_milli <= old.entitlements[0].remaining_milli
    # And the split over it never takes more than the purses hold.
    basket = [line("rice", 3_000_000, 2000), line("diaper", 900_000, 3000, groups=("diaper-s3",))]
    plan = allocate(basket, built.wallet.purses, rules=RULES, city=CITY, now=NOW)
    for purse in built.wallet.purses:
        paid = sum(a.amount_rial for a in plan.allocations if a.purse_id == purse.id)
        if purse.kind is ProgramKind.AMOUNT:
            assert paid <= purse.balance_rial
