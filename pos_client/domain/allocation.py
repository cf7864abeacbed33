"""Splitting a basket over a household's purses, and settling a requested split.

Two sides of one rule book:

- :func:`allocate` (the terminal): the split of the basket over the purses that
  leaves the household the least to pay.
- :func:`settle_allocations` (the ledger, here the sandbox): what happens to a
  client's requested split against the purses as they stand, allocation by
  allocation, with the contract's refusal reasons.

Helpers for the UI: :func:`covering_purses`, :func:`coverage_reason`,
:func:`line_coverage`, :func:`quantity_amount`.

Rules (from the contract; where it is silent, decided here)
-----------------------------------------------------------
- A purse covers a line only while valid (``Purse.is_valid_at``) and in its
  city. An amount purse covers a line whose category, or an ancestor of it, is
  in the purse's ``categories`` and, if the purse's programme lists
  categories, in the programme's too. A quantity purse covers a line whose
  product is in one of its entitlement groups; the line draws on the FIRST
  such group in sorted order (both sides use this, so the wire never names the
  group). A line outside the catalog (category None) is covered by nothing.
- An amount purse pays at most its balance, and at most
  ``category_limits_rial[c]`` in all over the lines whose lineage contains
  ``c`` (caps nest along the category tree). A programme's
  ``per_transaction_max_rial`` caps what all its purses (both kinds) pay.
- A quantity purse covers ``q`` thousandths (whole units for pieces) within
  what remains of the group, and pays ``line_amount(q, min(price, cap))``; the
  household pays nothing for that quantity, so the line's rest for amount
  purses and the household is ``amount - line_amount(Q, price)`` with ``Q`` the
  quantity covered on the line. What the cap leaves unpaid is ``waived_rial``.
  A weighed (kg / l) line takes its free quantity from ONE quantity purse: two
  separately rounded payments could exceed the goods' value, so settlement
  refuses a second one. Pieces may be split over purses (whole units each).
  Hence ``waived_rial >= 0`` and ``total = covered + waived + payable``.

What "best" means
-----------------
Lexicographically: (1) the least ``payable_rial``; (2) the most value freed
by free packages (``line_amount(Q, price)`` summed), i.e. credit kept for
later; (3) the most paid by city-restricted or donor credit; (4) then, purse
by purse from the soonest expiry (None last, ties by id), as much as possible
from each. For a given quantity split the amount split is exactly best on
(1), (3) and (4); quantities are chosen exactly on (1) and (2). Among quantity
splits equal
on (1)-(2) the search keeps the first it meets, trying preferred purses
(``_preference``: levels 3-4, then id) and earlier lines first, each taking as
much as it can. Remaining ties are broken by purse id and line index: the
result does not depend on the order of ``purses``.

Algorithm
---------
1. Amount purses are a max-flow problem. Lines of one category are
   interchangeable (coverage and caps depend on the category only), so the
   network has one node per basket category: source → category (capacity: what
   its lines still cost) → purse, entering at the deepest capped category of
   its lineage → … capped ancestors (capacity: the cap) … → purse root
   (capacity: balance) → programme (capacity: per-transaction max) → sink.
   Category caps of one purse form a tree, so this is exactly the set of
   constraints. With integer capacities a maximum flow is integral and its
   value is what credit can pay (levels 1). Arcs category→purse cost
   ``-weight(purse)`` with ``weight = B**m·[city or donor] + B**(m-1-r)``
   (``B`` = basket total + 1, ``r`` = the purse's rank by expiry), so a
   minimum-cost maximum flow (successive shortest paths,
   :mod:`pos_client.domain.flow`) is lexicographically best on levels 3-4.
   Each category's flow is then handed to its lines in index order.
2. Free packages change the flow's inputs only: the categories' capacities
   and, for a programme with a maximum shared by both kinds of purse, that
   programme's room. More free quantity never makes the household pay more
   (one Rial less to cover lowers the maximum flow by at most one Rial) unless
   such a shared maximum exists. So:
   a. Fast path (the usual case): each (quantity purse, line) pair in
      preference order takes all it can. If that covers every eligible line
      in full (and no shared maximum is involved) it is optimal on (1) and (2)
      at once: every line is at its largest possible free quantity.
   b. Otherwise an exhaustive depth-first search over the pairs' quantities
      (whole units for pieces; for weighed lines only the least quantity
      giving each line value, since more weight for the same value only uses
      entitlement and money). Each candidate is priced without running a
      flow: the maximum flow is a minimum over cuts, and a cut counts each
      changing capacity ``z_k`` either fully or not at all, so
      ``F(z) = min over subsets X of (sum(z[X]) + F(X at 0, the rest at its
      top))``, 2**k flows computed once (``k`` = changing capacities, usually
      1-2). Branches are cut by a lower bound on what the household pays (per
      cut, a fractional knapsack of the value the remaining entitlements could
      still free, plus what shared programmes have already paid for free
      packages); a pair with nothing after it competing simply takes all it
      can; weighed lines get a coarse first pass (``COARSE_POINTS`` weights
      each) that finds a good split for the bound to work with.
   The search is exhaustive, hence optimal, except in one case: if a pass
   needs more than ``SEARCH_LIMIT`` steps it keeps the best split found by
   then. That takes many lines competing for more free entitlement than
   remains, above all three or more weighed (kg / l) lines, each with
   thousands of possible weights: in such a constructed case (3 lines of
   ~1.2 M Rial/kg, 1.5 kg each, 2 kg free) the result was 839,331 Rial
   payable against the optimum 837,000, in about a quarter of a second. Free
   packages in practice are pieces (diapers, formula), a few per basket, and
   the search stays far below the limit. The property tests compare every
   case with an integer program.
3. With the quantities fixed, the min-cost flow of step 1 gives the amounts.

Cost (CPython 3.11): a 50-line basket over 6 purses takes about 0.4 ms
(one min-cost flow on ~30 nodes); free packages wanted beyond what remains
add 2**k max-flows and a search of tens to thousands of steps (about a
millisecond for two or three competing lines).

This module is pure: it imports only the standard library and
``pos_client.domain`` (models, money, errors, flow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from pos_client.domain.errors import ContractError
from pos_client.domain.flow import FlowNetwork
from pos_client.domain.models import (
    Allocation,
    AllocationPlan,
    BasketLine,
    Entitlement,
    Program,
    ProgramKind,
    Purse,
    RuleSet,
    Unit,
)
from pos_client.domain.money import line_amount

__all__ = [
    "CATEGORY_NOT_ALLOWED",
    "CITY_MISMATCH",
    "COARSE_POINTS",
    "DONOR_PROGRAM",
    "INSUFFICIENT_BALANCE",
    "OVER_TRANSACTION_LIMIT",
    "PURSE_EXPIRED",
    "PURSE_NOT_FOUND",
    "SEARCH_LIMIT",
    "AppliedAllocation",
    "LineCoverage",
    "Settlement",
    "allocate",
    "coverage_reason",
    "covering_purses",
    "line_coverage",
    "quantity_amount",
    "quantity_group",
    "settle_allocations",
]

# Refusal reasons (the contract's words).
PURSE_NOT_FOUND = "purse_not_found"
PURSE_EXPIRED = "purse_expired"
CITY_MISMATCH = "city_mismatch"
CATEGORY_NOT_ALLOWED = "category_not_allowed"
INSUFFICIENT_BALANCE = "insufficient_balance"
OVER_TRANSACTION_LIMIT = "over_transaction_limit"

_INVALID = "invalid_request"

AppliedStatus = Literal["applied", "reduced", "refused"]
SettlementStatus = Literal["approved", "partially_approved", "declined"]


# --------------------------------------------------------------------------- coverage


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


@dataclass(frozen=True, slots=True)
class AppliedAllocation:
    """One requested allocation as the ledger settled it."""

    line: int
    purse_id: str
    amount_rial: int
    quantity_milli: int
    status: AppliedStatus
    reason: str | None
    requested_amount_rial: int
    requested_quantity_milli: int


@dataclass(frozen=True, slots=True)
class Settlement:
    """The outcome of :func:`settle_allocations`."""

    status: SettlementStatus
    reason: str | None
    applied: tuple[AppliedAllocation, ...]
    covered_rial: int
    declined_rial: int
    purses_after: tuple[Purse, ...]


def _invalid(message: str) -> ContractError:
    return ContractError(_INVALID, message)


def _index_purses(purses: Sequence[Purse]) -> dict[str, Purse]:
    by_id: dict[str, Purse] = {}
    for purse in purses:
        if purse.id in by_id:
            raise ContractError("invalid_wallet", f"purse {purse.id!r} is listed twice")
        by_id[purse.id] = purse
    return by_id


def _check_structure(
    lines: Sequence[BasketLine], allocations: Sequence[Allocation], by_id: Mapping[str, Purse]
) -> None:
    """Raise ``ContractError("invalid_request")`` for a request that is malformed in itself."""
    for n, line in enumerate(lines):
        if line.quantity_milli < 0 or line.unit_price_rial < 0:
            raise _invalid(f"line {n}: negative quantity or price")
    quantity_on: dict[int, int] = {}
    amount_on: dict[int, int] = {}
    for n, a in enumerate(allocations):
        where = f"allocation {n}"
        if not 0 <= a.line < len(lines):
            raise _invalid(f"{where}: line {a.line} is not in the basket")
        if a.amount_rial < 0 or a.quantity_milli < 0:
            raise _invalid(f"{where}: negative amount or quantity")
        line = lines[a.line]
        purse = by_id.get(a.purse_id)
        if a.quantity_milli > 0:
            if purse is not None and purse.kind is not ProgramKind.QUANTITY:
                raise _invalid(f"{where}: purse {a.purse_id!r} is not a quantity purse")
            if line.unit is Unit.PIECE and a.quantity_milli % 1000:
                raise _invalid(f"{where}: pieces are covered in whole units")
            if a.amount_rial != quantity_amount(line, a.quantity_milli):
                raise _invalid(
                    f"{where}: amount_rial must be round_half_up(quantity_milli *"
                    " min(unit_price, max_unit_price) / 1000)"
                )
            if line.unit is not Unit.PIECE and a.line in quantity_on:
                raise _invalid(f"{where}: a weighed line takes its free quantity from one purse")
            quantity_on[a.line] = quantity_on.get(a.line, 0) + a.quantity_milli
        else:
            if purse is not None and purse.kind is ProgramKind.QUANTITY:
                raise _invalid(f"{where}: a quantity purse needs quantity_milli > 0")
            if a.amount_rial == 0:
                raise _invalid(f"{where}: an allocation must move something")
            amount_on[a.line] = amount_on.get(a.line, 0) + a.amount_rial
    for index, quantity in quantity_on.items():
        if quantity > lines[index].quantity_milli:
            raise _invalid(f"line {index}: more quantity allocated than sold")
    for index in sorted(amount_on):
        line = lines[index]
        freed = line_amount(quantity_on.get(index, 0), line.unit_price_rial)
        if amount_on[index] > line.amount_rial - freed:
            raise _invalid(f"line {index}: more allocated than the line's amount")


class _Books:
    """What the purses can still pay while a settlement is worked out."""

    def __init__(self, purses: Sequence[Purse], rules: _RuleIndex) -> None:
        self.balance = {p.id: max(p.balance_rial, 0) for p in purses}
        self.limits = {p.id: dict(p.category_limits_rial) for p in purses}
        self.entitled: dict[str, dict[str, int]] = {}
        for p in purses:
            groups: dict[str, int] = {}
            for e in p.entitlements:
                groups.setdefault(e.group, max(e.remaining_milli, 0))
            self.entitled[p.id] = groups
        self.program_left: dict[str, int | None] = {}
        for p in purses:
            self.program_left[p.program] = rules.program_cap(p.program)

    def amount_room(self, purse: Purse, caps: tuple[str, ...]) -> int:
        room = self.balance[purse.id]
        limits = self.limits[purse.id]
        for c in caps:
            room = min(room, max(limits[c], 0))
        return room

    def program_room(self, purse: Purse) -> int | None:
        return self.program_left[purse.program]

    def take_amount(self, purse: Purse, caps: tuple[str, ...], amount: int) -> None:
        self.balance[purse.id] -= amount
        for c in caps:
            self.limits[purse.id][c] -= amount
        self._take_program(purse, amount)

    def take_quantity(self, purse: Purse, group: str, quantity: int, amount: int) -> None:
        self.entitled[purse.id][group] -= quantity
        self._take_program(purse, amount)

    def _take_program(self, purse: Purse, amount: int) -> None:
        left = self.program_left[purse.program]
        if left is not None:
            self.program_left[purse.program] = left - amount

    def purses_after(self, purses: Sequence[Purse]) -> tuple[Purse, ...]:
        out: list[Purse] = []
        for p in purses:
            if p.kind is ProgramKind.QUANTITY:
                left = self.entitled[p.id]
                seen: set[str] = set()
                entitlements: list[Entitlement] = []
                for e in p.entitlements:
                    if e.group in seen:
                        entitlements.append(e)
                        continue
                    seen.add(e.group)
                    used = max(e.remaining_milli, 0) - left[e.group]
                    entitlements.append(replace(e, remaining_milli=e.remaining_milli - used))
                new = replace(p, entitlements=tuple(entitlements))
            else:
                used = max(p.balance_rial, 0) - self.balance[p.id]
                limits = {
                    c: v - (p.category_limits_rial[c] - self.limits[p.id][c])
                    for c, v in p.category_limits_rial.items()
                }
                new = replace(p, balance_rial=p.balance_rial - used, category_limits_rial=limits)
            out.append(p if new == p else new)
        return tuple(out)


def settle_allocations(
    lines: Sequence[BasketLine],
    allocations: Sequence[Allocation],
    purses: Sequence[Purse],
    *,
    rules: RuleSet,
    city: str,
    now: datetime,
    partial: bool,
) -> Settlement:
    """What the ledger does with a client's requested ``allocations`` against ``purses``.

    Structural faults of the request itself (a line index outside the basket, a
    negative number, an amount or quantity allocation that does not match its
    purse's kind, a quantity allocation whose ``amount_rial`` is not
    ``line_amount(q, min(unit_price, max_unit_price))``, part of a piece, more
    allocated on a line than the line can take) raise
    ``ContractError("invalid_request")``: nothing is settled.

    Otherwise each allocation is checked in order against what the purses can
    still pay after the allocations before it: ``purse_not_found``,
    ``purse_expired``, ``city_mismatch``, ``category_not_allowed``,
    ``insufficient_balance`` (balance, every category cap on the line's lineage,
    or the remaining entitlement of the group), then ``over_transaction_limit``
    (the programme's ``per_transaction_max_rial`` over all its purses).

    ``partial=False`` (online): any refusal declines the whole redemption with
    the first refusal's reason; every allocation is then reported ``refused``
    (with its own reason, or the redemption's when it was fine by itself) and
    the purses are unchanged. ``partial=True`` (forwarded offline sales): each
    allocation takes what its purse can still pay, possibly ``reduced`` (whole
    units for pieces), or is ``refused``; the status is ``approved`` when all
    were applied in full, ``partially_approved`` when something was taken, and
    ``declined`` when nothing could be.
    """
    by_id = _index_purses(purses)
    _check_structure(lines, allocations, by_id)
    index = _index(rules)
    books = _Books(purses, index)
    results: list[AppliedAllocation] = []
    first_reason: str | None = None
    for a in allocations:
        line = lines[a.line]
        purse = by_id.get(a.purse_id)
        reason: str | None
        if purse is None:
            reason = PURSE_NOT_FOUND
        else:
            reason = _coverage_reason(line, purse, index, city, now)
        amount = quantity = 0
        if purse is not None and reason is None:
            if purse.kind is ProgramKind.QUANTITY:
                amount, quantity, reason = _settle_quantity(books, purse, line, a, partial)
            else:
                amount, reason = _settle_amount(books, purse, line, a, index, partial)
        status: AppliedStatus
        if reason is None:
            status = "applied"
        elif amount > 0 or quantity > 0:
            status = "reduced"
        else:
            status = "refused"
        if reason is not None and first_reason is None:
            first_reason = reason
        results.append(
            AppliedAllocation(
                line=a.line,
                purse_id=a.purse_id,
                amount_rial=amount,
                quantity_milli=quantity,
                status=status,
                reason=reason,
                requested_amount_rial=a.amount_rial,
                requested_quantity_milli=a.quantity_milli,
            )
        )
    requested = sum(a.amount_rial for a in allocations)
    if first_reason is not None and (not partial or all(r.status == "refused" for r in results)):
        refused = tuple(
            replace(
                r,
                amount_rial=0,
                quantity_milli=0,
                status="refused",
                reason=r.reason or first_reason,
            )
            for r in results
        )
        return Settlement(
            status="declined",
            reason=first_reason,
            applied=refused,
            covered_rial=0,
            declined_rial=requested,
            purses_after=tuple(purses),
        )
    covered = sum(r.amount_rial for r in results)
    return Settlement(
        status="approved" if first_reason is None else "partially_approved",
        reason=None,
        applied=tuple(results),
        covered_rial=covered,
        declined_rial=requested - covered,
        purses_after=books.purses_after(purses),
    )


def _settle_amount(
    books: _Books, purse: Purse, line: BasketLine, a: Allocation, rules: _RuleIndex, partial: bool
) -> tuple[int, str | None]:
    caps = _capped_lineage(purse, line, rules)
    want = a.amount_rial
    reason: str | None = None
    room = books.amount_room(purse, caps)
    if want > room:
        reason = INSUFFICIENT_BALANCE
        want = room
    program_room = books.program_room(purse)
    if program_room is not None and want > program_room:
        reason = reason or OVER_TRANSACTION_LIMIT
        want = max(program_room, 0)
    if reason is not None and not partial:
        return 0, reason
    books.take_amount(purse, caps, want)
    return want, reason


def _settle_quantity(
    books: _Books, purse: Purse, line: BasketLine, a: Allocation, partial: bool
) -> tuple[int, int, str | None]:
    group = quantity_group(purse, line)
    assert group is not None  # coverage_reason said the purse covers the line
    want = a.quantity_milli
    reason: str | None = None
    left = books.entitled[purse.id][group]
    if want > left:
        reason = INSUFFICIENT_BALANCE
        want = left - (left % 1000 if line.unit is Unit.PIECE else 0)
    program_room = books.program_room(purse)
    if program_room is not None and quantity_amount(line, want) > program_room:
        reason = reason or OVER_TRANSACTION_LIMIT
        want = _max_quantity_within(line, want, program_room)
    if reason is not None and not partial:
        return 0, 0, reason
    amount = quantity_amount(line, want)
    books.take_quantity(purse, group, want, amount)
    return amount, want, reason


# --------------------------------------------------------------------------- allocation

DONOR_PROGRAM = "donor"
_NO_EXPIRY = datetime.min.replace(tzinfo=UTC)


def _preference(purse: Purse) -> tuple[int, bool, datetime, str]:
    """Purses sorted by this key are used first: city or donor credit, soonest expiry, id."""
    special = purse.city is not None or purse.program == DONOR_PROGRAM
    return (0 if special else 1, purse.expires_at is None, purse.expires_at or _NO_EXPIRY, purse.id)


def _expiry_order(purse: Purse) -> tuple[bool, datetime, str]:
    return (purse.expires_at is None, purse.expires_at or _NO_EXPIRY, purse.id)


def _coverable_milli(line: BasketLine) -> int:
    """How much of ``line`` a quantity purse could cover: whole units for pieces."""
    quantity = max(line.quantity_milli, 0)
    return quantity - quantity % 1000 if line.unit is Unit.PIECE else quantity


@dataclass(frozen=True, slots=True)
class _Pair:
    """A quantity purse that may cover a line, drawing on one of its groups."""

    purse: Purse
    line: int
    group: str


@dataclass(frozen=True, slots=True)
class _Route:
    """An amount purse that may pay for a category of the basket, through its caps."""

    purse: Purse
    caps: tuple[str, ...]  # capped categories on the lineage, nearest first


@dataclass(frozen=True, slots=True)
class _Network:
    """An amount network and the arcs the solver reads or changes."""

    net: FlowNetwork
    arcs: dict[tuple[str, str], int]  # (category, purse id) → arc
    supplies: dict[str, int]  # category → its arc from the source
    program_arcs: dict[str, int]  # programme → its arc to the sink


class _Problem:
    """The allocation problem, reduced to what the solver needs."""

    def __init__(
        self,
        lines: Sequence[BasketLine],
        purses: Sequence[Purse],
        rules: RuleSet,
        city: str,
        now: datetime,
    ) -> None:
        _index_purses(purses)
        for n, line in enumerate(lines):
            if line.quantity_milli < 0 or line.unit_price_rial < 0:
                raise ContractError("invalid_basket", f"line {n}: negative quantity or price")
        self.lines = tuple(lines)
        self.amounts = [line.amount_rial for line in lines]
        self.total = sum(self.amounts)
        self.infinite = self.total + 1
        usable = sorted(
            (p for p in purses if p.is_valid_at(now) and p.serves_city(city)), key=_preference
        )
        self.rank = {p.id: n for n, p in enumerate(usable)}
        index = _index(rules)
        self.program_cap = {purse.program: index.program_cap(purse.program) for purse in usable}

        # Amount purses, by basket category (coverage depends on the category only).
        self.categories: list[str] = []
        self.category_lines: dict[str, list[int]] = {}
        self.routes: dict[str, list[_Route]] = {}
        amount_purses = [p for p in usable if p.kind is ProgramKind.AMOUNT]
        for n, line in enumerate(lines):
            category = line.category
            if category is None:
                continue
            if category not in self.routes:
                self.routes[category] = [
                    _Route(p, _capped_lineage(p, line, index))
                    for p in amount_purses
                    if _coverage_reason(line, p, index, city, now) is None
                ]
                if self.routes[category]:
                    self.categories.append(category)
                    self.category_lines[category] = []
            if self.routes[category]:
                self.category_lines[category].append(n)
        self.amount_programs = {r.purse.program for c in self.categories for r in self.routes[c]}

        # Amount purses' weights: class-1 credit first, then soonest expiry (see module doc).
        paying = sorted(
            {r.purse.id: r.purse for c in self.categories for r in self.routes[c]}.values(),
            key=_expiry_order,
        )
        base = self.total + 1
        count = len(paying)
        self.weight: dict[str, int] = {}
        for n, purse in enumerate(paying):
            special = purse.city is not None or purse.program == DONOR_PROGRAM
            self.weight[purse.id] = (base**count if special else 0) + base ** (count - 1 - n)

        # Quantity purses: (purse, line) pairs in preference order.
        self.pairs: list[_Pair] = []
        for purse in usable:
            if purse.kind is not ProgramKind.QUANTITY:
                continue
            for n, line in enumerate(lines):
                if line.unit_price_rial <= 0 or _coverable_milli(line) <= 0:
                    continue
                if _coverage_reason(line, purse, index, city, now) is not None:
                    continue
                group = quantity_group(purse, line)
                assert group is not None
                self.pairs.append(_Pair(purse, n, group))
        self.entitled: dict[tuple[str, str], int] = {}
        for pair in self.pairs:
            key = (pair.purse.id, pair.group)
            if key not in self.entitled:
                remaining = next(
                    e.remaining_milli for e in pair.purse.entitlements if e.group == pair.group
                )
                self.entitled[key] = max(remaining, 0)
        # Programmes with a per-transaction maximum shared by quantity and amount purses.
        self.mixed = {
            pair.purse.program
            for pair in self.pairs
            if self.program_cap.get(pair.purse.program) is not None
            and pair.purse.program in self.amount_programs
        }

    # ---------------------------------------------------------------- amount network

    def network(
        self, capacity: Mapping[str, int], program_room: Mapping[str, int | None], *, costs: bool
    ) -> _Network:
        """The amount network: source → category → purse (through caps) → programme → sink."""
        net = FlowNetwork(2)
        source, sink = 0, 1
        infinite = self.infinite
        roots: dict[str, int] = {}
        capped: dict[tuple[str, str], int] = {}
        programs: dict[str, int] = {}
        arcs: dict[tuple[str, str], int] = {}
        supplies: dict[str, int] = {}
        program_arcs: dict[str, int] = {}

        def program_node(program: str) -> int:
            node = programs.get(program)
            if node is None:
                node = programs[program] = net.add_node()
                room = program_room.get(program)
                program_arcs[program] = net.add_arc(
                    node, sink, infinite if room is None else max(room, 0)
                )
            return node

        def root_node(purse: Purse) -> int:
            node = roots.get(purse.id)
            if node is None:
                node = roots[purse.id] = net.add_node()
                net.add_arc(node, program_node(purse.program), max(purse.balance_rial, 0))
            return node

        def entry(route: _Route) -> int:
            purse = route.purse
            below = root_node(purse)
            for category in reversed(route.caps):  # farthest cap first
                key = (purse.id, category)
                node = capped.get(key)
                if node is None:
                    node = capped[key] = net.add_node()
                    limit = max(purse.category_limits_rial[category], 0)
                    net.add_arc(node, below, limit)
                below = node
            return below

        for category in self.categories:
            node = net.add_node()
            supplies[category] = net.add_arc(source, node, max(capacity[category], 0))
            for route in self.routes[category]:
                cost = -self.weight[route.purse.id] if costs else 0
                arcs[(category, route.purse.id)] = net.add_arc(node, entry(route), infinite, cost)
        return _Network(net, arcs, supplies, program_arcs)

    # ---------------------------------------------------------------- quantity choice

    def choose_quantities(self) -> list[int]:
        """How much each pair covers (see the module docstring for why this is optimal)."""
        if not self.pairs:
            return []
        greedy = self._greedy()
        if greedy is not None:
            return greedy
        return _QuantitySearch(self).best()

    def _greedy(self) -> list[int] | None:
        """Every pair takes all it can, in preference order; None unless all is covered."""
        if self.mixed:
            return None
        left = [_coverable_milli(line) for line in self.lines]
        budget = dict(self.entitled)
        room = dict(self.program_cap)
        taken = [False] * len(self.lines)
        chosen: list[int] = []
        for pair in self.pairs:
            line = self.lines[pair.line]
            key = (pair.purse.id, pair.group)
            take = min(budget[key], left[pair.line])
            if line.unit is Unit.PIECE:
                take -= take % 1000
            elif taken[pair.line]:
                take = 0  # a weighed line takes its free quantity from one purse
            cap = room[pair.purse.program]
            if cap is not None:
                take = _max_quantity_within(line, take, cap)
                room[pair.purse.program] = cap - quantity_amount(line, take)
            budget[key] -= take
            left[pair.line] -= take
            taken[pair.line] = taken[pair.line] or take > 0
            chosen.append(take)
        if any(left[pair.line] for pair in self.pairs):
            return None
        return chosen


#: Steps after which the quantity search keeps the best split found so far (see module doc).
SEARCH_LIMIT = 10_000
#: Weights tried per weighed line in the quantity search's first, coarse pass.
COARSE_POINTS = 16


class _QuantitySearch:
    """Exhaustive search over the quantity pairs, with the amount flow evaluated in closed form.

    The maximum amount flow ``F`` depends on the quantity choice only through a
    few coordinates: the capacity of each basket category holding a line that a
    quantity purse may cover, and the room left in each programme shared by both
    kinds of purse. ``F`` is a minimum over cuts, each cut counting a coordinate
    fully or not at all, so with ``z <= top`` coordinate-wise

        F(z) = min over subsets X of coordinates of ( sum(z[X]) + F(z with X at 0, rest at top) )

    (``<=``: F is monotone and grows by at most 1 per unit of a coordinate;
    ``>=``: take X the coordinates the minimum cut of F(z) counts). The 2**k
    flows on the right are computed once; each candidate is then priced in
    O(2**k) additions.
    """

    def __init__(self, problem: _Problem) -> None:
        self.p = problem
        pairs = problem.pairs
        touched = {pair.line for pair in pairs}
        self.coord_categories = [
            c for c in problem.categories if touched.intersection(problem.category_lines[c])
        ]
        self.coord_programs = sorted(problem.mixed)
        base_capacity = {
            c: sum(problem.amounts[i] for i in problem.category_lines[c])
            for c in problem.categories
        }
        coords = len(self.coord_categories) + len(self.coord_programs)
        self.cut_values: list[int] = []
        built = problem.network(base_capacity, problem.program_cap, costs=False)
        coord_arcs = [built.supplies[c] for c in self.coord_categories] + [
            built.program_arcs[p] for p in self.coord_programs
        ]
        for mask in range(1 << coords):
            built.net.restart({arc: 0 for n, arc in enumerate(coord_arcs) if mask >> n & 1})
            self.cut_values.append(built.net.max_flow(0, 1))
        self.masks = [[n for n in range(coords) if mask >> n & 1] for mask in range(1 << coords)]
        self.category_of = {i: c for c in self.coord_categories for i in problem.category_lines[c]}
        # The lines free packages may touch, with their coordinate (or -1) and base amount.
        index = {c: n for n, c in enumerate(self.coord_categories)}
        self.touched = [
            (i, problem.lines[i].unit_price_rial, index.get(self.category_of.get(i, ""), -1))
            for i in sorted(touched)
        ]
        self.base_z = [
            sum(problem.amounts[i] for i in problem.category_lines[c])
            for c in self.coord_categories
        ]
        # K[X] = total - F(X at 0, rest at top) - top(X), for the bound.
        tops = self.base_z + [problem.program_cap[p] or 0 for p in self.coord_programs]
        self.k_values = [
            problem.total - self.cut_values[mask] - sum(tops[k] for k in self.masks[mask])
            for mask in range(len(self.cut_values))
        ]
        first_program = len(self.coord_categories)
        self.program_masks = [
            [self.coord_programs[k - first_program] for k in mask if k >= first_program]
            for mask in self.masks
        ]
        # Which pairs may simply take the most they can (nothing after them competes).
        self.take_all: list[bool] = []
        for n, pair in enumerate(pairs):
            later = pairs[n + 1 :]
            program = pair.purse.program
            competes = program in problem.mixed or any(
                other.line == pair.line
                or (other.purse.id, other.group) == (pair.purse.id, pair.group)
                or (problem.program_cap.get(program) is not None and other.purse.program == program)
                for other in later
            )
            self.take_all.append(not competes)
        self.coarse = False
        self.best_key: tuple[int, int] | None = None
        self.best_choice: list[int] = []

    def best(self) -> list[int]:
        p = self.p
        self.covered = [0] * len(p.lines)  # quantity covered per line so far
        self.left = [_coverable_milli(line) for line in p.lines]
        self.budget = dict(p.entitled)
        self.room = dict(p.program_cap)
        self.spent: dict[str, int] = {}
        self.choice: list[int] = []
        self.cut_short = False
        self.ceiling = self._bound(0)
        weighed = any(
            not take_all and p.lines[pair.line].unit is not Unit.PIECE
            for pair, take_all in zip(p.pairs, self.take_all, strict=True)
        )
        if weighed:
            # A first pass over a coarse grid of weights finds a good split cheaply;
            # the exact pass then only has to look where it could do better.
            self.coarse = True
            self.steps = 0
            self._search(0)
            self.coarse_steps = self.steps
        self.coarse = False
        self.steps = 0
        self._search(0)
        return self.best_choice

    def _candidates(self, pair: _Pair, most: int) -> list[int]:
        line = self.p.lines[pair.line]
        if most <= 0:
            return [0]
        if line.unit is Unit.PIECE:
            return list(range(most, -1, -1000))
        if self.coarse:
            step = max(most // COARSE_POINTS, 1)
            return [*range(most, 0, -step), 0]
        # kg / l: the least quantity giving each line value, largest first.
        before = self.covered[pair.line]
        price = line.unit_price_rial
        low = line_amount(before, price)
        high = line_amount(before + most, price)
        if high - low >= most:
            return list(range(most, -1, -1))  # (nearly) every thousandth has its own value
        out = [most]
        for value in range(high, low - 1, -1):
            least = 0 if value <= 0 else -(-(1000 * value - 500) // price)
            take = max(least - before, 0)
            if take < out[-1]:
                out.append(take)
        return out

    def _search(self, n: int) -> None:
        p = self.p
        if self.best_key is not None and self.best_key == self.ceiling:
            return  # the best found already meets the bound for the whole search
        self.steps += 1
        if self.steps > SEARCH_LIMIT:
            self.cut_short = True
            return
        if n == len(p.pairs):
            self._evaluate()
            return
        if self.best_key is not None and self._bound(n) >= self.best_key:
            return  # nothing below this choice can do better than the best found
        pair = p.pairs[n]
        line = p.lines[pair.line]
        key = (pair.purse.id, pair.group)
        program = pair.purse.program
        most = min(self.budget[key], self.left[pair.line])
        if line.unit is Unit.PIECE:
            most -= most % 1000
        cap = self.room[program]
        if cap is not None:
            most = _max_quantity_within(line, most, cap)
        if line.unit is not Unit.PIECE and self.covered[pair.line]:
            most = 0  # a weighed line takes its free quantity from one purse
        options = [most] if self.take_all[n] else self._candidates(pair, most)
        for take in options:
            if self.best_key is not None and take < most:
                if self._bound(n, upto=take) >= self.best_key:
                    break  # neither this choice nor any smaller one can beat the best
            paid = quantity_amount(line, take)
            self.budget[key] -= take
            self.left[pair.line] -= take
            self.covered[pair.line] += take
            if cap is not None:
                self.room[program] = cap - paid
            self.spent[program] = self.spent.get(program, 0) + paid
            self.choice.append(take)
            self._search(n + 1)
            self.choice.pop()
            self.spent[program] -= paid
            self.room[program] = cap
            self.covered[pair.line] -= take
            self.left[pair.line] += take
            self.budget[key] += take

    def _bound(self, n: int, *, upto: int | None = None) -> tuple[int, int]:
        """A key that no completion of the current choice can beat.

        The household pays ``max over X of (K[X] - value freed on the lines
        outside X + what free packages took of the shared programmes in X)``
        (``K[X] = total - F(X at 0, rest at top) - top(X)``, from the class
        docstring's formula). What shared programmes have paid only grows as
        pairs are chosen, and the value freed on a set of lines is at most
        a fractional knapsack: what the pairs from ``n`` on could still cover
        of those lines, pooled over all their remaining entitlements, most
        expensive first, plus half a Rial of rounding per line. A line can get
        at most: whole units from each purse (pieces), or what one purse holds
        (weighed lines, and nothing more once covered). With ``upto``, pair
        ``n`` is not yet applied and gives at most ``upto``: the bound then
        holds for every choice of pair ``n`` up to ``upto``.
        """
        p = self.p
        rest = p.pairs[n:]
        budget = self.budget
        reach: dict[int, list[int]] = {}  # line -> what each remaining pair could give
        keys: dict[int, set[tuple[str, str]]] = {}
        for m, pair in enumerate(rest):
            key = (pair.purse.id, pair.group)
            keys.setdefault(pair.line, set()).add(key)
            give = budget[key]
            if m == 0 and upto is not None:
                give = min(give, upto)
            if p.lines[pair.line].unit is Unit.PIECE:
                give -= give % 1000
            reach.setdefault(pair.line, []).append(give)
        extra: dict[int, int] = {}
        for i, gives in reach.items():
            if p.lines[i].unit is Unit.PIECE:
                extra[i] = min(self.left[i], sum(gives))
            else:
                extra[i] = 0 if self.covered[i] else min(self.left[i], max(gives))
        covered = self.covered
        spent = self.spent
        payable: int | None = None
        freed_ceiling = 0
        for mask, k_value in enumerate(self.k_values):
            value_num = 0  # thousandths of a Rial
            slack = 0
            fixed = 0
            pool_keys: set[tuple[str, str]] = set()
            open_lines: list[tuple[int, int]] = []
            for i, price, coord in self.touched:
                if coord >= 0 and mask >> coord & 1:
                    continue
                if i in extra:
                    value_num += covered[i] * price
                    slack += 500
                    pool_keys |= keys[i]
                    open_lines.append((price, i))
                elif covered[i]:
                    fixed += line_amount(covered[i], price)
            pool = sum(self.budget[key] for key in pool_keys)
            for price, i in sorted(open_lines, reverse=True):
                if pool <= 0:
                    break
                take = min(pool, extra[i])
                value_num += take * price
                pool -= take
            ceiling = fixed + (value_num + slack) // 1000
            if mask == 0:
                freed_ceiling = ceiling
            # what shared programmes have paid for free packages so far only grows
            low = k_value - ceiling + sum(spent.get(p, 0) for p in self.program_masks[mask])
            if payable is None or low > payable:
                payable = low
        assert payable is not None
        return (payable, -freed_ceiling)

    def _evaluate(self) -> None:
        key = self._price(self.covered)
        if self.best_key is None or key < self.best_key:
            self.best_key = key
            self.best_choice = list(self.choice)

    def _price(self, covered: Sequence[int]) -> tuple[int, int]:
        """(what the household pays, minus the value freed by free packages)."""
        p = self.p
        freed = 0
        z = list(self.base_z)
        for i, price, coord in self.touched:
            quantity = covered[i]
            if quantity:
                value = line_amount(quantity, price)
                freed += value
                if coord >= 0:
                    z[coord] -= value
        for program in self.coord_programs:
            cap = p.program_cap[program]
            assert cap is not None
            z.append(cap - self.spent.get(program, 0))
        flow = min(
            sum(z[k] for k in mask) + value
            for mask, value in zip(self.masks, self.cut_values, strict=True)
        )
        return (p.total - freed - flow, -freed)


def allocate(
    lines: Sequence[BasketLine],
    purses: Sequence[Purse],
    *,
    rules: RuleSet,
    city: str,
    now: datetime,
) -> AllocationPlan:
    """The split of ``lines`` over ``purses`` that leaves the household the least to pay.

    See the module docstring for the rules, the order of preference among
    equally cheap splits and the algorithm. The result settles as approved by
    :func:`settle_allocations` against the same purses. Raises
    ``ContractError("invalid_wallet")`` for two purses with one id and
    ``ContractError("invalid_basket")`` for a negative quantity or price.
    """
    problem = _Problem(lines, purses, rules, city, now)
    chosen = problem.choose_quantities()

    allocations: list[tuple[int, int, int, Allocation]] = []  # (line, kind, rank, allocation)
    covered_milli = [0] * len(problem.lines)
    spent: dict[str, int] = {}
    for pair, take in zip(problem.pairs, chosen, strict=True):
        if take <= 0:
            continue
        line = problem.lines[pair.line]
        paid = quantity_amount(line, take)
        covered_milli[pair.line] += take
        spent[pair.purse.program] = spent.get(pair.purse.program, 0) + paid
        allocations.append(
            (
                pair.line,
                0,
                problem.rank[pair.purse.id],
                Allocation(pair.line, pair.purse.id, paid, take),
            )
        )

    residual = [
        amount - line_amount(covered_milli[i], problem.lines[i].unit_price_rial)
        for i, amount in enumerate(problem.amounts)
    ]
    capacity = {c: sum(residual[i] for i in problem.category_lines[c]) for c in problem.categories}
    room: dict[str, int | None] = {
        program: None if cap is None else cap - spent.get(program, 0)
        for program, cap in problem.program_cap.items()
    }
    built = problem.network(capacity, room, costs=True)
    net, arcs = built.net, built.arcs
    net.min_cost_max_flow(0, 1)

    paid_by_amount = 0
    for category in problem.categories:
        waiting = [i for i in problem.category_lines[category] if residual[i] > 0]
        spare = {i: residual[i] for i in waiting}
        position = 0
        for route in problem.routes[category]:  # preference order
            flow = net.flow(arcs[(category, route.purse.id)])
            while flow > 0:
                i = waiting[position]
                part = min(flow, spare[i])
                spare[i] -= part
                flow -= part
                paid_by_amount += part
                allocations.append(
                    (i, 1, problem.rank[route.purse.id], Allocation(i, route.purse.id, part))
                )
                if spare[i] == 0:
                    position += 1

    allocations.sort(key=lambda item: item[:3])
    covered = sum(item[3].amount_rial for item in allocations)
    payable = sum(residual) - paid_by_amount
    return AllocationPlan(
        allocations=tuple(item[3] for item in allocations),
        total_rial=problem.total,
        covered_rial=covered,
        payable_rial=payable,
        waived_rial=problem.total - covered - payable,
    )


@dataclass(frozen=True, slots=True)
class LineCoverage:
    """How one basket line is paid under a plan (for the basket screen and the receipt)."""

    line: int
    amount_rial: int  # the line's amount
    free_quantity_milli: int  # covered by free packages
    free_rial: int  # the value of that quantity: what the household does not pay for it
    credit_rial: int  # paid by amount purses
    waived_rial: int  # part of free_rial above the package's price cap: nobody pays it
    payable_rial: int  # what the household pays for this line
    purse_ids: tuple[str, ...]  # the purses paying, in plan order


def line_coverage(
    plan: AllocationPlan, lines: Sequence[BasketLine], line_index: int
) -> LineCoverage:
    """How ``lines[line_index]`` is paid under ``plan``.

    ``free_rial == (what its quantity purses pay) + waived_rial`` and
    ``amount_rial == free_rial + credit_rial + payable_rial``.
    """
    if not 0 <= line_index < len(lines):
        raise IndexError(f"line {line_index} is not in the basket")
    line = lines[line_index]
    mine = plan.for_line(line_index)
    quantity = sum(a.quantity_milli for a in mine)
    free = line_amount(quantity, line.unit_price_rial)
    package_paid = sum(a.amount_rial for a in mine if a.quantity_milli > 0)
    credit = sum(a.amount_rial for a in mine if a.quantity_milli == 0)
    purse_ids: list[str] = []
    for a in mine:
        if a.purse_id not in purse_ids:
            purse_ids.append(a.purse_id)
    return LineCoverage(
        line=line_index,
        amount_rial=line.amount_rial,
        free_quantity_milli=quantity,
        free_rial=free,
        credit_rial=credit,
        waived_rial=free - package_paid,
        payable_rial=line.amount_rial - free - credit,
        purse_ids=tuple(purse_ids),
    )
