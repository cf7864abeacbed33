"""Splitting a basket over purses, and settling a split (pos_client.domain.allocation)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from pos_client.domain.allocation import (
    AppliedAllocation,
    LineCoverage,
    Settlement,
    allocate,
    covering_purses,
    line_coverage,
    settle_allocations,
)
from pos_client.domain.errors import ContractError
from pos_client.domain.models import (
    Allocation,
    AllocationPlan,
    BasketLine,
    Entitlement,
    ProgramKind,
    Purse,
    RuleSet,
    Unit,
)
from tests.domain.strategies import (
    CITY,
    NOW,
    RULES,
    amount_purse,
    basket_lines,
    contested_baskets,
    line,
    make_rules,
    quantity_purse,
    rule_sets,
    wallets,
)


def settle(
    lines: list[BasketLine],
    allocations: list[Allocation],
    purses: list[Purse],
    *,
    rules: RuleSet = RULES,
    partial: bool = False,
) -> Settlement:
    return settle_allocations(
        lines, allocations, purses, rules=rules, city=CITY, now=NOW, partial=partial
    )


def purse_by_id(settlement: Settlement, purse_id: str) -> Purse:
    return next(p for p in settlement.purses_after if p.id == purse_id)


# ------------------------------------------------------------------------------ settlement


class TestSettleApproved:
    def test_applies_and_decrements_balance_and_caps(self) -> None:
        lines = [line("milk", 300), line("rice", 500)]
        purses = [amount_purse("a", 1000, ("food",), limits={"dairy": 400, "rice": 600})]
        result = settle(lines, [Allocation(0, "a", 300), Allocation(1, "a", 500)], purses)
        assert result.status == "approved"
        assert result.reason is None
        assert result.covered_rial == 800
        assert result.declined_rial == 0
        assert [a.status for a in result.applied] == ["applied", "applied"]
        after = purse_by_id(result, "a")
        assert after.balance_rial == 200
        assert dict(after.category_limits_rial) == {"dairy": 100, "rice": 100}

    def test_quantity_allocation_uses_entitlement(self) -> None:
        lines = [line("diaper", 900, 2000, groups=("diaper-s3",), cap=700)]
        purses = [quantity_purse("y", {"diaper-s3": 3000})]
        result = settle(lines, [Allocation(0, "y", 1400, 2000)], purses)
        assert result.status == "approved"
        assert result.covered_rial == 1400
        assert purse_by_id(result, "y").entitlements == (Entitlement("diaper-s3", 1000),)

    def test_untouched_purses_are_returned_unchanged(self) -> None:
        purses = [amount_purse("a", 100, ("rice",)), amount_purse("b", 100, ("oil",))]
        result = settle([line("rice", 50)], [Allocation(0, "a", 50)], purses)
        assert result.purses_after[1] is purses[1]
        assert result.purses_after[0].balance_rial == 50

    def test_empty_request_is_approved(self) -> None:
        result = settle([line("rice", 50)], [], [amount_purse("a", 100, ("rice",))])
        assert result.status == "approved"
        assert result.covered_rial == 0


class TestSettleRefusals:
    @pytest.mark.parametrize(
        ("purse", "reason"),
        [
            (amount_purse("b", 100, ("rice",)), "purse_not_found"),
            (amount_purse("a", 100, ("rice",), expires_at=NOW), "purse_expired"),
            (amount_purse("a", 100, ("rice",), valid_from=NOW + timedelta(1)), "purse_expired"),
            (amount_purse("a", 100, ("rice",), city="tehran"), "city_mismatch"),
            (amount_purse("a", 100, ("oil",)), "category_not_allowed"),
            (amount_purse("a", 40, ("rice",)), "insufficient_balance"),
            (amount_purse("a", 100, ("rice",), limits={"food": 49}), "insufficient_balance"),
        ],
    )
    def test_each_reason_declines_online(self, purse: Purse, reason: str) -> None:
        lines = [line("rice", 50)]
        result = settle(lines, [Allocation(0, "a", 50)], [purse])
        assert result.status == "declined"
        assert result.reason == reason
        assert result.covered_rial == 0
        assert result.declined_rial == 50
        assert result.purses_after == (purse,)
        assert result.applied == (AppliedAllocation(0, "a", 0, 0, "refused", reason, 50, 0),)

    def test_program_maximum(self) -> None:
        rules = make_rules(program_max={"kalabarg": 70})
        purses = [amount_purse("a", 100, ("food",)), amount_purse("b", 100, ("food",))]
        lines = [line("rice", 50), line("oil", 50)]
        allocations = [Allocation(0, "a", 50), Allocation(1, "b", 50)]
        result = settle(lines, allocations, purses, rules=rules)
        assert result.status == "declined"
        assert result.reason == "over_transaction_limit"
        assert [a.reason for a in result.applied] == ["over_transaction_limit"] * 2

    def test_program_categories_restrict_purse(self) -> None:
        rules = make_rules(program_categories={"kalabarg": ("rice",)})
        result = settle(
            [line("oil", 50)],
            [Allocation(0, "a", 50)],
            [amount_purse("a", 100, ("food",))],
            rules=rules,
        )
        assert result.reason == "category_not_allowed"

    def test_quantity_beyond_entitlement(self) -> None:
        lines = [line("diaper", 100, 2000, groups=("diaper-s3",))]
        result = settle(
            lines, [Allocation(0, "y", 200, 2000)], [quantity_purse("y", {"diaper-s3": 1000})]
        )
        assert result.reason == "insufficient_balance"

    def test_quantity_purse_wrong_group(self) -> None:
        lines = [line("diaper", 100, 1000, groups=("diaper-s3",))]
        result = settle(
            lines, [Allocation(0, "y", 100, 1000)], [quantity_purse("y", {"formula": 1000})]
        )
        assert result.reason == "category_not_allowed"

    def test_line_outside_catalog_is_covered_by_nothing(self) -> None:
        result = settle(
            [line(None, 50)], [Allocation(0, "a", 50)], [amount_purse("a", 100, ("food",))]
        )
        assert result.reason == "category_not_allowed"

    def test_second_allocation_sees_what_the_first_took(self) -> None:
        lines = [line("rice", 60), line("oil", 60)]
        result = settle(
            lines,
            [Allocation(0, "a", 60), Allocation(1, "a", 60)],
            [amount_purse("a", 100, ("food",))],
        )
        assert result.reason == "insufficient_balance"
        assert [a.reason for a in result.applied] == [
            "insufficient_balance",  # fine by itself; the redemption's reason
            "insufficient_balance",
        ]


class TestSettlePartial:
    def test_reduced_and_refused(self) -> None:
        lines = [line("rice", 60), line("oil", 60), line("milk", 30)]
        purses = [
            amount_purse("a", 100, ("rice", "oil")),
            amount_purse("b", 30, ("milk",), expires_at=NOW),
        ]
        allocations = [Allocation(0, "a", 60), Allocation(1, "a", 60), Allocation(2, "b", 30)]
        result = settle(lines, allocations, purses, partial=True)
        assert result.status == "partially_approved"
        assert result.reason is None
        assert [(a.amount_rial, a.status, a.reason) for a in result.applied] == [
            (60, "applied", None),
            (40, "reduced", "insufficient_balance"),
            (0, "refused", "purse_expired"),
        ]
        assert result.covered_rial == 100
        assert result.declined_rial == 50
        assert purse_by_id(result, "a").balance_rial == 0
        assert purse_by_id(result, "b") is purses[1]

    def test_reduced_by_program_maximum(self) -> None:
        rules = make_rules(program_max={"donor": 25})
        purses = [amount_purse("d", 100, ("rice",), program="donor")]
        result = settle(
            [line("rice", 60)], [Allocation(0, "d", 60)], purses, rules=rules, partial=True
        )
        assert result.applied[0].amount_rial == 25
        assert result.applied[0].reason == "over_transaction_limit"
        assert result.status == "partially_approved"

    def test_quantity_reduced_to_whole_pieces(self) -> None:
        lines = [line("diaper", 100, 3000, groups=("diaper-s3",))]
        purses = [quantity_purse("y", {"diaper-s3": 1500})]
        result = settle(lines, [Allocation(0, "y", 300, 3000)], purses, partial=True)
        applied = result.applied[0]
        assert (applied.quantity_milli, applied.amount_rial, applied.status) == (
            1000,
            100,
            "reduced",
        )
        assert purse_by_id(result, "y").entitlements == (Entitlement("diaper-s3", 500),)

    def test_quantity_reduced_by_program_maximum(self) -> None:
        rules = make_rules(program_max={"yasna": 250})
        lines = [line("diaper", 100, 3000, groups=("diaper-s3",))]
        purses = [quantity_purse("y", {"diaper-s3": 3000})]
        result = settle(lines, [Allocation(0, "y", 300, 3000)], purses, rules=rules, partial=True)
        assert (result.applied[0].quantity_milli, result.applied[0].amount_rial) == (2000, 200)

    def test_kg_quantity_reduced_by_program_maximum_respects_rounding(self) -> None:
        rules = make_rules(program_max={"yasna": 7})
        lines = [line("rice", 3, 5000, unit=Unit.KG, groups=("formula",))]
        purses = [quantity_purse("y", {"formula": 5000})]
        result = settle(lines, [Allocation(0, "y", 15, 5000)], purses, rules=rules, partial=True)
        # 2499 milli * 3 = 7.497 -> 7; 2500 milli would round to 8.
        assert (result.applied[0].quantity_milli, result.applied[0].amount_rial) == (2499, 7)

    def test_nothing_payable_is_declined(self) -> None:
        result = settle(
            [line("rice", 60)],
            [Allocation(0, "a", 60)],
            [amount_purse("a", 0, ("rice",))],
            partial=True,
        )
        assert result.status == "declined"
        assert result.reason == "insufficient_balance"
        assert result.declined_rial == 60

    def test_all_applied_is_approved(self) -> None:
        result = settle(
            [line("rice", 60)],
            [Allocation(0, "a", 60)],
            [amount_purse("a", 60, ("rice",))],
            partial=True,
        )
        assert result.status == "approved"
        assert purse_by_id(result, "a").balance_rial == 0


class TestSettleInvalidRequests:
    @pytest.mark.parametrize(
        "allocation",
        [
            Allocation(5, "a", 10),  # no such line
            Allocation(-1, "a", 10),
            Allocation(0, "a", -10),
            Allocation(0, "a", 0),  # moves nothing
            Allocation(0, "a", 101),  # more than the line
            Allocation(0, "a", 10, 1000),  # quantity on an amount purse
            Allocation(1, "y", 10, 0),  # amount on a quantity purse
            Allocation(1, "y", 70, 1000),  # amount must be min(price, cap) * q
            Allocation(1, "y", 35, 500),  # half a piece
            Allocation(1, "y", 180, 3000),  # more than sold
            Allocation(1, "y", -60, 1000),
        ],
    )
    def test_raises_contract_error(self, allocation: Allocation) -> None:
        lines = [line("rice", 100), line("diaper", 70, 2000, groups=("formula",), cap=60)]
        purses = [amount_purse("a", 1000, ("rice",)), quantity_purse("y", {"formula": 5000})]
        with pytest.raises(ContractError) as caught:
            settle(lines, [allocation], purses)
        assert caught.value.reason == "invalid_request"

    def test_amount_on_a_line_counts_what_quantity_freed(self) -> None:
        lines = [line("diaper", 100, 2000, groups=("formula",))]
        purses = [amount_purse("a", 1000, ("diaper",)), quantity_purse("y", {"formula": 5000})]
        allocations = [Allocation(0, "y", 100, 1000), Allocation(0, "a", 101)]
        with pytest.raises(ContractError):
            settle(lines, allocations, purses)
        ok = settle(lines, [Allocation(0, "y", 100, 1000), Allocation(0, "a", 100)], purses)
        assert ok.status == "approved"
        assert ok.covered_rial == 200

    def test_weighed_line_takes_its_free_quantity_from_one_purse(self) -> None:
        lines = [line("rice", 10, 2000, unit=Unit.KG, groups=("formula",))]
        purses = [quantity_purse("y", {"formula": 1000}), quantity_purse("z", {"formula": 1000})]
        split = [Allocation(0, "y", 10, 1000), Allocation(0, "z", 10, 1000)]
        with pytest.raises(ContractError):
            settle(lines, split, purses)
        pieces = [line("diaper", 10, 2000, groups=("formula",))]
        assert settle(pieces, split, purses).status == "approved"

    def test_duplicate_purse_ids_are_refused(self) -> None:
        purses = [amount_purse("a", 1, ("rice",)), amount_purse("a", 2, ("rice",))]
        with pytest.raises(ContractError):
            settle([line("rice", 1)], [], purses)


# ------------------------------------------------------------------------------ allocation


def amounts(plan: AllocationPlan) -> list[tuple[int, str, int, int]]:
    return [(a.line, a.purse_id, a.amount_rial, a.quantity_milli) for a in plan.allocations]


class TestAllocateExamples:
    def test_greedy_would_leave_oil_unpaid(self) -> None:
        # A covers rice and oil, B rice only: A taken for rice first would leave oil unpaid.
        lines = [line("rice", 100), line("oil", 100)]
        purses = [amount_purse("a", 100, ("rice", "oil")), amount_purse("b", 100, ("rice",))]
        plan = plan_for(lines, purses, RULES)
        assert plan.payable_rial == 0
        assert amounts(plan) == [(0, "b", 100, 0), (1, "a", 100, 0)]

    def test_category_cap_on_a_parent(self) -> None:
        lines = [line("milk", 80), line("cheese", 80), line("rice", 80)]
        purses = [amount_purse("a", 1000, ("food",), limits={"dairy": 100})]
        plan = plan_for(lines, purses, RULES)
        assert plan.covered_rial == 180
        assert plan.payable_rial == 60

    def test_nested_caps(self) -> None:
        lines = [line("milk", 80), line("cheese", 80)]
        purses = [amount_purse("a", 1000, ("food",), limits={"dairy": 100, "milk": 30})]
        plan = plan_for(lines, purses, RULES)
        milk, cheese = (sum(a.amount_rial for a in plan.for_line(i)) for i in (0, 1))
        assert milk <= 30
        assert milk + cheese == 100
        assert plan.payable_rial == 60

    def test_caps_steer_purses_to_other_lines(self) -> None:
        # A's dairy cap is small; B (milk only) should pay the milk, A the rice.
        lines = [line("milk", 100), line("rice", 100)]
        purses = [
            amount_purse("a", 100, ("food",), limits={"dairy": 10}),
            amount_purse("b", 100, ("milk",)),
        ]
        plan = plan_for(lines, purses, RULES)
        assert plan.payable_rial == 0
        assert amounts(plan) == [(0, "b", 100, 0), (1, "a", 100, 0)]

    def test_programme_maximum_and_donor_first(self) -> None:
        rules = make_rules(program_max={"kalabarg": 150})
        lines = [line("rice", 100), line("oil", 100)]
        purses = [
            amount_purse("a", 100, ("food",)),
            amount_purse("b", 100, ("food",)),
            amount_purse("d", 30, ("rice",), program="donor"),
        ]
        plan = plan_for(lines, purses, rules)
        assert plan.payable_rial == 20
        assert sum(a.amount_rial for a in plan.allocations if a.purse_id in "ab") == 150
        assert (0, "d", 30, 0) in amounts(plan)

    def test_city_restricted_credit_first_and_other_cities_never(self) -> None:
        lines = [line("rice", 100)]
        purses = [
            amount_purse("a", 100, ("rice",)),
            amount_purse("here", 60, ("rice",), city=CITY),
            amount_purse("there", 100, ("rice",), city="tehran"),
        ]
        plan = plan_for(lines, purses, RULES)
        assert amounts(plan) == [(0, "here", 60, 0), (0, "a", 40, 0)]

    def test_soonest_expiry_first_and_invalid_purses_never(self) -> None:
        lines = [line("rice", 100)]
        purses = [
            amount_purse("late", 100, ("rice",), expires_at=NOW + timedelta(days=30)),
            amount_purse("none", 100, ("rice",)),
            amount_purse("soon", 70, ("rice",), expires_at=NOW + timedelta(days=2)),
            amount_purse("gone", 100, ("rice",), expires_at=NOW),
            amount_purse("later", 100, ("rice",), valid_from=NOW + timedelta(hours=1)),
        ]
        plan = plan_for(lines, purses, RULES)
        assert amounts(plan) == [(0, "soon", 70, 0), (0, "late", 30, 0)]

    def test_free_package_above_its_price_cap_is_waived(self) -> None:
        lines = [line("diaper", 900, 2000, groups=("diaper-s3",), cap=700)]
        purses = [quantity_purse("y", {"diaper-s3": 3000})]
        plan = plan_for(lines, purses, RULES)
        assert amounts(plan) == [(0, "y", 1400, 2000)]
        assert (plan.total_rial, plan.covered_rial, plan.waived_rial, plan.payable_rial) == (
            1800,
            1400,
            400,
            0,
        )

    def test_pieces_are_free_in_whole_units_weights_in_thousandths(self) -> None:
        lines = [
            line("diaper", 100, 2000, groups=("diaper-s3",)),
            line("rice", 100, 1500, unit=Unit.KG, groups=("formula",)),
        ]
        purses = [quantity_purse("y", {"diaper-s3": 1500, "formula": 1200})]
        plan = plan_for(lines, purses, RULES)
        assert amounts(plan) == [(0, "y", 100, 1000), (1, "y", 120, 1200)]
        assert plan.payable_rial == 100 + 30

    def test_free_package_goes_where_credit_cannot_reach(self) -> None:
        # One free unit; milk could also be paid by credit, the diaper could not.
        lines = [
            line("milk", 100, groups=("formula",)),
            line("diaper", 100, groups=("formula",)),
        ]
        purses = [quantity_purse("y", {"formula": 1000}), amount_purse("a", 100, ("dairy",))]
        plan = plan_for(lines, purses, RULES)
        assert plan.payable_rial == 0
        assert amounts(plan) == [(0, "a", 100, 0), (1, "y", 100, 1000)]

    def test_free_package_frees_credit_for_another_line(self) -> None:
        lines = [line("diaper", 100, groups=("formula",)), line("diaper", 100)]
        purses = [quantity_purse("y", {"formula": 1000}), amount_purse("h", 100, ("hygiene",))]
        plan = plan_for(lines, purses, RULES)
        assert plan.payable_rial == 0
        assert amounts(plan) == [(0, "y", 100, 1000), (1, "h", 100, 0)]

    def test_weighed_entitlement_split_between_two_lines_at_the_right_point(self) -> None:
        # 2 kg free: rice (credit up to 150) and milk (no credit). Best: 1.5 kg on the
        # rice, so credit pays exactly its remaining 150, and the rest on the milk.
        lines = [
            line("rice", 100, 3000, unit=Unit.KG, groups=("formula",)),
            line("milk", 50, 3000, unit=Unit.KG, groups=("formula",)),
        ]
        purses = [amount_purse("j", 150, ("rice",)), quantity_purse("y", {"formula": 2000})]
        plan = plan_for(lines, purses, RULES)
        assert plan.payable_rial == 125
        assert sum(a.quantity_milli for a in plan.allocations) == 2000

    def test_shared_programme_maximum_between_package_and_credit(self) -> None:
        # kalabarg may pay 100 in all; its free package pays only 50 (price cap) for a
        # 100 Rial tin, which leaves 50 for the rice: the household pays 50, not 100.
        rules = make_rules(program_max={"kalabarg": 100})
        lines = [line("milk", 100, groups=("formula",), cap=50), line("rice", 100)]
        purses = [
            quantity_purse("q", {"formula": 1000}, program="kalabarg"),
            amount_purse("a", 100, ("rice",)),
        ]
        plan = plan_for(lines, purses, rules)
        assert plan.payable_rial == 50
        assert amounts(plan) == [(0, "q", 50, 1000), (1, "a", 50, 0)]
        assert plan.waived_rial == 50

    def test_lines_outside_the_catalog_are_paid_by_the_household(self) -> None:
        plan = plan_for([line(None, 70)], [amount_purse("a", 100, ("food",))], RULES)
        assert plan.allocations == ()
        assert plan.payable_rial == 70

    def test_empty(self) -> None:
        plan = plan_for([], [], RULES)
        assert plan == AllocationPlan((), 0, 0, 0, 0)

    def test_result_does_not_depend_on_purse_order(self) -> None:
        lines = [line("rice", 100), line("oil", 100), line("milk", 50)]
        purses = [
            amount_purse("a", 120, ("food",)),
            amount_purse("b", 120, ("food",)),
            amount_purse("c", 120, ("food",)),
        ]
        plan = plan_for(lines, purses, RULES)
        assert plan_for(lines, purses[::-1], RULES) == plan
        # equal purses: used in id order, each as much as it can
        used = {
            pid: sum(a.amount_rial for a in plan.allocations if a.purse_id == pid) for pid in "abc"
        }
        assert used == {"a": 120, "b": 120, "c": 10}

    def test_duplicate_purse_ids_and_negative_lines_are_refused(self) -> None:
        with pytest.raises(ContractError):
            plan_for([], [amount_purse("a", 1, ()), amount_purse("a", 1, ())], RULES)
        with pytest.raises(ContractError):
            plan_for([line("rice", -1)], [], RULES)


class TestHelpers:
    def test_covering_purses(self) -> None:
        purses = [
            amount_purse("a", 100, ("food",)),
            amount_purse("b", 100, ("oil",)),
            amount_purse("c", 100, ("rice",), city="tehran"),
            quantity_purse("y", {"formula": 1000}),
        ]
        found = covering_purses(
            line("rice", 10, groups=("formula",)), purses, rules=RULES, city=CITY, now=NOW
        )
        assert [p.id for p in found] == ["a", "y"]
        assert covering_purses(line(None, 10), purses, rules=RULES, city=CITY, now=NOW) == ()

    def test_line_coverage(self) -> None:
        lines = [line("diaper", 900, 3000, groups=("diaper-s3",), cap=700), line("oil", 50)]
        purses = [quantity_purse("y", {"diaper-s3": 2000}), amount_purse("h", 500, ("hygiene",))]
        plan = plan_for(lines, purses, RULES)
        first = line_coverage(plan, lines, 0)
        assert first == LineCoverage(
            line=0,
            amount_rial=2700,
            free_quantity_milli=2000,
            free_rial=1800,
            credit_rial=500,
            waived_rial=400,
            payable_rial=400,
            purse_ids=("y", "h"),
        )
        second = line_coverage(plan, lines, 1)
        assert (second.payable_rial, second.purse_ids) == (50, ())
        with pytest.raises(IndexError):
            line_coverage(plan, lines, 2)


# ------------------------------------------------------------------------------ the oracle


def _independent_lineage(category: str, rules: RuleSet) -> list[str]:
    parents = {c.id: c.parent for c in rules.categories}
    out: list[str] = []
    node: str | None = category
    while node is not None and node not in out:
        out.append(node)
        node = parents.get(node)
    return out


def _usable(purse: Purse) -> bool:
    if purse.valid_from is not None and NOW < purse.valid_from:
        return False
    if purse.expires_at is not None and NOW >= purse.expires_at:
        return False
    return purse.city in (None, CITY)


def optimum(lines: list[BasketLine], purses: list[Purse], rules: RuleSet) -> tuple[int, int]:
    """(least payable, most value freed by quantity purses at that payable), by integer LP.

    Written from the rules, not from the module: coverage, groups, rounding
    (``round_half_up`` as two linear inequalities on an integer) and every cap.
    """
    cols: list[tuple[int, int]] = []  # bounds per variable
    integral: list[int] = []

    def var(low: int, high: int) -> int:
        cols.append((low, high))
        integral.append(1)
        return len(cols) - 1

    rows: list[tuple[dict[int, int], float, float]] = []

    def row(coefs: dict[int, int], low: float, high: float) -> None:
        rows.append((coefs, low, high))

    big = sum(ln.amount_rial for ln in lines) + 1
    group_use: dict[tuple[int, str], dict[int, int]] = {}
    program_use: dict[str, dict[int, int]] = {}
    freed: dict[int, int] = {}
    take: dict[int, dict[int, int]] = {}
    one_purse: dict[int, dict[int, int]] = {}
    for i, ln in enumerate(lines):
        q_on_line: dict[int, int] = {}
        if ln.category is not None and ln.unit_price_rial >= 0:
            for k, purse in enumerate(purses):
                if not _usable(purse) or purse.kind is not ProgramKind.QUANTITY:
                    continue
                mine = sorted({e.group for e in purse.entitlements} & set(ln.groups))
                if not mine:
                    continue
                step = 1000 if ln.unit is Unit.PIECE else 1
                v = var(0, ln.quantity_milli // step)
                if step == 1:  # a weighed line takes its free quantity from one purse
                    chosen = var(0, 1)
                    one_purse.setdefault(i, {})[chosen] = 1
                    row({v: 1, chosen: -ln.quantity_milli}, -np.inf, 0)
                q_on_line[v] = step
                group_use.setdefault((k, mine[0]), {})[v] = step
                # pay = round_half_up(step * v * c / 1000)
                paid_price = ln.unit_price_rial
                if ln.max_unit_price_rial is not None:
                    paid_price = min(paid_price, ln.max_unit_price_rial)
                pay = var(0, big)
                row({pay: 1000, v: -step * paid_price}, -499, 500)
                program_use.setdefault(purse.program, {})[pay] = 1
        # value freed V_i = round_half_up(U_i * p / 1000), U_i <= quantity
        value = var(0, big)
        freed[i] = value
        coefs = {value: 1000}
        for v, step in q_on_line.items():
            coefs[v] = -step * ln.unit_price_rial
        row(coefs, -499, 500)
        row(q_on_line, 0, ln.quantity_milli)
        take[i] = {}
    for use in one_purse.values():
        row(use, -np.inf, 1)
    for (k, _group), use in group_use.items():
        entitlement = next(e for e in purses[k].entitlements if e.group == _group)
        row(use, -np.inf, max(entitlement.remaining_milli, 0))
    for purse in purses:
        if not _usable(purse) or purse.kind is not ProgramKind.AMOUNT:
            continue
        program = rules.program(purse.program)
        per_purse: dict[int, int] = {}
        per_cap: dict[str, dict[int, int]] = {}
        for i, ln in enumerate(lines):
            if ln.category is None:
                continue
            lineage = _independent_lineage(ln.category, rules)
            if not set(lineage) & set(purse.categories):
                continue
            if program is not None and program.categories:
                if not set(lineage) & set(program.categories):
                    continue
            x = var(0, big)
            take[i][x] = 1
            per_purse[x] = 1
            program_use.setdefault(purse.program, {})[x] = 1
            for c in lineage:
                if c in purse.category_limits_rial:
                    per_cap.setdefault(c, {})[x] = 1
        row(per_purse, -np.inf, max(purse.balance_rial, 0))
        for c, use in per_cap.items():
            row(use, -np.inf, max(purse.category_limits_rial[c], 0))
    for program_id, use in program_use.items():
        program = rules.program(program_id)
        if program is not None and program.per_transaction_max_rial is not None:
            row(use, -np.inf, max(program.per_transaction_max_rial, 0))
    for i, ln in enumerate(lines):
        # amount purses take at most what the household would still pay
        row({**take[i], freed[i]: 1}, -np.inf, ln.amount_rial)

    if not lines:
        return 0, 0
    n = len(cols)
    matrix = np.zeros((len(rows), n))
    lows = np.zeros(len(rows))
    highs = np.zeros(len(rows))
    for r, (coefs, low, high) in enumerate(rows):
        for v, a in coefs.items():
            matrix[r, v] = a
        lows[r], highs[r] = low, high
    bounds = Bounds([c[0] for c in cols], [c[1] for c in cols])
    # payable = total - sum(freed) - sum(takes): maximise freed + takes
    paid = np.zeros(n)
    for i in range(len(lines)):
        paid[freed[i]] = 1
        for x in take[i]:
            paid[x] = 1
    total = sum(ln.amount_rial for ln in lines)
    first = milp(
        -paid,
        constraints=LinearConstraint(matrix, lows, highs),
        bounds=bounds,
        integrality=np.array(integral),
    )
    assert first.success, first.message
    best_paid = round(-first.fun)
    # then the most value from quantity purses without paying more
    value_only = np.zeros(n)
    for i in range(len(lines)):
        value_only[freed[i]] = 1
    matrix2 = np.vstack([matrix, paid])
    second = milp(
        -value_only,
        constraints=LinearConstraint(matrix2, np.append(lows, best_paid), np.append(highs, np.inf)),
        bounds=bounds,
        integrality=np.array(integral),
    )
    assert second.success, second.message
    return total - best_paid, round(-second.fun)


# ------------------------------------------------------------------------------ properties


def plan_for(lines: list[BasketLine], purses: list[Purse], rules: RuleSet) -> AllocationPlan:
    return allocate(lines, purses, rules=rules, city=CITY, now=NOW)


def freed_by_quantity(lines: list[BasketLine], plan: AllocationPlan) -> int:
    from pos_client.domain.money import line_amount

    total = 0
    for i, ln in enumerate(lines):
        q = sum(a.quantity_milli for a in plan.for_line(i))
        total += line_amount(q, ln.unit_price_rial)
    return total


@settings(max_examples=1000, deadline=None)
@given(
    lines=st.lists(basket_lines(), min_size=0, max_size=5),
    purses=wallets(max_purses=4),
    rules=rule_sets(),
)
def test_plan_is_optimal_and_settles(
    lines: list[BasketLine], purses: tuple[Purse, ...], rules: RuleSet
) -> None:
    plan = plan_for(lines, list(purses), rules)
    best_payable, best_freed = optimum(lines, list(purses), rules)
    assert plan.payable_rial == best_payable
    assert freed_by_quantity(lines, plan) == best_freed
    assert plan.total_rial == sum(ln.amount_rial for ln in lines)
    assert plan.total_rial == plan.covered_rial + plan.waived_rial + plan.payable_rial
    assert plan.waived_rial >= 0
    assert plan.covered_rial == sum(a.amount_rial for a in plan.allocations)
    settled = settle(lines, list(plan.allocations), list(purses), rules=rules)
    assert settled.status == "approved", settled
    assert settled.covered_rial == plan.covered_rial
    # no float anywhere; the same answer whatever the order of the purses
    for value in (plan.total_rial, plan.covered_rial, plan.payable_rial, plan.waived_rial):
        assert type(value) is int
    for a in plan.allocations:
        assert type(a.amount_rial) is int and type(a.quantity_milli) is int
        assert a.amount_rial > 0 or a.quantity_milli > 0
    assert plan_for(lines, list(purses)[::-1], rules) == plan
    for i in range(len(lines)):
        cover = line_coverage(plan, lines, i)
        assert cover.payable_rial >= 0 and cover.waived_rial >= 0
    assert sum(line_coverage(plan, lines, i).payable_rial for i in range(len(lines))) == (
        plan.payable_rial
    )


#: Weighed lines and a piece line contesting one free package, the second purse's
#: programme capped per transaction: the search once ran out of steps here and
#: left 390 Rials to pay where nothing need be paid.
_CAPPED_CONTEST = (
    [
        line("milk", 26, 1500, unit=Unit.KG, groups=("formula",), cap=88),
        line("cheese", 26, 68, unit=Unit.KG, groups=("formula",)),
        line("milk", 21, 496, unit=Unit.KG, groups=("formula",)),
        line("rice", 390, 2000, groups=("formula",), cap=190),
    ],
    (
        quantity_purse("q1", {"formula": 1636}, program="kalabarg"),
        quantity_purse("q0", {"formula": 2389}, expires_at=NOW + timedelta(hours=1)),
        amount_purse("a0", 59, ("milk",), program="donor", limits={"milk": 37}),
    ),
)


@settings(max_examples=300, deadline=None)
@given(basket=contested_baskets(), rules=rule_sets())
@example(
    basket=_CAPPED_CONTEST,
    rules=make_rules(
        program_max={"kalabarg": 32, "donor": 70},
        program_categories={"kalabarg": ("rice", "dairy")},
    ),
)
def test_contested_free_packages_are_placed_optimally(
    basket: tuple[list[BasketLine], tuple[Purse, ...]], rules: RuleSet
) -> None:
    lines, purses = basket
    test_plan_is_optimal_and_settles.hypothesis.inner_test(lines, purses, rules)  # type: ignore[attr-defined]
