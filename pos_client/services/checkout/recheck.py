"""An open basket checked again against the catalog held now (after a catalog refresh).

A line is resolved to its catalog product when it is scanned; a catalog
delta may remove that product from the approved list, or change its
category, groups, unit or price cap, while the basket is still open. Before
anything is planned or sent on the old facts, each line's product is read
again: the line keeps its quantity and price and takes the catalog's facts
of now (a product no longer approved is paid by the household), and each
line whose coverage may have changed is named (:class:`LineChange`), for
the cashier to be told. A name that changed alone is taken silently.

Imports the standard library, the domain, the project's errors and the checkout's values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from pos_client.domain.models import BasketLine, Product
from pos_client.domain.text import safe_text
from pos_client.errors import CheckoutRefused
from pos_client.services.checkout.values import basket_line

__all__ = ["LineChange", "LineChangeKind", "catalog_changed", "recheck_lines"]


class LineChangeKind(StrEnum):
    LEFT_CATALOG = "left_catalog"  # no longer an approved product: the household pays it
    JOINED_CATALOG = "joined_catalog"  # now an approved product
    CHANGED = "changed"  # its category, groups, unit or price cap changed


@dataclass(frozen=True, slots=True)
class LineChange:
    """Line ``index`` of the basket (its GTIN and name as the cashier saw it) and what changed."""

    index: int
    gtin: str
    name: str
    kind: LineChangeKind


def _coverage(line: BasketLine) -> tuple[object, ...]:
    return (line.category, line.groups, line.max_unit_price_rial, line.unit)


def recheck_lines(
    lines: Sequence[BasketLine],
    in_catalog: Sequence[bool],
    product: Callable[[str], Product | None],
) -> tuple[list[BasketLine], list[bool], tuple[LineChange, ...]]:
    """``lines`` with the catalog's facts of now (``product`` reads one); what changed."""
    new_lines: list[BasketLine] = []
    new_in_catalog: list[bool] = []
    changes: list[LineChange] = []
    for index, (line, was_in) in enumerate(zip(lines, in_catalog, strict=True)):
        found = product(line.gtin)
        if found is None:  # it keeps its unit and name: only the credit no longer pays it
            fresh = replace(line, category=None, groups=(), max_unit_price_rial=None)
        else:
            fresh = basket_line(line.gtin, line.quantity_milli, line.unit_price_rial, found)
        is_in = found is not None
        kind: LineChangeKind | None = None
        if was_in and not is_in:
            kind = LineChangeKind.LEFT_CATALOG
        elif is_in and not was_in:
            kind = LineChangeKind.JOINED_CATALOG
        elif _coverage(fresh) != _coverage(line):
            kind = LineChangeKind.CHANGED
        if kind is not None:
            name = safe_text(line.name or fresh.name) or line.gtin
            changes.append(LineChange(index, line.gtin, name, kind))
        new_lines.append(fresh)
        new_in_catalog.append(is_in)
    return new_lines, new_in_catalog, tuple(changes)


def catalog_changed(changes: Sequence[LineChange]) -> CheckoutRefused:
    """The refusal of a confirm that found the basket's catalog facts changed (re-planned now)."""
    names = ", ".join(f"{c.name} ({c.kind.value})" for c in changes)
    return CheckoutRefused(
        f"the catalog changed while the basket was open ({names}): the basket was"
        " planned again; check it and confirm again",
        code="catalog_changed",
    )
