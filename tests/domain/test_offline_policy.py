"""The offline decision: each rule refuses on its own, in order; the limits are inclusive."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.clock import ClockOffset
from pos_client.domain.models import OfflinePolicy, Program, ProgramKind, RuleSet
from pos_client.domain.offline import OfflineLimits, OfflineRequest, decide_offline
from pos_client.domain.tokens import TokenClaims

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HOUSEHOLD = "a" * 64
BLOCKED = "b" * 64

RULES = RuleSet(
    version="r-1",
    issued_at=NOW - timedelta(days=1),
    valid_until=NOW + timedelta(days=1),
    signing_keys=(),
    categories=(),
    programs=(
        Program(
            id="kalabarg",
            name_fa="کالابرگ",
            kind=ProgramKind.AMOUNT,
            offline=OfflinePolicy(True, 5_000_000, 6_000_000),
        ),
        Program(id="yasna", name_fa="یسنا", kind=ProgramKind.QUANTITY),
    ),
    catalog_version="c-1",
    hot_list=frozenset({BLOCKED}),
)

LIMITS = OfflineLimits(
    enabled=True,
    max_rial_per_transaction=4_000_000,
    max_rial_per_beneficiary_per_day=5_000_000,
    max_outstanding_rial=20_000_000,
    max_hours_since_contact=24,
)

OK = OfflineRequest(
    now=NOW,
    identity_kind="token",
    token_verified=True,
    token_allowance_rial=3_000_000,
    wallet_allowance_rial=3_000_000,
    nid_hash=HOUSEHOLD,
    rules=RULES,
    last_contact=NOW - timedelta(hours=1),
    covered_by_program={"kalabarg": 2_000_000},
    household_today_by_program={},
    outstanding_rial=0,
)


def reason(request: OfflineRequest, limits: OfflineLimits = LIMITS) -> str | None:
    return decide_offline(request, limits).reason


def test_within_every_limit_it_is_allowed() -> None:
    decision = decide_offline(OK, LIMITS)
    assert decision.allowed and decision.reason is None


def test_each_rule_refuses_with_its_own_reason() -> None:
    cases = {
        "offline_disabled": (OK, replace(LIMITS, enabled=False)),
        "identity_online_only": (replace(OK, identity_kind="national_id"), LIMITS),
        "token_not_verified": (replace(OK, token_verified=False), LIMITS),
        "no_rules": (replace(OK, rules=None), LIMITS),
        "rules_expired": (
            replace(OK, now=RULES.valid_until, last_contact=RULES.valid_until),
            LIMITS,
        ),
        "never_contacted": (replace(OK, last_contact=None), LIMITS),
        "contact_too_old": (replace(OK, last_contact=NOW - timedelta(hours=25)), LIMITS),
        "clock_behind": (replace(OK, last_contact=NOW + timedelta(hours=1)), LIMITS),
        "hot_listed": (replace(OK, nid_hash=BLOCKED), LIMITS),
        "nothing_covered": (replace(OK, covered_by_program={}), LIMITS),
        "program_not_offline": (replace(OK, covered_by_program={"yasna": 10}), LIMITS),
        "over_program_transaction_limit": (
            replace(OK, covered_by_program={"kalabarg": 5_000_001}),
            replace(LIMITS, max_rial_per_transaction=10**9),
        ),
        "over_program_daily_limit": (
            replace(OK, household_today_by_program={"kalabarg": 4_500_000}),
            replace(LIMITS, max_rial_per_beneficiary_per_day=10**9),
        ),
        "over_transaction_limit": (replace(OK, covered_by_program={"kalabarg": 4_000_001}), LIMITS),
        "over_daily_limit": (replace(OK, household_today_by_program={"other": 3_000_001}), LIMITS),
        "over_outstanding_limit": (replace(OK, outstanding_rial=18_000_001), LIMITS),
        "over_token_allowance": (replace(OK, token_allowance_rial=1_999_999), LIMITS),
        "over_wallet_allowance": (replace(OK, wallet_allowance_rial=1_999_999), LIMITS),
    }
    for expected, (request, limits) in cases.items():
        assert reason(request, limits) == expected, expected


def test_limits_are_inclusive() -> None:
    at_limits = replace(
        OK,
        covered_by_program={"kalabarg": 3_000_000},
        household_today_by_program={"kalabarg": 2_000_000},
        outstanding_rial=17_000_000,
        last_contact=NOW - timedelta(hours=24),
    )
    assert decide_offline(at_limits, LIMITS).allowed


@settings(max_examples=150, deadline=None)
@given(
    covered=st.integers(min_value=1, max_value=10_000_000),
    smaller=st.integers(min_value=1, max_value=10_000_000),
    today=st.integers(min_value=0, max_value=10_000_000),
    outstanding=st.integers(min_value=0, max_value=30_000_000),
)
def test_a_smaller_sale_is_never_refused_where_a_bigger_one_passes(
    covered: int, smaller: int, today: int, outstanding: int
) -> None:
    smaller = min(smaller, covered)
    big = replace(
        OK,
        covered_by_program={"kalabarg": covered},
        household_today_by_program={"kalabarg": today},
        outstanding_rial=outstanding,
    )
    small = replace(big, covered_by_program={"kalabarg": smaller})
    if decide_offline(big, LIMITS).allowed:
        assert decide_offline(small, LIMITS).allowed
    allowed = decide_offline(big, LIMITS).allowed
    assert allowed == (
        covered <= 3_000_000
        and today + covered <= 5_000_000
        and outstanding + covered <= 20_000_000
    )


# ------------------------------------------------- the lane's clock against the ledger's


def test_offline_approval_refuses_an_unknown_or_wrong_clock() -> None:
    base = OK
    now = base.now
    known = ClockOffset(timedelta(seconds=-65), measured_at=now)
    assert decide_offline(replace(base, lane_now=now, clock_offset=known), LIMITS).allowed
    unknown = decide_offline(replace(base, lane_now=now, clock_offset=None), LIMITS)
    assert unknown.reason == "clock_unknown"
    fast = ClockOffset(-timedelta(hours=1), measured_at=now)
    wrong = decide_offline(replace(base, lane_now=now, clock_offset=fast), LIMITS)
    assert wrong.reason == "clock_wrong"


def test_offline_approval_refuses_a_token_out_of_its_time_at_the_ledgers_time() -> None:
    base = OK
    now = base.now
    claims = TokenClaims(
        v=1,
        kid="k1",
        national_id="0084575948",
        jti="t-1",
        issued_at=now - timedelta(minutes=10),
        expires_at=now - timedelta(minutes=5),
        offline_allowance_rial=3_000_000,
    )
    decision = decide_offline(replace(base, token=claims), LIMITS)
    assert decision.reason == "token_out_of_time"
    fresh = replace(claims, expires_at=now + timedelta(minutes=5))
    assert decide_offline(replace(base, token=fresh), LIMITS).allowed
