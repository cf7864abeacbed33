"""Settling a client's requested split against the purses as they stand (the ledger's side).

:func:`settle_allocations` is what the ledger (here the sandbox) does with the
allocations a terminal sends: allocation by allocation, with the contract's
refusal reasons, all or nothing online and in part for forwarded offline sales.
The coverage rules are :mod:`.coverage`'s, the same the terminal plans with.

Pure: imports only the standard library and ``pos_client.domain``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from pos_client.domain.errors import ContractError
from pos_client.domain.models import (
    Allocation,
    BasketLine,
    Entitlement,
    ProgramKind,
    Purse,
    RuleSet,
    Unit,
)
from pos_client.domain.money import line_amount

from .coverage import (
    INSUFFICIENT_BALANCE,
    OVER_TRANSACTION_LIMIT,
    PURSE_NOT_FOUND,
    _capped_lineage,
    _coverage_reason,
    _index,
    _index_purses,
    _max_quantity_within,
    _RuleIndex,
    quantity_amount,
    quantity_group,
)

__all__ = [
    "AppliedAllocation",
    "AppliedStatus",
    "Settlement",
    "SettlementStatus",
    "settle_allocations",
]

_INVALID = "invalid_request"

AppliedStatus = Literal["applied", "reduced", "refused"]
SettlementStatus = Literal["approved", "partially_approved", "declined"]


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
