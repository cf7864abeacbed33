"""The receipt of one redemption, as a frozen value the printer renders.

The service builds a :class:`Receipt` from a committed sale (after it is on
disk, so that printing can fail and be retried without touching the sale):
the shop and terminal, when it happened, each line with what each purse paid
of it, each purse's balance before and after (for a free package, the
entitlements the sale used, in items before and after), what the household paid itself,
the receipt code (also printed as a QR code), and whether it was approved
offline or made in training mode. Amounts are integer Rials; quantities
integer thousandths of the unit.

Checks on construction raise :class:`~pos_client.domain.errors.PrinterError`
(code ``receipt_invalid``): a receipt that does not add up is never printed.

A domain value: the services build it, the printer drivers
(:mod:`drivers.printer`) and the screen render it. Pure: imports only the
standard library and ``pos_client.domain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pos_client.domain.errors import PrinterError
from pos_client.domain.models import ProgramKind, Unit
from pos_client.domain.money import MoneyUnit

__all__ = [
    "Currency",
    "Receipt",
    "ReceiptEntitlement",
    "ReceiptLine",
    "ReceiptPayment",
    "ReceiptPurse",
]

#: The unit amounts are shown in (the amounts themselves are always Rials).
Currency = MoneyUnit


def _invalid(message: str) -> PrinterError:
    return PrinterError(f"receipt: {message}", code="receipt_invalid")


def _amount(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _invalid(f"{what} must be a whole number of Rials, not {value!r}")
    return value


def _quantity(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _invalid(f"{what} must be a whole number of thousandths, not {value!r}")
    return value


def _aware(value: datetime | None, what: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise _invalid(f"{what} must carry a time zone")


@dataclass(frozen=True, slots=True)
class ReceiptPayment:
    """What one purse paid towards one line (``purse`` is a :attr:`ReceiptPurse.purse_id`)."""

    purse_id: str
    amount_rial: int

    def __post_init__(self) -> None:
        _amount(self.amount_rial, "a purse's payment")


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One basket line: ``amount_rial`` is what it cost; ``paid_by`` what the purses paid.

    ``waived_rial``: the part of a free package's goods priced above the
    programme's cap, which nobody pays (neither the purse nor the household).
    """

    name: str
    quantity_milli: int
    unit_price_rial: int
    amount_rial: int
    unit: Unit = Unit.PIECE
    paid_by: tuple[ReceiptPayment, ...] = ()
    waived_rial: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.quantity_milli, int) or self.quantity_milli <= 0:
            raise _invalid(f"a line's quantity must be positive, not {self.quantity_milli!r}")
        _amount(self.unit_price_rial, "a unit price")
        _amount(self.amount_rial, "a line's amount")
        _amount(self.waived_rial, "a waived amount")
        if self.covered_rial + self.waived_rial > self.amount_rial:
            raise _invalid(f"the purses pay more than the line {self.name!r} costs")

    @property
    def covered_rial(self) -> int:
        return sum(p.amount_rial for p in self.paid_by)

    @property
    def household_rial(self) -> int:
        """What the household pays itself for this line."""
        return self.amount_rial - self.covered_rial - self.waived_rial


@dataclass(frozen=True, slots=True)
class ReceiptEntitlement:
    """One entitlement group of a free package that the sale used: what it held before and after.

    Quantities are integer thousandths of ``unit`` (the unit of the products
    that used it): 3 pieces = 3000. ``label`` is the group's name to print
    (Persian); ``group`` its id.
    """

    group: str
    label: str
    before_milli: int
    after_milli: int
    unit: Unit = Unit.PIECE

    def __post_init__(self) -> None:
        _quantity(self.before_milli, "an entitlement")
        _quantity(self.after_milli, "an entitlement")

    @property
    def used_milli(self) -> int:
        """What the sale took of it."""
        return max(0, self.before_milli - self.after_milli)


@dataclass(frozen=True, slots=True)
class ReceiptPurse:
    """A purse touched by the sale: its balance before and after, and when it expires.

    A free package (``kind`` quantity) has no balance in Rials: its
    ``entitlements`` say what the sale used of it, in items.
    """

    purse_id: str
    label: str
    balance_before_rial: int
    balance_after_rial: int
    expires_at: datetime | None = None
    kind: ProgramKind = ProgramKind.AMOUNT
    entitlements: tuple[ReceiptEntitlement, ...] = ()

    def __post_init__(self) -> None:
        _amount(self.balance_before_rial, "a balance")
        _amount(self.balance_after_rial, "a balance")
        _aware(self.expires_at, "an expiry")

    @property
    def is_package(self) -> bool:
        """A free package, counted in items rather than Rials."""
        return self.kind is ProgramKind.QUANTITY


@dataclass(frozen=True, slots=True)
class Receipt:
    """Everything printed on one receipt."""

    shop_name: str
    terminal_id: str
    issued_at: datetime  # aware; printed as a Jalali date and time in Asia/Tehran
    receipt_code: str  # printed as text and as a QR code
    lines: tuple[ReceiptLine, ...]
    purses: tuple[ReceiptPurse, ...] = ()
    offline: bool = False  # approved offline, waiting to be sent
    training: bool = False
    beneficiary: str = ""  # masked: never a full national ID
    currency: Currency = "rial"
    footer: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())  # more label/value rows

    def __post_init__(self) -> None:
        _aware(self.issued_at, "the receipt's time")
        if not self.receipt_code or not self.receipt_code.isprintable():
            raise _invalid("the receipt code must be printable text")
        if self.currency not in ("rial", "toman"):
            raise _invalid(f"the currency must be rial or toman, not {self.currency!r}")
        known = {p.purse_id for p in self.purses}
        for line in self.lines:
            for payment in line.paid_by:
                if payment.purse_id not in known:
                    raise _invalid(f"a line is paid by the unknown purse {payment.purse_id!r}")

    @property
    def total_rial(self) -> int:
        return sum(line.amount_rial for line in self.lines)

    @property
    def covered_rial(self) -> int:
        """What the purses paid."""
        return sum(line.covered_rial for line in self.lines)

    @property
    def waived_rial(self) -> int:
        """Free-package goods priced above their cap: nobody pays it."""
        return sum(line.waived_rial for line in self.lines)

    @property
    def household_rial(self) -> int:
        """What the household paid itself, by other means."""
        return self.total_rial - self.covered_rial - self.waived_rial

    def paid_by_purse(self, purse_id: str) -> int:
        return sum(
            p.amount_rial for line in self.lines for p in line.paid_by if p.purse_id == purse_id
        )

    @property
    def earliest_expiry(self) -> datetime | None:
        """The soonest expiry among purses with credit left (else among all)."""
        left = [p.expires_at for p in self.purses if p.expires_at and p.balance_after_rial > 0]
        every = [p.expires_at for p in self.purses if p.expires_at]
        dates = left or every
        return min(dates) if dates else None
