"""The terminal's side: the split of a basket over the purses that costs the household least.

:func:`allocate` plans it; :func:`line_coverage` tells the basket screen and the
receipt how one line is paid under a plan.

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
   The search is exhaustive, hence optimal, except in one case: if the
   exact pass needs more than ``SEARCH_LIMIT`` steps it keeps the best split
   found by then (the coarse pass stops after ``COARSE_LIMIT`` steps; that
   costs no exactness, only a weaker start for the bound). The bound counts
   what each purse can still give: its entitlement, what is left of the line,
   and what is left of its programme's per-transaction maximum; without the
   last, a purse of a capped programme looked able to free what it could not
   pay for, and a contested basket of four lines (three weighed) ran out of
   steps 390 Rials from the optimum. Free packages in practice are pieces
   (diapers, formula), a few per basket, and the search stays far below the
   limit; the property tests compare every case with an integer program.
3. With the quantities fixed, the min-cost flow of step 1 gives the amounts.

Cost (CPython 3.11): a 50-line basket over 6 purses takes about 0.4 ms
(one min-cost flow on ~30 nodes); free packages wanted beyond what remains
add 2**k max-flows and a search of tens to thousands of steps (about a
millisecond for two or three competing lines).

Pure: imports only the standard library and ``pos_client.domain`` (models, money,
errors, flow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pos_client.domain.errors import ContractError
from pos_client.domain.flow import FlowNetwork
from pos_client.domain.models import (
    Allocation,
    AllocationPlan,
    BasketLine,
    ProgramKind,
    Purse,
    RuleSet,
    Unit,
)
from pos_client.domain.money import line_amount

from .coverage import (
    _capped_lineage,
    _coverable_milli,
    _coverage_reason,
    _index,
    _index_purses,
    _max_quantity_within,
    quantity_amount,
    quantity_group,
)
from .search import _QuantitySearch

__all__ = ["DONOR_PROGRAM", "LineCoverage", "allocate", "line_coverage"]

DONOR_PROGRAM = "donor"
_NO_EXPIRY = datetime.min.replace(tzinfo=UTC)


def _preference(purse: Purse) -> tuple[int, bool, datetime, str]:
    """Purses sorted by this key are used first: city or donor credit, soonest expiry, id."""
    special = purse.city is not None or purse.program == DONOR_PROGRAM
    return (0 if special else 1, purse.expires_at is None, purse.expires_at or _NO_EXPIRY, purse.id)


def _expiry_order(purse: Purse) -> tuple[bool, datetime, str]:
    return (purse.expires_at is None, purse.expires_at or _NO_EXPIRY, purse.id)


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


def allocate(
    lines: Sequence[BasketLine],
    purses: Sequence[Purse],
    *,
    rules: RuleSet,
    city: str,
    now: datetime,
) -> AllocationPlan:
    """The split of ``lines`` over ``purses`` that leaves the household the least to pay.

    See the package docstring for the rules, this module's for the order of preference among
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
