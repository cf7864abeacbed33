"""What the checkout, the recovery and the forwarder share about one redemption.

- :func:`new_redemption_id`: a UUIDv7 (time-ordered, 74 random bits), the
  redemption's id and idempotency key;
- :func:`business_date`: the date in Asia/Tehran;
- :class:`SaleOutcome` and :func:`outcome_from_entry`: what a cashier, a
  receipt or the ``redeem --json`` output is told about a redemption;
- :func:`in_basket_lines`: the ledger's allocations with their lines
  numbered as in the basket (the body sends only the lines a purse pays, so
  the ledger numbers those);
- :func:`record_answer` (from :mod:`pos_client.services.delivery`): where a
  final answer from the ledger is written to the journal.

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pos_client.domain.models import Allocation, BasketLine, Entitlement, Purse, Unit
from pos_client.domain.redemption import AppliedAllocation
from pos_client.domain.states import RedemptionStatus, SaleStatus, sale_status
from pos_client.ports import JournalEntry
from pos_client.services.delivery import record_answer

__all__ = [
    "TEHRAN",
    "SaleOutcome",
    "basket_json",
    "business_date",
    "entitlements_from_json",
    "entitlements_json",
    "in_basket_lines",
    "new_redemption_id",
    "outcome_from_entry",
    "record_answer",
]

TEHRAN = ZoneInfo("Asia/Tehran")


def new_redemption_id(now: datetime) -> str:
    """A UUIDv7 for ``now`` (RFC 9562): 48-bit Unix milliseconds, version 7, random rest."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68 & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def business_date(moment: datetime) -> date:
    """The business date of ``moment``: its date in Asia/Tehran."""
    return moment.astimezone(TEHRAN).date()


# --------------------------------------------------------------------------- outcome


@dataclass(frozen=True, slots=True)
class SaleOutcome:
    """What became of a confirmed sale (or a refused one), for the screen, receipt and CLI.

    ``status`` (a :class:`~pos_client.domain.states.SaleStatus`): ``approved``,
    ``approved_offline``, ``partially_approved``, ``approved_unsaved`` (the
    ledger approved it, this lane could not write that down yet: the sale goes
    ahead and must not be done again), ``declined``, ``refused_offline`` (the
    ledger could not be asked and the offline limits do not allow it),
    ``unknown`` (no final answer yet: resolve or abandon; the goods must not
    leave), ``voided``, ``pending`` (written, never sent). ``goes_ahead``
    says whether the goods may leave with the household; ``payable_rial`` is
    what the household pays itself, including whatever the ledger declined.
    """

    id: str | None
    status: SaleStatus
    goes_ahead: bool
    total_rial: int
    covered_rial: int
    payable_rial: int
    declined_rial: int = 0
    waived_rial: int = 0
    reason: str | None = None
    detail: str = ""
    receipt_code: str | None = None
    approved_at: datetime | None = None
    allocations: tuple[AppliedAllocation, ...] = ()
    lines: tuple[BasketLine, ...] = ()
    purses_before: tuple[Purse, ...] = ()
    purses_after: tuple[Purse, ...] = ()
    masked_id: str | None = None
    display_name: str | None = None
    offline: bool = False
    #: ``household_card``: approved offline from the snapshot a KB2 token carries.
    offline_source: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``redeem --json`` object (no national ID, no token)."""
        return {
            "id": self.id,
            "status": str(self.status),
            "goes_ahead": self.goes_ahead,
            "total_rial": self.total_rial,
            "covered_rial": self.covered_rial,
            "payable_rial": self.payable_rial,
            "declined_rial": self.declined_rial,
            "waived_rial": self.waived_rial,
            "reason": self.reason,
            "detail": self.detail,
            "receipt_code": self.receipt_code,
            "approved_at": None if self.approved_at is None else self.approved_at.isoformat(),
            "offline": self.offline,
            "offline_source": self.offline_source,
            "allocations": [
                {
                    "line": a.line,
                    "purse_id": a.purse_id,
                    "amount_rial": a.amount_rial,
                    "quantity_milli": a.quantity_milli,
                    "status": a.status,
                    "reason": a.reason,
                }
                for a in self.allocations
            ],
            "lines": [
                {
                    "gtin": line.gtin,
                    "name": line.name,
                    "quantity_milli": line.quantity_milli,
                    "unit_price_rial": line.unit_price_rial,
                    "amount_rial": line.amount_rial,
                    "eligible": line.category is not None,
                }
                for line in self.lines
            ],
            "purses_after": [
                {
                    "id": p.id,
                    "program": p.program,
                    "balance_rial": p.balance_rial,
                    "entitlements": entitlements_json(p.entitlements),
                }
                for p in self.purses_after
            ],
            "household": {"masked_id": self.masked_id, "display_name": self.display_name},
        }


def entitlements_json(entitlements: Sequence[Entitlement]) -> list[dict[str, Any]]:
    """A quantity purse's entitlements as the journal (and ``--json``) keeps them."""
    return [{"group": e.group, "remaining_milli": e.remaining_milli} for e in entitlements]


def entitlements_from_json(items: object) -> tuple[Entitlement, ...]:
    """Entitlements read back from the journal; an entry written before they were kept has none."""
    if not isinstance(items, list):
        return ()
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("group"), str):
            continue
        remaining = item.get("remaining_milli")
        if isinstance(remaining, int) and not isinstance(remaining, bool) and remaining >= 0:
            out.append(Entitlement(item["group"], remaining))
    return tuple(out)


def basket_json(
    *,
    lines: Sequence[BasketLine],
    allocations: Sequence[Allocation],
    total_rial: int,
    covered_rial: int,
    payable_rial: int,
    waived_rial: int,
    purses: Sequence[Purse],
    program_of: Mapping[str, str],
) -> str:
    """The whole basket and its plan as the journal keeps it (for receipts and problems)."""
    return json.dumps(
        {
            "lines": [
                {
                    "gtin": line.gtin,
                    "name": line.name,
                    "quantity_milli": line.quantity_milli,
                    "unit_price_rial": line.unit_price_rial,
                    "amount_rial": line.amount_rial,
                    "category": line.category,
                    "unit": line.unit.value,
                    "groups": list(line.groups),
                }
                for line in lines
            ],
            "allocations": [
                {
                    "line": a.line,
                    "purse_id": a.purse_id,
                    "program": program_of.get(a.purse_id),
                    "amount_rial": a.amount_rial,
                    "quantity_milli": a.quantity_milli,
                }
                for a in allocations
            ],
            "total_rial": total_rial,
            "covered_rial": covered_rial,
            "payable_rial": payable_rial,
            "waived_rial": waived_rial,
            "purses_before": [
                {
                    "id": p.id,
                    "program": p.program,
                    "kind": p.kind.value,
                    "label_fa": p.label_fa,
                    "balance_rial": p.balance_rial,
                    "expires_at": None if p.expires_at is None else p.expires_at.isoformat(),
                    "entitlements": entitlements_json(p.entitlements),
                }
                for p in purses
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _lines_from_basket(basket: Mapping[str, Any]) -> tuple[BasketLine, ...]:
    out = []
    for item in basket.get("lines", []):
        out.append(
            BasketLine(
                gtin=item["gtin"],
                quantity_milli=int(item["quantity_milli"]),
                unit_price_rial=int(item["unit_price_rial"]),
                category=item.get("category"),
                unit=Unit(item.get("unit", "piece")),
                name=item.get("name", ""),
                groups=tuple(g for g in item.get("groups") or () if isinstance(g, str)),
            )
        )
    return tuple(out)


def _sent_lines(basket: Mapping[str, Any]) -> tuple[int, ...]:
    """The basket index of each line the body carried: those a purse pays, in basket order.

    This is how :func:`~pos_client.domain.redemption.redemption_body` chose them.
    """
    lines = set()
    for item in basket.get("allocations", []):
        if isinstance(item, dict) and isinstance(item.get("line"), int):
            lines.add(item["line"])
    return tuple(sorted(lines))


def in_basket_lines(
    entry: JournalEntry, allocations: Sequence[AppliedAllocation]
) -> tuple[AppliedAllocation, ...]:
    """The ledger's ``allocations`` with ``line`` numbered as in the basket, not the body.

    The body of a redemption carries only the lines a purse pays, so the
    ledger's ``line`` is an index into those; a receipt, the screen and
    ``redeem --json`` speak of the basket's lines.
    """
    basket = json.loads(entry.basket) if entry.basket else {}
    return _renumbered(allocations, _sent_lines(basket))


def _renumbered(
    allocations: Sequence[AppliedAllocation], sent: Sequence[int]
) -> tuple[AppliedAllocation, ...]:
    return tuple(
        replace(a, line=sent[a.line]) if 0 <= a.line < len(sent) else a for a in allocations
    )


def outcome_from_entry(entry: JournalEntry) -> SaleOutcome:
    """A :class:`SaleOutcome` read back from the journal (recovery, exports, reprints)."""
    basket = json.loads(entry.basket) if entry.basket else {}
    answer = json.loads(entry.answer) if entry.answer else None
    allocations: tuple[AppliedAllocation, ...] = ()
    approved_at = None
    if answer is not None:
        allocations = tuple(
            AppliedAllocation(
                line=a["line"],
                purse_id=a["purse_id"],
                amount_rial=a["amount_rial"],
                quantity_milli=a.get("quantity_milli", 0),
                status=a.get("status", "applied"),
                reason=a.get("reason"),
            )
            for a in answer.get("allocations", [])
        )
        allocations = _renumbered(allocations, _sent_lines(basket))
        if answer.get("approved_at"):
            approved_at = datetime.fromisoformat(answer["approved_at"])
    else:
        allocations = tuple(
            AppliedAllocation(
                line=a["line"],
                purse_id=a["purse_id"],
                amount_rial=a["amount_rial"],
                quantity_milli=a.get("quantity_milli", 0),
                status="requested",
            )
            for a in basket.get("allocations", [])
        )
    status = sale_status(entry.status, entry.reason)
    covered = entry.ledger_covered_rial
    if covered is None:
        covered = entry.covered_rial if entry.status is RedemptionStatus.APPROVED_OFFLINE else 0
    if entry.status is RedemptionStatus.DECLINED:
        covered = 0
    declined = entry.declined_rial or 0
    goes_ahead = entry.status in (
        RedemptionStatus.APPROVED,
        RedemptionStatus.PARTIALLY_APPROVED,
        RedemptionStatus.APPROVED_OFFLINE,
    ) or (entry.offline and entry.status is not RedemptionStatus.VOIDED)
    waived = int(basket.get("waived_rial", 0))
    return SaleOutcome(
        id=entry.id,
        status=status,
        goes_ahead=goes_ahead,
        total_rial=entry.total_rial,
        covered_rial=covered,
        payable_rial=entry.total_rial - covered - waived
        if goes_ahead
        else entry.total_rial - waived,
        declined_rial=declined,
        waived_rial=waived,
        reason=entry.reason,
        receipt_code=entry.receipt_code,
        approved_at=approved_at,
        allocations=allocations,
        lines=_lines_from_basket(basket),
        masked_id=entry.nid_masked,
        display_name=entry.display_name,
        offline=entry.offline,
    )
