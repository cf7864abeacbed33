"""Splitting a basket over a household's purses, and settling a requested split.

Two sides of one rule book, one module each:

- :mod:`.plan`, :func:`allocate` (the terminal): the split of the basket over
  the purses that leaves the household the least to pay (what "best" means and
  how it is found is told there; :mod:`.search` holds the search over free
  packages).
- :mod:`.settle`, :func:`settle_allocations` (the ledger, here the sandbox):
  what happens to a client's requested split against the purses as they stand,
  allocation by allocation, with the contract's refusal reasons.
- :mod:`.coverage`: which purse may pay for which line, shared by both.

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

Pure: imports only the standard library and ``pos_client.domain``.
"""

from __future__ import annotations

from .coverage import (
    CATEGORY_NOT_ALLOWED,
    CITY_MISMATCH,
    INSUFFICIENT_BALANCE,
    OVER_TRANSACTION_LIMIT,
    PURSE_EXPIRED,
    PURSE_NOT_FOUND,
    coverage_reason,
    covering_purses,
    quantity_amount,
    quantity_group,
)
from .plan import DONOR_PROGRAM, LineCoverage, allocate, line_coverage
from .search import COARSE_LIMIT, COARSE_POINTS, SEARCH_LIMIT
from .settle import AppliedAllocation, Settlement, settle_allocations

__all__ = [
    "CATEGORY_NOT_ALLOWED",
    "CITY_MISMATCH",
    "COARSE_LIMIT",
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
