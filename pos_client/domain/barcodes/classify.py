"""Classifying what a scanner (or a cashier's keyboard) sends into one kind of scan.

See :mod:`pos_client.domain.barcodes` for the kinds and how ambiguity is settled.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

from pos_client.domain.barcodes._common import (
    GS,
    MAX_SCAN_CHARS,
    Expect,
    _Refusal,
    is_ascii_digits,
)
from pos_client.domain.barcodes.gs1 import gs1_scan
from pos_client.domain.barcodes.gtin import (
    catalog_gtin,
    is_valid_gtin,
    price_verifier_digit,
    upc_e_to_upc_a,
)
from pos_client.domain.barcodes.scans import (
    DEFAULT_TEMPLATES,
    NationalIdScan,
    ProductScan,
    PurchaseCodeScan,
    Scan,
    TokenScan,
    UnknownScan,
    VariableMeasureScan,
    VariableMeasureTemplate,
)
from pos_client.domain.errors import BarcodeError, InvalidNationalId
from pos_client.domain.national_id import (
    normalize_national_id,
    remove_separators,
    strip_format_marks,
    to_ascii_digits,
)

__all__ = ["AIM_SYMBOLOGIES", "GS1_SYMBOLOGIES", "classify_scan", "parse_aim"]

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

_TOKEN_RE: Final = re.compile(r"KB[12]\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


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
            return _product(raw, symbology, upc_e_to_upc_a(digits), templates)
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
    # Scanners set to send no AIM identifier pass GS1-128 and GS1 DataBar on
    # as bare digits: "01" + a GTIN-14, then perhaps more elements. Sixteen
    # digits or more are no other code the lane reads (a national ID has 10, a
    # purchase code 8, a GTIN at most 14); the GTIN's check digit is verified.
    return (
        symbology is None
        and len(text) >= 16
        and text.startswith("01")
        and is_ascii_digits(text[:16])
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
    if text.startswith(("KB1.", "KB2.")):
        if _TOKEN_RE.fullmatch(text) is None:
            raise _Refusal("malformed_token", "a token is KB1.<payload>.<signature> (or KB2)")
        return TokenScan(raw=raw, symbology=symbology, token=text)
    if _looks_like_gs1(symbology, payload, text):
        return gs1_scan(raw, symbology, text)
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
