"""The life of one redemption, as data: its states and the changes allowed between them.

::

    from                 may go to
    draft                pending
    pending              approved, partially_approved, approved_offline, declined,
                         unknown_outcome
    unknown_outcome      approved, partially_approved, approved_offline, declined, pending
    approved_offline     approved, partially_approved, declined
    approved             voided
    partially_approved   voided
    declined, voided     nothing (final)

- ``draft``: a basket being built; nothing is written yet.
- ``pending``: written to disk and being sent (or about to be).
- ``unknown_outcome``: sent, but no final answer came (timeout, dropped
  connection, 5xx); resolved later by id, never guessed. A ``404`` on lookup
  means the ledger never got it, so it goes back to ``pending`` and is sent
  again under the same id; an offline approval within limits makes it
  ``approved_offline``.
- ``approved_offline``: approved by the terminal within its offline limits,
  queued for forwarding; the ledger's answer then makes it ``approved``,
  ``partially_approved`` or ``declined`` (the latter two show up as problems).
- ``approved`` / ``partially_approved``: the ledger's books hold it; either may
  be voided.
- ``declined`` and ``voided`` are final.

Why ``partially_approved → voided`` is allowed: the ledger's settlement counts
"approved and partially approved redemptions not voided", so it knows voided
partial approvals; whether one can be voided is the ledger's call (``409
not_voidable`` otherwise), and the terminal must be able to record a void the
ledger accepted. ``approved_offline`` cannot be voided directly: a void goes
through the ledger, so the sale is forwarded first.

Pure: imports only the standard library and the domain's errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from pos_client.domain.errors import TransitionError

__all__ = [
    "ALLOWED_TRANSITIONS",
    "RedemptionStatus",
    "SaleStatus",
    "VoidStatus",
    "can_void",
    "is_final",
    "lets_sale_go_ahead",
    "needs_forwarding",
    "sale_status",
    "transition",
]


class RedemptionStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    APPROVED_OFFLINE = "approved_offline"
    PARTIALLY_APPROVED = "partially_approved"
    DECLINED = "declined"
    VOIDED = "voided"
    UNKNOWN_OUTCOME = "unknown_outcome"


class SaleStatus(StrEnum):
    """What a cashier, a receipt or ``redeem --json`` is told about a sale.

    The words are those of the ``redeem --json`` output (README). They differ
    from :class:`RedemptionStatus` (the journal's states) where the cashier's
    view is not the journal's: ``unknown`` (``unknown_outcome`` in the journal),
    ``refused_offline`` (a decline the terminal made itself: the ledger could not
    be asked), ``approved_unsaved`` (the ledger approved it but this lane could
    not write that down yet: the sale goes ahead and must not be done again).
    """

    APPROVED = "approved"
    APPROVED_OFFLINE = "approved_offline"
    PARTIALLY_APPROVED = "partially_approved"
    APPROVED_UNSAVED = "approved_unsaved"
    DECLINED = "declined"
    REFUSED_OFFLINE = "refused_offline"
    UNKNOWN = "unknown"
    VOIDED = "voided"
    PENDING = "pending"

    @property
    def goes_ahead(self) -> bool:
        """Whether the goods may leave with the household."""
        return self in _SALE_GOES_AHEAD

    @property
    def ledger_answered(self) -> bool:
        """Whether the ledger itself gave this outcome (not the terminal on its own)."""
        return self not in _SALE_NOT_FROM_LEDGER


_SALE_GOES_AHEAD = frozenset(
    {
        SaleStatus.APPROVED,
        SaleStatus.APPROVED_OFFLINE,
        SaleStatus.PARTIALLY_APPROVED,
        SaleStatus.APPROVED_UNSAVED,
    }
)
_SALE_NOT_FROM_LEDGER = frozenset(
    {SaleStatus.APPROVED_OFFLINE, SaleStatus.REFUSED_OFFLINE, SaleStatus.UNKNOWN}
)


class VoidStatus(StrEnum):
    """What came of asking the ledger to void a sale."""

    VOIDED = "voided"
    PENDING = "pending"  # the ledger cannot be reached: the outbox voids it later
    REFUSED = "refused"


_S = RedemptionStatus

_SALE_STATUS: Mapping[RedemptionStatus, SaleStatus] = MappingProxyType(
    {
        _S.APPROVED: SaleStatus.APPROVED,
        _S.PARTIALLY_APPROVED: SaleStatus.PARTIALLY_APPROVED,
        _S.APPROVED_OFFLINE: SaleStatus.APPROVED_OFFLINE,
        _S.DECLINED: SaleStatus.DECLINED,
        _S.VOIDED: SaleStatus.VOIDED,
        _S.UNKNOWN_OUTCOME: SaleStatus.UNKNOWN,
        _S.PENDING: SaleStatus.PENDING,
        _S.DRAFT: SaleStatus.PENDING,
    }
)

#: The journal's ``reason`` prefix of a sale the terminal refused itself (the ledger was away).
REFUSED_OFFLINE_PREFIX = "refused_offline"


def sale_status(status: RedemptionStatus, reason: str | None = None) -> SaleStatus:
    """What the cashier is told about a redemption the journal holds in ``status``.

    The one mapping from the journal's states to the cashier's words: a decline
    the terminal made itself (``reason`` ``refused_offline:...``) is told as
    ``refused_offline``.
    """
    status = _status(status)
    if status is _S.DECLINED and (reason or "").startswith(REFUSED_OFFLINE_PREFIX):
        return SaleStatus.REFUSED_OFFLINE
    return _SALE_STATUS[status]


ALLOWED_TRANSITIONS: Mapping[RedemptionStatus, frozenset[RedemptionStatus]] = MappingProxyType(
    {
        _S.DRAFT: frozenset({_S.PENDING}),
        _S.PENDING: frozenset(
            {
                _S.APPROVED,
                _S.DECLINED,
                _S.UNKNOWN_OUTCOME,
                _S.APPROVED_OFFLINE,
                _S.PARTIALLY_APPROVED,
            }
        ),
        _S.UNKNOWN_OUTCOME: frozenset(
            {
                _S.APPROVED,
                _S.DECLINED,
                _S.PARTIALLY_APPROVED,
                _S.APPROVED_OFFLINE,
                _S.PENDING,  # the ledger never got it (404): send again, same id
            }
        ),
        _S.APPROVED_OFFLINE: frozenset({_S.APPROVED, _S.PARTIALLY_APPROVED, _S.DECLINED}),
        _S.APPROVED: frozenset({_S.VOIDED}),
        _S.PARTIALLY_APPROVED: frozenset({_S.VOIDED}),
        _S.DECLINED: frozenset(),
        _S.VOIDED: frozenset(),
    }
)

_GOES_AHEAD = frozenset({_S.APPROVED, _S.APPROVED_OFFLINE, _S.PARTIALLY_APPROVED})
_TO_FORWARD = frozenset({_S.PENDING, _S.UNKNOWN_OUTCOME, _S.APPROVED_OFFLINE})
_VOIDABLE = frozenset({_S.APPROVED, _S.PARTIALLY_APPROVED})


def _status(value: RedemptionStatus | str) -> RedemptionStatus:
    try:
        return RedemptionStatus(value)
    except ValueError:
        raise TransitionError(f"unknown redemption status {value!r}") from None


def transition(current: RedemptionStatus | str, new: RedemptionStatus | str) -> RedemptionStatus:
    """``new`` if a redemption may go from ``current`` to it; else :class:`TransitionError`.

    Staying in the same state is not a transition and is refused too. Plain
    strings (as stored) are accepted; an unknown one is a ``TransitionError``.
    """
    source, target = _status(current), _status(new)
    if target not in ALLOWED_TRANSITIONS[source]:
        raise TransitionError(f"a redemption cannot go from {source} to {target}")
    return target


def is_final(status: RedemptionStatus) -> bool:
    """Whether nothing can happen to a redemption in ``status`` any more."""
    return not ALLOWED_TRANSITIONS[_status(status)]


def lets_sale_go_ahead(status: RedemptionStatus) -> bool:
    """Whether the goods may leave with the household (a receipt is printed)."""
    return _status(status) in _GOES_AHEAD


def needs_forwarding(status: RedemptionStatus) -> bool:
    """Whether the outbox still owes the ledger this redemption (send or resolve it)."""
    return _status(status) in _TO_FORWARD


def can_void(status: RedemptionStatus) -> bool:
    """Whether a void may be asked of the ledger for a redemption in ``status``."""
    return _status(status) in _VOIDABLE
