"""Classifying what a scanner (or a cashier's keyboard) sends into one kind of scan.

A scan is a line of text, possibly led by an AIM symbology identifier (``]``,
a code letter, a modifier: ``]E0`` EAN-13/UPC-A, ``]C1`` GS1-128, ``]Q3`` GS1
QR, ...). :func:`classify_scan` turns it into one frozen value:

- :class:`NationalIdScan`: a national ID with a valid check digit;
- :class:`TokenScan`: a beneficiary token of the shape ``KB1.<b64url>.<b64url>``
  (its signature is checked elsewhere);
- :class:`PurchaseCodeScan`: an 8-digit single-use purchase code;
- :class:`ProductScan`: a GTIN-8/12/13/14 with a valid check digit, in the
  catalog's form (see :func:`catalog_gtin`);
- :class:`VariableMeasureScan`: a store-made EAN-13 (GS1 prefixes 20-29) with
  an item code and a weight or a price, laid out per :class:`VariableMeasureTemplate`;
- :class:`Gs1Scan`: a GS1 element string (GTIN plus net weight and/or price);
- :class:`UnknownScan`: anything else, with a stable ``reason``.

Ambiguity is settled by what the screen expects (``expect``): 8 digits are a
purchase code while identifying a household and an EAN-8 while scanning
products; 10 digits with a valid check digit are a national ID unless products
are expected. Nothing a scanner can send makes :func:`classify_scan` raise.

Variable-measure layout (all 13 digits of the EAN-13, left to right)::

    prefix | item code | [verifier digit] | value | EAN check digit
    "2x"     item_digits   0 or 1 digit      value_digits   1 digit

``value`` is a weight in thousandths of the product's unit (grams for a product
sold by the kilogram) or a price in Rials, each after multiplying by the
template's ``value_multiplier`` (10 for prices printed in Tomans). The
verifier digit is the GS1 price/measure verifier over a 4- or 5-digit value.

This module is pure: it imports only the standard library and
``pos_client.domain`` (errors, money, national_id).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Final, Literal, TypeAlias

from pos_client.domain.errors import BarcodeError, InvalidNationalId
from pos_client.domain.money import round_half_up_div
from pos_client.domain.national_id import (
    mask_national_id,
    normalize_national_id,
    remove_separators,
    strip_format_marks,
    to_ascii_digits,
)

__all__ = [
    "AIM_SYMBOLOGIES",
    "DEFAULT_TEMPLATES",
    "GS",
    "GS1_SYMBOLOGIES",
    "MAX_SCAN_CHARS",
    "Expect",
    "Gs1Scan",
    "NationalIdScan",
    "ProductScan",
    "PurchaseCodeScan",
    "Scan",
    "TokenScan",
    "UnknownScan",
    "VariableMeasureScan",
    "VariableMeasureTemplate",
    "catalog_gtin",
    "classify_scan",
    "gtin_check_digit",
    "is_valid_gtin",
    "parse_aim",
    "parse_gs1",
    "price_verifier_digit",
]

#: Longest scan accepted; longer text is ``UnknownScan("too_long")``.
MAX_SCAN_CHARS: Final = 4096

#: The group separator that stands for FNC1 inside a GS1 element string.
GS: Final = "\x1d"

Expect: TypeAlias = Literal["any", "identify", "product"]
_EXPECTS: Final = frozenset({"any", "identify", "product"})

#: AIM symbology code letters (ISO/IEC 15424) this module knows by name.
AIM_SYMBOLOGIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "A": "Code 39",
        "C": "Code 128",
        "d": "Data Matrix",
        "E": "EAN/UPC",
        "e": "GS1 DataBar",
        "F": "Codabar",
        "G": "Code 93",
        "H": "Code 11",
        "I": "ITF",
        "J": "DotCode",
        "L": "PDF417",
        "M": "MSI",
        "Q": "QR Code",
        "X": "other",
        "z": "Aztec",
    }
)

#: AIM identifiers whose data is a GS1 element string (FNC1 in first position):
#: GS1-128, GS1 DataMatrix, GS1 QR, GS1 DataBar, GS1 DotCode, GS1 Aztec.
GS1_SYMBOLOGIES: Final = frozenset({"]C1", "]d2", "]Q3", "]e0", "]J1", "]z1"})

_TOKEN_RE: Final = re.compile(r"KB1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ASCII_DIGITS: Final = frozenset("0123456789")


def _is_ascii_digits(text: str) -> bool:
    return bool(text) and all(c in _ASCII_DIGITS for c in text)


# ---- scans --------------------------------------------------------------------------


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
        if not self.prefixes or not all(_is_ascii_digits(p) for p in self.prefixes):
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

    ``elements`` maps every AI read to its value (``"01"`` keeps the 14 digits).
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
    ``malformed_gs1``, ``fractional_price``, ``foreign_currency``,
    ``zero_measure``, ``not_a_known_code``, ``not_text``. ``detail`` says more.
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


class _Refusal(BarcodeError):
    """Internal: why a scan is unknown; becomes an :class:`UnknownScan`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail or reason)
        self.detail = detail


# ---- check digits and GTINs ---------------------------------------------------------


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (a GTIN without its last digit).

    Weights 3 and 1 alternate from the right. Raises :class:`BarcodeError`
    (``not_digits``) unless ``body`` is 1 to 17 ASCII digits.
    """
    if not _is_ascii_digits(body) or len(body) > 17:
        raise BarcodeError("not_digits", "a GTIN body is 1 to 17 ASCII digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """Whether ``code`` is 8, 12, 13 or 14 ASCII digits with a right check digit."""
    if not isinstance(code, str) or len(code) not in (8, 12, 13, 14):
        return False
    if not _is_ascii_digits(code):
        return False
    return gtin_check_digit(code[:-1]) == int(code[-1])


def catalog_gtin(code: str) -> str:
    """The catalog form of a valid GTIN.

    EAN-8 stays 8 digits; UPC-A (12) gets a leading 0 (13); EAN-13 stays; a
    GTIN-14 with a leading 0 drops it (13), other GTIN-14s stay 14. Any form
    that is a zero-padded GTIN-8 (``000000`` + 8 digits as a GTIN-14, a range
    GS1 keeps free for this) becomes the 8 digits. Raises :class:`BarcodeError`
    (``bad_check_digit`` or ``not_a_gtin``).
    """
    if not isinstance(code, str) or len(code) not in (8, 12, 13, 14):
        raise BarcodeError("not_a_gtin", "a GTIN has 8, 12, 13 or 14 digits")
    if not _is_ascii_digits(code):
        raise BarcodeError("not_a_gtin", "a GTIN holds only ASCII digits")
    if gtin_check_digit(code[:-1]) != int(code[-1]):
        raise BarcodeError("bad_check_digit", "the GTIN's check digit is wrong")
    gtin14 = code.rjust(14, "0")
    if gtin14.startswith("000000"):
        return gtin14[6:]
    if gtin14.startswith("0"):
        return gtin14[1:]
    return gtin14


def _upc_e_to_upc_a(code: str) -> str:
    """Expand an 8-digit UPC-E (number system 0 or 1) to its 12-digit UPC-A."""
    ns, d, check = code[0], code[1:7], code[7]
    if ns not in "01":
        raise _Refusal("not_a_known_code", "UPC-E number system must be 0 or 1")
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


# GS1 price/measure verifier digit weighting (GS1 General Specifications 7.9.3).
def _w2minus(d: int) -> int:
    return (2 * d - (2 * d) // 10) % 10


def _w3(d: int) -> int:
    return (3 * d) % 10


def _w5plus(d: int) -> int:
    return (5 * d + (5 * d) // 10) % 10


def _w5minus(d: int) -> int:
    return (5 * d - (5 * d) // 10) % 10


_INVERSE_5MINUS: Final = {_w5minus(d): d for d in range(10)}


def price_verifier_digit(value: str) -> int:
    """The GS1 verifier digit over a 4- or 5-digit price or measure."""
    if not _is_ascii_digits(value) or len(value) not in (4, 5):
        raise BarcodeError("not_digits", "a verifier digit covers 4 or 5 ASCII digits")
    d = [int(c) for c in value]
    if len(d) == 4:
        total = _w2minus(d[0]) + _w2minus(d[1]) + _w3(d[2]) + _w5minus(d[3])
        return (total * 3) % 10
    total = _w5plus(d[0]) + _w2minus(d[1]) + _w5minus(d[2]) + _w5plus(d[3]) + _w2minus(d[4])
    return _INVERSE_5MINUS[(10 - total % 10) % 10]


# ---- AIM ----------------------------------------------------------------------------


def parse_aim(text: str) -> tuple[str | None, str]:
    """Split an AIM symbology identifier off ``text``: ``("]E0", "629...")``.

    An identifier is ``]``, an ASCII letter and an ASCII letter or digit.
    Without one, returns ``(None, text)``.
    """
    if (
        len(text) >= 3
        and text[0] == "]"
        and text[1].isascii()
        and text[1].isalpha()
        and text[2].isascii()
        and text[2].isalnum()
    ):
        return text[:3], text[3:]
    return None, text


# ---- GS1 element strings ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ai:
    min_len: int
    max_len: int
    predefined: bool  # predefined length: no FNC1 follows it
    numeric: bool = True


def _ai_table() -> dict[str, _Ai]:
    table: dict[str, _Ai] = {
        "00": _Ai(18, 18, True),
        "01": _Ai(14, 14, True),
        "02": _Ai(14, 14, True),
        "10": _Ai(1, 20, False, numeric=False),
        "20": _Ai(2, 2, True),
        "21": _Ai(1, 20, False, numeric=False),
        "22": _Ai(1, 20, False, numeric=False),
        "240": _Ai(1, 30, False, numeric=False),
        "241": _Ai(1, 30, False, numeric=False),
        "250": _Ai(1, 30, False, numeric=False),
        "251": _Ai(1, 30, False, numeric=False),
        "254": _Ai(1, 20, False, numeric=False),
        "30": _Ai(1, 8, False),
        "37": _Ai(1, 8, False),
        "400": _Ai(1, 30, False, numeric=False),
        "401": _Ai(1, 30, False, numeric=False),
        "402": _Ai(17, 17, False),
        "403": _Ai(1, 30, False, numeric=False),
        "420": _Ai(1, 20, False, numeric=False),
        "421": _Ai(4, 12, False, numeric=False),
        "422": _Ai(3, 3, False),
        "423": _Ai(3, 15, False),
        "424": _Ai(3, 3, False),
        "425": _Ai(3, 15, False),
        "426": _Ai(3, 3, False),
        "7003": _Ai(10, 10, False),
        "8005": _Ai(6, 6, False),
        "8008": _Ai(8, 12, False),
        "8020": _Ai(1, 25, False, numeric=False),
        "90": _Ai(1, 30, False, numeric=False),
    }
    for date_ai in ("11", "12", "13", "15", "16", "17"):
        table[date_ai] = _Ai(6, 6, True)
    for ai in range(410, 418):
        table[str(ai)] = _Ai(13, 13, True)
    # Trade measures 31xn-36xn: 6 digits with n decimals.
    for head in range(310, 370):
        for n in range(7):
            table[f"{head}{n}"] = _Ai(6, 6, True)
    for n in range(10):
        table[f"390{n}"] = _Ai(1, 15, False)
        table[f"391{n}"] = _Ai(4, 18, False)
        table[f"392{n}"] = _Ai(1, 15, False)
        table[f"393{n}"] = _Ai(4, 18, False)
    for n in range(5):
        table[f"394{n}"] = _Ai(4, 4, False)
    for n in range(7):
        table[f"395{n}"] = _Ai(6, 6, False)
    for company in range(91, 100):
        table[str(company)] = _Ai(1, 90, False, numeric=False)
    return table


_AIS: Final = _ai_table()
# GS1 character set 82, allowed in alphanumeric AI values.
_CSET82: Final = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_HRI_RE: Final = re.compile(r"\s*\(([0-9]{2,4})\)([^()\x1d]*)")


def _check_value(ai: str, value: str) -> None:
    spec = _AIS[ai]
    if not spec.min_len <= len(value) <= spec.max_len:
        raise _Refusal("malformed_gs1", f"AI ({ai}) value has the wrong length")
    if spec.numeric and not _is_ascii_digits(value):
        raise _Refusal("malformed_gs1", f"AI ({ai}) takes digits only")
    if not all(c in _CSET82 for c in value):
        raise _Refusal("malformed_gs1", f"AI ({ai}) value has characters GS1 does not allow")


def _read_ai(data: str, pos: int) -> str:
    for length in (2, 3, 4):
        candidate = data[pos : pos + length]
        if len(candidate) == length and candidate in _AIS:
            return candidate
    head = data[pos : pos + 4]
    if len(head) >= 2 and _is_ascii_digits(head[:2]):
        raise _Refusal("unknown_ai", f"unknown application identifier at {head!r}")
    raise _Refusal("malformed_gs1", "expected an application identifier")


def _parse_element_string(data: str) -> list[tuple[str, str]]:
    pos = 1 if data.startswith(GS) else 0  # a leading FNC1
    if pos >= len(data):
        raise _Refusal("malformed_gs1", "no element")
    out: list[tuple[str, str]] = []
    while pos < len(data):
        ai = _read_ai(data, pos)
        pos += len(ai)
        spec = _AIS[ai]
        if spec.predefined:
            value = data[pos : pos + spec.max_len]
            pos += len(value)
            if pos < len(data) and data[pos] == GS:  # a needless FNC1 is tolerated
                pos += 1
        else:
            end = data.find(GS, pos)
            value = data[pos:] if end < 0 else data[pos:end]
            pos = len(data) if end < 0 else end + 1
        _check_value(ai, value)
        out.append((ai, value))
    return out


def _parse_parenthesised(data: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = data.rstrip()
    while pos < len(text):
        match = _HRI_RE.match(text, pos)
        if match is None:
            raise _Refusal("malformed_gs1", "expected '(AI)value'")
        ai, value = match.group(1), match.group(2).strip()
        if ai not in _AIS:
            raise _Refusal("unknown_ai", f"unknown application identifier ({ai})")
        _check_value(ai, value)
        out.append((ai, value))
        pos = match.end()
    if not out:
        raise _Refusal("malformed_gs1", "no element")
    return out


def parse_gs1(data: str) -> dict[str, str]:
    """Read a GS1 element string (FNC1 as GS) or its ``(AI)value`` form.

    Returns AI → value. Raises :class:`BarcodeError` with reason
    ``unknown_ai`` or ``malformed_gs1`` (also for an AI given twice with
    different values).
    """
    text = data.strip(" ")
    pairs = _parse_parenthesised(text) if text.startswith("(") else _parse_element_string(text)
    elements: dict[str, str] = {}
    for ai, value in pairs:
        if elements.setdefault(ai, value) != value:
            raise _Refusal("malformed_gs1", f"AI ({ai}) given twice")
    return elements


def _one_of(elements: Mapping[str, str], head: str) -> tuple[int, str] | None:
    """The single ``head``+n element as ``(n, value)``, or ``None``."""
    found = [(int(ai[-1]), v) for ai, v in elements.items() if len(ai) == 4 and ai[:3] == head]
    if len(found) > 1:
        raise _Refusal("malformed_gs1", f"more than one ({head}n) element")
    return found[0] if found else None


def _gs1_scan(raw: str, symbology: str | None, data: str) -> Gs1Scan:
    elements = parse_gs1(data)
    gtin14 = elements.get("01")
    if gtin14 is None:
        raise _Refusal("malformed_gs1", "no GTIN (01)")
    if not is_valid_gtin(gtin14):
        raise _Refusal("bad_check_digit", "the GTIN (01) check digit is wrong")
    weight_milli: int | None = None
    weight = _one_of(elements, "310")
    if weight is not None:
        n, value = weight
        grams_numerator = int(value) * 1000
        weight_milli = round_half_up_div(grams_numerator, 10**n)
        if weight_milli == 0:
            raise _Refusal("zero_measure", "net weight (310n) is zero")
    price_rial: int | None = None
    price = _one_of(elements, "392")
    priced_abroad = _one_of(elements, "393")
    if price is not None and priced_abroad is not None:
        raise _Refusal("malformed_gs1", "both (392n) and (393n)")
    if priced_abroad is not None:
        n, value = priced_abroad
        if value[:3] != "364":
            raise _Refusal("foreign_currency", f"price in currency {value[:3]}, not Rials (364)")
        price = (n, value[3:])
    if price is not None:
        n, value = price
        amount, fraction = divmod(int(value), 10**n)
        if fraction:
            raise _Refusal("fractional_price", "a price must be whole Rials")
        price_rial = amount
    return Gs1Scan(
        raw=raw,
        symbology=symbology,
        gtin=catalog_gtin(gtin14),
        net_weight_milli=weight_milli,
        price_rial=price_rial,
        elements=MappingProxyType(elements),
    )


# ---- classification -----------------------------------------------------------------


def _strip_terminator(text: str) -> str:
    for end in ("\r\n", "\n", "\r"):
        if text.endswith(end):
            return text[: -len(end)]
    return text


def _check_characters(payload: str) -> None:
    for ch in payload:
        category = unicodedata.category(ch)
        if category == "Cc" and ch != GS:
            raise _Refusal("control_characters", f"control character U+{ord(ch):04X}")
        if category == "Cs":
            raise _Refusal("invalid_characters", "a lone surrogate is not text")


def _variable_measure(
    raw: str, symbology: str | None, ean13: str, template: VariableMeasureTemplate
) -> VariableMeasureScan:
    pos = template.prefix_digits
    prefix = ean13[:pos]
    item_code = ean13[pos : pos + template.item_digits]
    pos += template.item_digits
    verifier: str | None = None
    if template.price_check_digit:
        verifier = ean13[pos]
        pos += 1
    value_text = ean13[pos : pos + template.value_digits]
    if verifier is not None and price_verifier_digit(value_text) != int(verifier):
        raise _Refusal("bad_check_digit", "the label's price/measure verifier digit is wrong")
    value = int(value_text) * template.value_multiplier
    if value == 0:
        raise _Refusal("zero_measure", "the label's weight or price is zero")
    return VariableMeasureScan(
        raw=raw,
        symbology=symbology,
        prefix=prefix,
        item_code=item_code,
        weight_milli=value if template.value == "weight" else None,
        price_rial=value if template.value == "price" else None,
        template=template,
    )


def _product(
    raw: str,
    symbology: str | None,
    code: str,
    templates: Sequence[VariableMeasureTemplate],
    *,
    add_on: str | None = None,
) -> ProductScan | VariableMeasureScan:
    if not is_valid_gtin(code):
        raise _Refusal("bad_check_digit", "the GTIN's check digit is wrong")
    gtin = catalog_gtin(code)
    if add_on is None:
        for template in templates:
            if template.matches(gtin):
                return _variable_measure(raw, symbology, gtin, template)
    return ProductScan(raw=raw, symbology=symbology, gtin=gtin, add_on=add_on)


def _national_id(raw: str, symbology: str | None, text: str) -> NationalIdScan:
    try:
        national_id = normalize_national_id(text)
    except InvalidNationalId as exc:
        if exc.reason == "check_digit":
            raise _Refusal("bad_check_digit", "the national ID's check digit is wrong") from None
        if exc.reason in ("repeated_digits", "zero_serial"):
            raise _Refusal("invalid_national_id", exc.reason) from None
        raise _Refusal("not_a_known_code", exc.reason) from None
    return NationalIdScan(raw=raw, symbology=symbology, national_id=national_id)


def _classify_ean(
    raw: str,
    symbology: str,
    text: str,
    expect: Expect,
    templates: Sequence[VariableMeasureTemplate],
) -> Scan:
    digits = to_ascii_digits(text)
    if digits is None:
        raise _Refusal("not_a_known_code", "EAN/UPC data is digits only")
    n = len(digits)
    if symbology == "]E4" and n == 8:
        if expect == "identify":
            return PurchaseCodeScan(raw=raw, symbology=symbology, code=digits)
        return _product(raw, symbology, digits, templates)
    if symbology == "]E0":
        if n in (12, 13):
            return _product(raw, symbology, digits, templates)
        if n == 8:  # UPC-E
            return _product(raw, symbology, _upc_e_to_upc_a(digits), templates)
    if symbology == "]E3" and n in (14, 15, 17, 18):
        main_len = 13 if n in (15, 18) else 12
        return _product(raw, symbology, digits[:main_len], templates, add_on=digits[main_len:])
    if symbology in ("]E1", "]E2"):
        raise _Refusal("unsupported_symbology", "an EAN add-on alone names no product")
    raise _Refusal("not_a_known_code", f"{n} digits under {symbology}")


def _looks_like_gs1(symbology: str | None, payload: str, text: str) -> bool:
    if symbology in GS1_SYMBOLOGIES or text.startswith("("):
        return True
    if symbology is not None and symbology[1] == "E":
        return False
    if GS in payload:
        return True
    # Scanners set to send no AIM identifier pass GS1-128 on as bare digits.
    return (
        symbology is None
        and len(text) > 16
        and text.startswith("01")
        and _is_ascii_digits(text[:16])
    )


def _classify(
    raw: str,
    symbology: str | None,
    payload: str,
    expect: Expect,
    templates: Sequence[VariableMeasureTemplate],
) -> Scan:
    _check_characters(payload)
    text = strip_format_marks(payload).strip()
    if not text:
        raise _Refusal("empty", "nothing was scanned")
    if symbology is not None and symbology[1] not in AIM_SYMBOLOGIES:
        raise _Refusal("unsupported_symbology", f"unknown symbology {symbology}")
    if text.startswith("KB1."):
        if _TOKEN_RE.fullmatch(text) is None:
            raise _Refusal("malformed_token", "a token is KB1.<payload>.<signature>")
        return TokenScan(raw=raw, symbology=symbology, token=text)
    if _looks_like_gs1(symbology, payload, text):
        return _gs1_scan(raw, symbology, text)
    if symbology is not None and symbology[1] == "E":
        return _classify_ean(raw, symbology, text, expect, templates)
    digits = to_ascii_digits(text)
    if digits is None and symbology is None:
        # Typed digits in groups: "049-937-0899", "1234 5678".
        digits = to_ascii_digits(remove_separators(text))
    if digits is None:
        raise _Refusal("not_a_known_code", "not a code this program knows")
    n = len(digits)
    if n == 8:
        if expect == "product":
            return _product(raw, symbology, digits, templates)
        return PurchaseCodeScan(raw=raw, symbology=symbology, code=digits)
    if n in (9, 10) and expect != "product":
        return _national_id(raw, symbology, digits)
    if n in (12, 13, 14):
        return _product(raw, symbology, digits, templates)
    raise _Refusal("not_a_known_code", f"{n} digits are no code this program knows")


def classify_scan(
    text: str,
    *,
    expect: Expect = "any",
    templates: Sequence[VariableMeasureTemplate] = DEFAULT_TEMPLATES,
) -> Scan:
    """Classify one scan (or typed line) into a :data:`Scan`.

    ``expect`` says what the screen waits for and settles ambiguity: with
    ``"identify"`` 8 digits are a purchase code; with ``"product"`` they are an
    EAN-8 and 10 digits are never a national ID; with ``"any"`` 8 digits are an
    EAN-8 only under ``]E4``. Unambiguous codes (a 13-digit GTIN, a token) are
    classified whatever is expected; the caller decides whether they fit.

    One trailing CR/LF is dropped; Persian and Arabic-Indic digits, surrounding
    whitespace and bidi marks are accepted for typed input. Never raises on
    any text: what cannot be used is an :class:`UnknownScan`. Only a bad
    ``expect`` raises (:class:`BarcodeError`, a programming error).
    """
    if expect not in _EXPECTS:
        raise BarcodeError("invalid_expect", f"expect must be one of {sorted(_EXPECTS)}")
    if not isinstance(text, str):
        return UnknownScan(raw="", symbology=None, reason="not_text")
    if len(text) > MAX_SCAN_CHARS:
        return UnknownScan(raw=text[:MAX_SCAN_CHARS], symbology=None, reason="too_long")
    symbology, payload = parse_aim(_strip_terminator(text))
    try:
        return _classify(text, symbology, payload, expect, templates)
    except BarcodeError as exc:
        detail = exc.detail if isinstance(exc, _Refusal) else exc.message
        return UnknownScan(raw=text, symbology=symbology, reason=exc.reason, detail=detail)
