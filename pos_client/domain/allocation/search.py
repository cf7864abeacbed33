"""The search for the best free quantities when free packages compete (see :mod:`.plan`).

:class:`_QuantitySearch` is an exhaustive depth-first search over the
(quantity purse, line) pairs of a :class:`.plan._Problem`, each candidate
priced in closed form from a few precomputed maximum flows, with a lower bound
that cuts branches. Step 2b of the algorithm in :mod:`.plan`.

Pure: imports only the standard library and ``pos_client.domain``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pos_client.domain.models import Unit
from pos_client.domain.money import line_amount

from .coverage import _coverable_milli, _max_quantity_within, quantity_amount

if TYPE_CHECKING:
    from .plan import _Pair, _Problem

__all__ = ["COARSE_LIMIT", "COARSE_POINTS", "SEARCH_LIMIT"]

#: Steps after which the exact pass keeps the best split found so far (see :mod:`.plan`).
SEARCH_LIMIT = 20_000
#: Steps of the coarse first pass: it only finds a good split for the bound to work with.
COARSE_LIMIT = 1_000
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
        if self.steps > (COARSE_LIMIT if self.coarse else SEARCH_LIMIT):
            self.cut_short = self.cut_short or not self.coarse  # the exact pass did not finish
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
        (weighed lines, and nothing more once covered); and from a purse whose
        programme has a per-transaction maximum, no more than what is left of
        that maximum pays for (room only shrinks deeper in the search). With
        ``upto``, pair ``n`` is not yet applied and gives at most ``upto``: the
        bound then holds for every choice of pair ``n`` up to ``upto``.
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
            line = p.lines[pair.line]
            if line.unit is Unit.PIECE:
                give -= give % 1000
            room = self.room[pair.purse.program]
            if room is not None:  # what is left of its programme's maximum pays for no more
                give = _max_quantity_within(line, give, room)
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
