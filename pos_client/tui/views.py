"""What the screens show, as logical text: purses, basket lines, the split, outcomes.

Pure functions from the services' frozen values (and the domain's) to the
words and numbers of a row, in the lane's language. They decide nothing about
money: amounts and splits come from the checkout service; these only put them
into words. Imports no textual, so they are tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pos_client.domain.models import BasketLine, ProgramKind, Purse, Unit
from pos_client.domain.money import format_quantity
from pos_client.services.checkout import BasketItem, BasketView, Household
from pos_client.services.redemptions import SaleOutcome

from .i18n import Texts

__all__ = [
    "GroupUse",
    "PurseSplit",
    "basket_row",
    "earliest_expiry",
    "entitlement_change",
    "household_line",
    "line_name",
    "outcome_verdict",
    "purse_balance",
    "purse_expiry",
    "purse_label",
    "purse_short",
    "purse_splits",
    "quantity_text",
    "split_rows",
]


def purse_label(purse: Purse, texts: Texts) -> str:
    """The purse as the ledger names it (``label_fa``), or its programme's name.

    In English an amount purse is its programme's name with the ledger's label
    (which tells tranches apart); a free package is its programme's name.
    """
    if texts.persian and purse.label_fa:
        return purse.label_fa
    name = texts.program(purse.program)
    if purse.label_fa and not texts.persian and purse.kind is not ProgramKind.QUANTITY:
        return f"{name} ({texts.data(purse.label_fa)})"
    return name


def purse_short(purse: Purse, texts: Texts) -> str:
    """A short name for a purse in a narrow column: its label in Persian, its programme else."""
    if texts.persian and purse.label_fa:
        return purse.label_fa
    return texts.program(purse.program)


def _entitlements(purse: Purse, texts: Texts, used: dict[str, int] | None = None) -> str:
    parts = []
    for entitlement in purse.entitlements:
        left = entitlement.remaining_milli - (used or {}).get(entitlement.group, 0)
        parts.append(
            texts.t(
                "wallet.items_left",
                item=texts.group(entitlement.group),
                quantity=texts.quantity(max(0, left), Unit.PIECE),
            )
        )
    return "، ".join(parts) if texts.persian else ", ".join(parts)


def _number(quantity_milli: int, unit: Unit, texts: Texts) -> str:
    return format_quantity(
        quantity_milli,
        unit,
        digits="fa" if texts.persian else "ascii",
        lang=texts.lang,
        with_unit=False,
        isolate=texts.persian,
    )


def quantity_text(quantity_milli: int, unit: Unit, texts: Texts) -> str:
    """A quantity with its unit's word.

    Pieces whole (``۳ عدد``, ``3 pcs``, ``1 pc``); kg and l with decimals.
    """
    key = "qty.piece_one" if unit is Unit.PIECE and quantity_milli == 1000 else f"qty.{unit.value}"
    return texts.t(key, n=_number(quantity_milli, unit, texts))


def entitlement_change(before_milli: int, after_milli: int, unit: Unit, texts: Texts) -> str:
    """What a free package's group held before and after a sale (``۴ ← ۳ عدد``, ``4 → 3 pcs``)."""
    arrow = "←" if texts.persian else "→"
    both = f"{_number(before_milli, unit, texts)} {arrow} {_number(after_milli, unit, texts)}"
    return texts.t(f"qty.{unit.value}", n=both)


def purse_balance(purse: Purse, texts: Texts) -> str:
    """An amount purse's balance, or what a free package still holds."""
    if purse.kind is ProgramKind.QUANTITY:
        return _entitlements(purse, texts)
    return texts.amount(purse.balance_rial)


def purse_expiry(purse: Purse, texts: Texts, now: datetime | None) -> str:
    if now is not None and purse.expires_at is not None and now >= purse.expires_at:
        return texts.t("wallet.expired")
    if now is not None and purse.valid_from is not None and now < purse.valid_from:
        return texts.t("wallet.not_yet", date=texts.date(purse.valid_from))
    if purse.expires_at is None:
        return texts.t("wallet.no_expiry")
    return texts.date(purse.expires_at)


def earliest_expiry(purses: Sequence[Purse], now: datetime | None) -> datetime | None:
    dates = [
        p.expires_at
        for p in purses
        if p.expires_at is not None and (now is None or p.expires_at > now)
    ]
    return min(dates, default=None)


def household_line(household: Household, texts: Texts) -> str:
    name = household.display_name or "—"
    if household.masked_id:
        text = texts.t("wallet.household", name=name, nid=texts.digits(household.masked_id))
    else:
        text = texts.t("wallet.household_no_id", name=name)
    extras = []
    if household.household_size:
        extras.append(texts.t("wallet.members", n=household.household_size))
    if household.city:
        extras.append(texts.city(household.city))
    extras.append(texts.t(f"wallet.by.{household.identity_kind}"))
    return " · ".join([text, *extras])


def line_name(
    line: BasketLine,
    texts: Texts,
    *,
    in_catalog: bool = True,
    names: Mapping[str, str] | None = None,
) -> str:
    """The product's name: in English its English name when ``names`` has one."""
    if not texts.persian and names and names.get(line.gtin):
        return names[line.gtin]
    if line.name:
        return line.name
    if not in_catalog or line.category is None:
        return texts.t("basket.unknown_product", gtin=line.gtin)
    return texts.code(line.gtin)


def _payer(item: BasketItem, purses: Sequence[Purse], texts: Texts) -> str:
    if not item.in_catalog or item.line.category is None:
        return texts.t("basket.payer.not_eligible")
    if not item.payers:
        return texts.t("basket.payer.customer")
    labels = {p.id: purse_short(p, texts) for p in purses}
    separator = "، " if texts.persian else ", "
    names = separator.join(dict.fromkeys(labels.get(pid, pid) for pid in item.payers))
    if item.covered_rial < item.line.amount_rial:
        return texts.t("basket.payer.split", purse=names)
    return names


def basket_row(
    item: BasketItem,
    purses: Sequence[Purse],
    texts: Texts,
    *,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """Product, quantity, unit price, amount, who pays: in reading order."""
    line = item.line
    return [
        line_name(line, texts, in_catalog=item.in_catalog, names=names),
        texts.quantity(line.quantity_milli, line.unit),
        texts.amount(line.unit_price_rial, with_unit=False),
        texts.amount(line.amount_rial, with_unit=False),
        _payer(item, purses, texts),
    ]


@dataclass(frozen=True, slots=True)
class GroupUse:
    """What a basket takes of one entitlement group of a free package."""

    group: str
    unit: Unit  # the unit of the products that count for it
    before_milli: int
    used_milli: int

    @property
    def after_milli(self) -> int:
        return max(0, self.before_milli - self.used_milli)


@dataclass(frozen=True, slots=True)
class PurseSplit:
    """One purse in the review: what it pays of this basket, its balance now and after."""

    purse: Purse
    pays_rial: int
    used_milli: dict[str, int]  # quantity purses: what each group gives
    units: dict[str, Unit] = field(default_factory=dict)  # quantity purses: each group's unit

    def before(self, texts: Texts) -> str:
        return purse_balance(self.purse, texts)

    def after(self, texts: Texts) -> str:
        if self.purse.kind is ProgramKind.QUANTITY:
            return _entitlements(self.purse, texts, self.used_milli)
        return texts.amount(max(0, self.purse.balance_rial - self.pays_rial))

    @property
    def uses(self) -> tuple[GroupUse, ...]:
        """A free package's groups this basket takes from, in the package's order."""
        return tuple(
            GroupUse(
                e.group,
                self.units.get(e.group, Unit.PIECE),
                e.remaining_milli,
                self.used_milli[e.group],
            )
            for e in self.purse.entitlements
            if self.used_milli.get(e.group, 0) > 0
        )


def split_rows(splits: Sequence[PurseSplit], texts: Texts) -> list[tuple[str, list[str]]]:
    """The review's rows: (key, [credit, covered, balance now, balance after]).

    An amount purse is one row. A free package has no balance in money: its
    row says the value it pays, and one row under it for each entitlement
    group the basket takes from says how many items it takes, how many the
    group holds now and how many are left after.
    """
    rows: list[tuple[str, list[str]]] = []
    for split in splits:
        purse = split.purse
        pays = texts.amount(split.pays_rial, with_unit=False)
        if purse.kind is not ProgramKind.QUANTITY:
            rows.append(
                (
                    purse.id,
                    [purse_label(purse, texts), pays, split.before(texts), split.after(texts)],
                )
            )
            continue
        # A package's row is its programme's name (its groups follow, one row each).
        rows.append((purse.id, [purse_short(purse, texts), pays, "", ""]))
        for use in split.uses:
            rows.append(
                (
                    f"{purse.id}/{use.group}",
                    [
                        texts.t("review.group", item=texts.group(use.group)),
                        quantity_text(use.used_milli, use.unit, texts),
                        quantity_text(use.before_milli, use.unit, texts),
                        quantity_text(use.after_milli, use.unit, texts),
                    ],
                )
            )
    return rows


def purse_splits(view: BasketView, purses: Sequence[Purse]) -> list[PurseSplit]:
    """The purses this basket touches, in the household's order, with what each pays."""
    if view.plan is None:
        return []
    splits = []
    for purse in purses:
        allocations = [a for a in view.plan.allocations if a.purse_id == purse.id]
        if not allocations:
            continue
        used: dict[str, int] = {}
        units: dict[str, Unit] = {}
        groups = {e.group for e in purse.entitlements}
        for allocation in allocations:
            line = view.items[allocation.line].line if allocation.line < len(view.items) else None
            group = next((g for g in (line.groups if line else ()) if g in groups), None)
            if group is not None and line is not None:
                used[group] = used.get(group, 0) + allocation.quantity_milli
                units.setdefault(group, line.unit)
        splits.append(PurseSplit(purse, sum(a.amount_rial for a in allocations), used, units))
    return splits


#: outcome status -> (verdict text key, style class)
_VERDICTS = {
    "approved": ("result.approved", "-approved"),
    "approved_offline": ("result.approved_offline", "-offline"),
    "partially_approved": ("result.partially_approved", "-offline"),
    "approved_unsaved": ("result.approved_unsaved", "-offline"),
    "declined": ("result.declined", "-declined"),
    "refused_offline": ("result.refused_offline", "-declined"),
    "unknown": ("result.unknown", "-unknown"),
    "pending": ("result.unknown", "-unknown"),
    "voided": ("result.voided", "-declined"),
}


def outcome_verdict(outcome: SaleOutcome) -> tuple[str, str]:
    """The text key and style class of an outcome's headline."""
    return _VERDICTS.get(outcome.status, ("result.unknown", "-unknown"))


def outcome_reason(outcome: SaleOutcome, texts: Texts) -> str | None:
    """The reason in words, for an outcome that did not go ahead as asked."""
    if outcome.status in ("approved", "approved_offline") or not outcome.reason:
        return None
    reason = outcome.reason
    if reason.startswith("refused_offline:"):
        reason = reason.split(":", 1)[1]
    return texts.t("result.reason", reason=texts.reason(reason))
