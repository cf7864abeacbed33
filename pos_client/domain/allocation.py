"""Splitting a basket over a household's purses, and settling a requested split.

PLACEHOLDER DOCSTRING (rewritten below once allocate lands).

This module is pure: it imports only the standard library and
``pos_client.domain`` (models, money, errors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from pos_client.domain.errors import ContractError
from pos_client.domain.flow import FlowNetwork
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
from pos_client.domain.money import line_amount

__all__ = [
    "CATEGORY_NOT_ALLOWED",
    "CITY_MISMATCH",
    "INSUFFICIENT_BALANCE",
    "OVER_TRANSACTION_LIMIT",
    "PURSE_EXPIRED",
    "PURSE_NOT_FOUND",
    "AppliedAllocation",
    "Settlement",
    "coverage_reason",
    "covering_purses",
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


def _category_allowed(purse: Purse, line: BasketLine, rules: RuleSet) -> bool:
    if line.category is None:
        return False
    lineage = rules.category_lineage(line.category)
    if not any(c in purse.categories for c in lineage):
        return False
    program = rules.program(purse.program)
    if program is not None and program.categories:
        return any(c in program.categories for c in lineage)
    return True


def coverage_reason(
    line: BasketLine, purse: Purse, *, rules: RuleSet, city: str, now: datetime
) -> str | None:
    """Why ``purse`` cannot pay for ``line`` (a contract reason), or None when it can.

    Checked in the ledger's order: validity window (``purse_expired``), city
    (``city_mismatch``), then category or entitlement group
    (``category_not_allowed``). A line outside the catalog (category None) is
    covered by nothing. Balances are not looked at here.
    """
    if not purse.is_valid_at(now):
        return PURSE_EXPIRED
    if not purse.serves_city(city):
        return CITY_MISMATCH
    if line.category is None:
        return CATEGORY_NOT_ALLOWED
    if purse.kind is ProgramKind.QUANTITY:
        return None if quantity_group(purse, line) is not None else CATEGORY_NOT_ALLOWED
    return None if _category_allowed(purse, line, rules) else CATEGORY_NOT_ALLOWED


def covering_purses(
    line: BasketLine, purses: Sequence[Purse], *, rules: RuleSet, city: str, now: datetime
) -> tuple[Purse, ...]:
    """The purses that may pay for ``line`` here and now (balances not considered)."""
    return tuple(
        p for p in purses if coverage_reason(line, p, rules=rules, city=city, now=now) is None
    )


def _capped_lineage(purse: Purse, line: BasketLine, rules: RuleSet) -> tuple[str, ...]:
    """The categories of ``line``'s lineage that carry a limit in ``purse``."""
    if line.category is None or not purse.category_limits_rial:
        return ()
    limits = purse.category_limits_rial
    return tuple(c for c in rules.category_lineage(line.category) if c in limits)


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
    quantity_paid: dict[int, int] = {}
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
            quantity_paid[a.line] = quantity_paid.get(a.line, 0) + a.amount_rial
        else:
            if purse is not None and purse.kind is ProgramKind.QUANTITY:
                raise _invalid(f"{where}: a quantity purse needs quantity_milli > 0")
            if a.amount_rial == 0:
                raise _invalid(f"{where}: an allocation must move something")
            amount_on[a.line] = amount_on.get(a.line, 0) + a.amount_rial
    for index, quantity in quantity_on.items():
        if quantity > lines[index].quantity_milli:
            raise _invalid(f"line {index}: more quantity allocated than sold")
    for index in sorted(set(amount_on) | set(quantity_paid)):
        line = lines[index]
        freed = line_amount(quantity_on.get(index, 0), line.unit_price_rial)
        if quantity_paid.get(index, 0) > freed:
            raise _invalid(f"line {index}: quantity purses would pay more than the goods' value")
        if amount_on.get(index, 0) > line.amount_rial - freed:
            raise _invalid(f"line {index}: more allocated than the line's amount")


class _Books:
    """What the purses can still pay while a settlement is worked out."""

    def __init__(self, purses: Sequence[Purse], rules: RuleSet) -> None:
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
            program = rules.program(p.program)
            cap = None if program is None else program.per_transaction_max_rial
            self.program_left[p.program] = None if cap is None else max(cap, 0)

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
    books = _Books(purses, rules)
    results: list[AppliedAllocation] = []
    first_reason: str | None = None
    for a in allocations:
        line = lines[a.line]
        purse = by_id.get(a.purse_id)
        reason: str | None
        if purse is None:
            reason = PURSE_NOT_FOUND
        else:
            reason = coverage_reason(line, purse, rules=rules, city=city, now=now)
        amount = quantity = 0
        if purse is not None and reason is None:
            if purse.kind is ProgramKind.QUANTITY:
                amount, quantity, reason = _settle_quantity(books, purse, line, a, partial)
            else:
                amount, reason = _settle_amount(books, purse, line, a, rules, partial)
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
    books: _Books, purse: Purse, line: BasketLine, a: Allocation, rules: RuleSet, partial: bool
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
        self.program_cap: dict[str, int | None] = {}
        for purse in usable:
            program = rules.program(purse.program)
            cap = None if program is None else program.per_transaction_max_rial
            self.program_cap[purse.program] = None if cap is None else max(cap, 0)

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
                    _Route(p, _capped_lineage(p, line, rules))
                    for p in amount_purses
                    if coverage_reason(line, p, rules=rules, city=city, now=now) is None
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
                if coverage_reason(line, purse, rules=rules, city=city, now=now) is not None:
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
    ) -> tuple[FlowNetwork, dict[tuple[str, str], int]]:
        """The amount network: source → category → purse (through caps) → programme → sink.

        Returns the network and the arc id of every (category, purse id) arc.
        """
        net = FlowNetwork(2)
        source, sink = 0, 1
        infinite = self.infinite
        roots: dict[str, int] = {}
        capped: dict[tuple[str, str], int] = {}
        programs: dict[str, int] = {}
        arcs: dict[tuple[str, str], int] = {}

        def program_node(program: str) -> int:
            node = programs.get(program)
            if node is None:
                node = programs[program] = net.add_node()
                room = program_room.get(program)
                net.add_arc(node, sink, infinite if room is None else max(room, 0))
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
            net.add_arc(source, node, capacity[category])
            for route in self.routes[category]:
                cost = -self.weight[route.purse.id] if costs else 0
                arcs[(category, route.purse.id)] = net.add_arc(node, entry(route), infinite, cost)
        return net, arcs

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
        for mask in range(1 << coords):
            capacity = dict(base_capacity)
            room = dict(problem.program_cap)
            for n, category in enumerate(self.coord_categories):
                if mask >> n & 1:
                    capacity[category] = 0
            for n, program in enumerate(self.coord_programs, start=len(self.coord_categories)):
                if mask >> n & 1:
                    room[program] = 0
            net, _ = problem.network(capacity, room, costs=False)
            self.cut_values.append(net.max_flow(0, 1))
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
        self._search(0)
        return self.best_choice

    def _candidates(self, pair: _Pair, most: int) -> list[int]:
        line = self.p.lines[pair.line]
        if most <= 0:
            return [0]
        if line.unit is Unit.PIECE:
            return list(range(most, -1, -1000))
        # kg / l: the least quantity giving each line value, largest first.
        before = self.covered[pair.line]
        price = line.unit_price_rial
        out = [most]
        low = line_amount(before, price)
        high = line_amount(before + most, price)
        for value in range(high, low - 1, -1):
            least = 0 if value <= 0 else -(-(1000 * value - 500) // price)
            take = max(least - before, 0)
            if take < out[-1]:
                out.append(take)
        return out

    def _search(self, n: int) -> None:
        p = self.p
        if n == len(p.pairs):
            self._evaluate()
            return
        prune = not p.mixed  # bounds hold when more free quantity never costs the household
        if prune and self.best_key is not None and self._bound(n) >= self.best_key:
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
            if prune and self.best_key is not None and take < most:
                # This pair at ``take`` or less, every later pair at its most as if alone:
                # no smaller choice for this pair can beat the best found either.
                self.covered[pair.line] += take
                hopeless = self._bound(n + 1, budget_from=n) >= self.best_key
                self.covered[pair.line] -= take
                if hopeless:
                    break
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

    def _bound(self, n: int, *, budget_from: int | None = None) -> tuple[int, int]:
        """A key no completion of the current choice can beat (pairs n.. each alone at most).

        Valid when no programme is shared by both kinds of purse: the household
        then never pays more because a free package covers more. With
        ``budget_from``, the pairs from that one on are not charged to budgets
        and lines (a weaker bound that holds for every smaller choice of it).
        """
        p = self.p
        covered = list(self.covered)
        undo = p.pairs[budget_from:n] if budget_from is not None else []
        budget = dict(self.budget)
        left = list(self.left)
        for pair, take in zip(undo, self.choice[budget_from:], strict=False):
            budget[(pair.purse.id, pair.group)] += take
            left[pair.line] += take
        for pair in p.pairs[n:]:
            line = p.lines[pair.line]
            most = min(budget[(pair.purse.id, pair.group)], left[pair.line])
            if line.unit is Unit.PIECE:
                most -= most % 1000
            covered[pair.line] = min(covered[pair.line] + most, _coverable_milli(line))
        return self._price(covered)

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
    net, arcs = problem.network(capacity, room, costs=True)
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
