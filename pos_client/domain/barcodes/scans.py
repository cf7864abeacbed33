"""The values a scan becomes, and the layouts of store-made variable-measure labels.

Variable-measure layout (all 13 digits of the EAN-13, left to right)::

    prefix | item code | [verifier digit] | value | EAN check digit
    "2x"     item_digits   0 or 1 digit      value_digits   1 digit

``value`` is a weight in thousandths of the product's unit (grams for a product
sold by the kilogram) or a price in Rials, each after multiplying by the
template's ``value_multiplier`` (10 for prices printed in Tomans). The
verifier digit is the GS1 price/measure verifier over a 4- or 5-digit value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal, TypeAlias

from pos_client.domain.barcodes._common import is_ascii_digits
from pos_client.domain.errors import BarcodeError
from pos_client.domain.national_id import mask_national_id


@dataclass(frozen=True, slots=True)
class NationalIdScan:
    """A national ID (10 ASCII digits, check digit verified)."""

    kind: ClassVar[Literal["national_id"]] = "national_id"
    raw: str = field(repr=False)
    symbology: str | None
    national_id: str = field(repr=False)

    @property
    def masked(self) -> str:
        """The ID fit for display and logs (``049*****99``)."""
        return mask_national_id(self.national_id)


@dataclass(frozen=True, slots=True)
class TokenScan:
    """A beneficiary token of the right shape; its signature is not checked here."""

    kind: ClassVar[Literal["token"]] = "token"
    raw: str = field(repr=False)
    symbology: str | None
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PurchaseCodeScan:
    """An 8-digit single-use purchase code (only the ledger can check it)."""

    kind: ClassVar[Literal["purchase_code"]] = "purchase_code"
    raw: str = field(repr=False)
    symbology: str | None
    code: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ProductScan:
    """A product's GTIN in catalog form; ``add_on`` is an EAN 2/5-digit add-on."""

    kind: ClassVar[Literal["product"]] = "product"
    raw: str = field(repr=False)
    symbology: str | None
    gtin: str
    add_on: str | None = None


@dataclass(frozen=True, slots=True)
class VariableMeasureTemplate:
    """Where a store-made EAN-13 keeps its item code and its value.

    ``prefixes``: the leading digits that select this template (all of one
    length, usually 2: ``"20"``..``"29"``). Then ``item_digits`` of item code,
    then a verifier digit if ``price_check_digit`` (GS1 price/measure verifier,
    only for a 4- or 5-digit value), then ``value_digits`` of value, then the
    EAN-13 check digit: the lengths add up to 13.

    ``value="weight"``: the value times ``value_multiplier`` is thousandths of
    the product's unit (grams for a kilogram product). ``value="price"``: the
    value times ``value_multiplier`` is Rials (use 10 for labels in Tomans).
    """

    prefixes: tuple[str, ...]
    item_digits: int
    value: Literal["weight", "price"]
    value_digits: int
    price_check_digit: bool = False
    value_multiplier: int = 1

    def __post_init__(self) -> None:
        if not self.prefixes or not all(is_ascii_digits(p) for p in self.prefixes):
            raise BarcodeError("invalid_template", "prefixes must be non-empty digit strings")
        if len({len(p) for p in self.prefixes}) != 1:
            raise BarcodeError("invalid_template", "all prefixes must have one length")
        if self.value not in ("weight", "price"):
            raise BarcodeError("invalid_template", "value is 'weight' or 'price'")
        if self.item_digits < 1 or self.value_digits < 1 or self.value_multiplier < 1:
            raise BarcodeError("invalid_template", "digit counts and multiplier must be positive")
        if self.price_check_digit and self.value_digits not in (4, 5):
            raise BarcodeError("invalid_template", "a verifier digit needs a 4- or 5-digit value")
        verifier = 1 if self.price_check_digit else 0
        used = self.prefix_digits + self.item_digits + verifier + self.value_digits
        if used + 1 != 13:
            raise BarcodeError("invalid_template", f"the layout covers {used + 1} digits, not 13")

    @property
    def prefix_digits(self) -> int:
        return len(self.prefixes[0])

    def matches(self, ean13: str) -> bool:
        """Whether this template is the one for the 13-digit ``ean13``."""
        return len(ean13) == 13 and ean13[: self.prefix_digits] in self.prefixes


#: Defaults: 20-24 weight labels (5-digit item code, 5-digit weight in grams,
#: up to 99.999 kg); 25-29 price labels (4-digit item code, 6-digit price in
#: Tomans, up to 9,999,990 Rials). Stores whose scales print otherwise pass
#: their own templates.
DEFAULT_TEMPLATES: Final[tuple[VariableMeasureTemplate, ...]] = (
    VariableMeasureTemplate(
        prefixes=("20", "21", "22", "23", "24"),
        item_digits=5,
        value="weight",
        value_digits=5,
    ),
    VariableMeasureTemplate(
        prefixes=("25", "26", "27", "28", "29"),
        item_digits=4,
        value="price",
        value_digits=6,
        value_multiplier=10,
    ),
)


@dataclass(frozen=True, slots=True)
class VariableMeasureScan:
    """A store-made EAN-13 label: an item code plus its weight or its price."""

    kind: ClassVar[Literal["variable_measure"]] = "variable_measure"
    raw: str = field(repr=False)
    symbology: str | None
    prefix: str
    item_code: str
    weight_milli: int | None
    price_rial: int | None
    template: VariableMeasureTemplate = field(repr=False)

    @property
    def lookup_key(self) -> str:
        """Stable key the store maps to a catalog GTIN: prefix + item code."""
        return self.prefix + self.item_code


@dataclass(frozen=True, slots=True)
class Gs1Scan:
    """A GS1 element string: GTIN (catalog form), net weight and/or price.

    ``elements`` maps every AI read to its value (``"01"`` keeps the 14 digits),
    including the ones the lane does not price by (lot, dates, origin, ...).
    """

    kind: ClassVar[Literal["gs1"]] = "gs1"
    raw: str = field(repr=False)
    symbology: str | None
    gtin: str
    net_weight_milli: int | None
    price_rial: int | None
    elements: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class UnknownScan:
    """A scan this program cannot use; ``reason`` is a stable word.

    Reasons: ``empty``, ``too_long``, ``control_characters``,
    ``invalid_characters``, ``unsupported_symbology``, ``bad_check_digit``,
    ``invalid_national_id``, ``malformed_token``, ``unknown_ai``,
    ``malformed_gs1``, ``invalid_date``, ``fractional_price``,
    ``foreign_currency``, ``zero_measure``, ``not_a_known_code``, ``not_text``.
    ``detail`` says more.
    """

    kind: ClassVar[Literal["unknown"]] = "unknown"
    raw: str = field(repr=False)
    symbology: str | None
    reason: str
    detail: str = ""


Scan: TypeAlias = (
    NationalIdScan
    | TokenScan
    | PurchaseCodeScan
    | ProductScan
    | VariableMeasureScan
    | Gs1Scan
    | UnknownScan
)
