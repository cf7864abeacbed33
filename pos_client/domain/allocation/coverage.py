"""Which purse may pay for which basket line, and what a quantity purse pays.

The coverage rules shared by :mod:`.plan` (the terminal's split) and
:mod:`.settle` (the ledger's settlement), and the contract's refusal reasons.
See the package docstring for the rules themselves.

Pure: imports only the standard library and ``pos_client.domain``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from pos_client.domain.errors import ContractError
from pos_client.domain.models import BasketLine, Program, ProgramKind, Purse, RuleSet, Unit
from pos_client.domain.money import line_amount

__all__ = [
    "CATEGORY_NOT_ALLOWED",
    "CITY_MISMATCH",
    "INSUFFICIENT_BALANCE",
    "OVER_TRANSACTION_LIMIT",
    "PURSE_EXPIRED",
    "PURSE_NOT_FOUND",
    "coverage_reason",
    "covering_purses",
    "quantity_amount",
    "quantity_group",
]

# Refusal reasons (the contract's words).
PURSE_NOT_FOUND = "purse_not_found"
PURSE_EXPIRED = "purse_expired"
CITY_MISMATCH = "city_mismatch"
CATEGORY_NOT_ALLOWED = "category_not_allowed"
INSUFFICIENT_BALANCE = "insufficient_balance"
OVER_TRANSACTION_LIMIT = "over_transaction_limit"


def quantity_group(purse: Purse, line: BasketLine) -> str | None:
    """The entitlement group of a quantity ``purse`` that ``line`` draws on, or None.

    A product may count for several of the purse's groups; it then draws on the
    first of them in sorted order (whatever remains in it). Client and ledger
    both use this rule, so a quantity allocation never needs to name its group.
    """
    if purse.kind is not ProgramKind.QUANTITY or not line.groups:
        return None
    own = {e.group for e in purse.entitlements}
    shared = sorted(own.intersection(line.groups))
    return shared[0] if shared else None


class _RuleIndex:
    """Look-ups into a rule set, computed once: category lineages and programmes by id."""

    __slots__ = ("_lineages", "_parents", "programs")

    def __init__(self, rules: RuleSet) -> None:
        self._parents = {c.id: c.parent for c in rules.categories}
        self._lineages: dict[str, tuple[str, ...]] = {}
        self.programs: dict[str, Program] = {}
        for program in rules.programs:
            self.programs.setdefault(program.id, program)

    def lineage(self, category: str) -> tuple[str, ...]:
        """As :meth:`RuleSet.category_lineage`: the category and its ancestors, nearest first."""
        known = self._lineages.get(category)
        if known is None:
            lineage: list[str] = []
            current: str | None = category
            while current is not None and current not in lineage:
                lineage.append(current)
                current = self._parents.get(current)
            known = self._lineages[category] = tuple(lineage)
        return known

    def program_cap(self, program_id: str) -> int | None:
        program = self.programs.get(program_id)
        cap = None if program is None else program.per_transaction_max_rial
        return None if cap is None else max(cap, 0)


@lru_cache(maxsize=8)
def _index(rules: RuleSet) -> _RuleIndex:
    return _RuleIndex(rules)


def _category_allowed(purse: Purse, line: BasketLine, rules: _RuleIndex) -> bool:
    if line.category is None:
        return False
    lineage = rules.lineage(line.category)
    if not any(c in purse.categories for c in lineage):
        return False
    program = rules.programs.get(purse.program)
    if program is not None and program.categories:
        return any(c in program.categories for c in lineage)
    return True


def _coverage_reason(
    line: BasketLine, purse: Purse, rules: _RuleIndex, city: str, now: datetime
) -> str | None:
    if not purse.is_valid_at(now):
        return PURSE_EXPIRED
    if not purse.serves_city(city):
        return CITY_MISMATCH
    if line.category is None:
        return CATEGORY_NOT_ALLOWED
    if purse.kind is ProgramKind.QUANTITY:
        return None if quantity_group(purse, line) is not None else CATEGORY_NOT_ALLOWED
    return None if _category_allowed(purse, line, rules) else CATEGORY_NOT_ALLOWED


def coverage_reason(
    line: BasketLine, purse: Purse, *, rules: RuleSet, city: str, now: datetime
) -> str | None:
    """Why ``purse`` cannot pay for ``line`` (a contract reason), or None when it can.

    Checked in the ledger's order: validity window (``purse_expired``), city
    (``city_mismatch``), then category or entitlement group
    (``category_not_allowed``). A line outside the catalog (category None) is
    covered by nothing. Balances are not looked at here.
    """
    return _coverage_reason(line, purse, _index(rules), city, now)


def covering_purses(
    line: BasketLine, purses: Sequence[Purse], *, rules: RuleSet, city: str, now: datetime
) -> tuple[Purse, ...]:
    """The purses that may pay for ``line`` here and now (balances not considered)."""
    index = _index(rules)
    return tuple(p for p in purses if _coverage_reason(line, p, index, city, now) is None)


def _capped_lineage(purse: Purse, line: BasketLine, rules: _RuleIndex) -> tuple[str, ...]:
    """The categories of ``line``'s lineage that carry a limit in ``purse``."""
    if line.category is None or not purse.category_limits_rial:
        return ()
    limits = purse.category_limits_rial
    return tuple(c for c in rules.lineage(line.category) if c in limits)


def _unit_price_paid(line: BasketLine) -> int:
    """The unit price a quantity purse pays: the line's price, capped by the catalog."""
    cap = line.max_unit_price_rial
    return line.unit_price_rial if cap is None else min(line.unit_price_rial, cap)


def quantity_amount(line: BasketLine, quantity_milli: int) -> int:
    """What a quantity purse pays for ``quantity_milli`` of ``line``."""
    return line_amount(quantity_milli, _unit_price_paid(line))


def _max_quantity_within(line: BasketLine, quantity_milli: int, budget_rial: int) -> int:
    """The most of ``quantity_milli`` (whole units for pieces) paid within ``budget_rial``."""
    step = 1000 if line.unit is Unit.PIECE else 1
    price = _unit_price_paid(line)
    best = quantity_milli
    if price > 0:
        # line_amount(q, price) <= budget  <=>  q * price <= 1000 * budget + 499
        best = min(best, (1000 * budget_rial + 499) // price) if budget_rial >= 0 else 0
    best -= best % step
    return max(best, 0)


# --------------------------------------------------------------------------- settlement


def _coverable_milli(line: BasketLine) -> int:
    """How much of ``line`` a quantity purse could cover: whole units for pieces."""
    quantity = max(line.quantity_milli, 0)
    return quantity - quantity % 1000 if line.unit is Unit.PIECE else quantity


def _index_purses(purses: Sequence[Purse]) -> dict[str, Purse]:
    """The purses by id; ``ContractError("invalid_wallet")`` when an id is listed twice."""
    by_id: dict[str, Purse] = {}
    for purse in purses:
        if purse.id in by_id:
            raise ContractError("invalid_wallet", f"purse {purse.id!r} is listed twice")
        by_id[purse.id] = purse
    return by_id
