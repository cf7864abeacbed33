"""The offline decision bounds each purse by a KB2 token's snapshot, not only the total ``off``."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.offline import decide_offline
from pos_client.domain.tokens import TokenClaims, TokenEntitlement, TokenPurse
from tests.domain.test_offline_policy import LIMITS, NOW, OK

LATER = NOW + timedelta(days=10)
KB2 = TokenClaims(
    v=2,
    kid="k1",
    national_id="0499370899",
    jti="j-2",
    issued_at=NOW - timedelta(minutes=1),
    expires_at=NOW + timedelta(minutes=4),
    offline_allowance_rial=3_000_000,
    purses=(
        TokenPurse("pu_1", "kalabarg", LATER, off_rial=1_500_000),
        TokenPurse("pu_2", "kalabarg", LATER, off_rial=1_000_000),
        TokenPurse("pu_3", "yasna", LATER, entitlements=(TokenEntitlement("diaper-s3", 1000),)),
    ),
)
REQUEST = replace(
    OK,
    token=KB2,
    covered_by_program={"kalabarg": 2_000_000},
    covered_by_purse={"pu_1": 1_500_000, "pu_2": 500_000},
)


def test_within_each_purse_it_is_allowed() -> None:
    assert decide_offline(REQUEST, LIMITS).allowed


def test_one_purse_over_its_off_is_refused_though_the_total_fits() -> None:
    request = replace(REQUEST, covered_by_purse={"pu_1": 1_500_001, "pu_2": 499_999})
    decision = decide_offline(request, LIMITS)
    assert decision.reason == "over_purse_allowance"
    assert "pu_1" in decision.detail


def test_a_purse_the_token_does_not_carry_is_refused() -> None:
    request = replace(REQUEST, covered_by_purse={"pu_1": 1_000_000, "pu_cached": 1_000_000})
    assert decide_offline(request, LIMITS).reason == "over_purse_allowance"


def test_a_quantity_purse_is_bounded_by_its_groups() -> None:
    ok = replace(REQUEST, taken_milli_by_purse={"pu_3": 1000})
    assert decide_offline(ok, LIMITS).allowed
    over = replace(REQUEST, taken_milli_by_purse={"pu_3": 1001})
    assert decide_offline(over, LIMITS).reason == "over_purse_allowance"


def test_a_kb1_token_has_no_purse_bound() -> None:
    kb1 = replace(KB2, v=1, purses=())
    request = replace(REQUEST, token=kb1, covered_by_purse={"pu_9": 2_000_000})
    assert decide_offline(request, LIMITS).allowed


@settings(max_examples=100)
@given(a=st.integers(0, 3_000_000), b=st.integers(0, 3_000_000))
def test_allowed_only_within_every_purse(a: int, b: int) -> None:
    request = replace(
        REQUEST,
        covered_by_program={"kalabarg": a + b},
        covered_by_purse={"pu_1": a, "pu_2": b},
    )
    decision = decide_offline(request, LIMITS)
    if decision.allowed:
        assert a <= 1_500_000 and b <= 1_000_000
    elif a + b > 0 and a + b <= 3_000_000:
        assert decision.reason == "over_purse_allowance" or a + b > LIMITS.max_rial_per_transaction
