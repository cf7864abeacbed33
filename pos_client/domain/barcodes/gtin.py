"""GTIN check digits, catalog forms, UPC-E expansion and the price/measure verifier."""

from __future__ import annotations

from typing import Final

from pos_client.domain.barcodes._common import _Refusal, is_ascii_digits
from pos_client.domain.errors import BarcodeError


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (a GTIN without its last digit).

    Weights 3 and 1 alternate from the right. Raises :class:`BarcodeError`
    (``not_digits``) unless ``body`` is 1 to 17 ASCII digits.
    """
    if not is_ascii_digits(body) or len(body) > 17:
        raise BarcodeError("not_digits", "a GTIN body is 1 to 17 ASCII digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """Whether ``code`` is 8, 12, 13 or 14 ASCII digits with a right check digit."""
    if not isinstance(code, str) or len(code) not in (8, 12, 13, 14):
        return False
    if not is_ascii_digits(code):
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
    if not is_ascii_digits(code):
        raise BarcodeError("not_a_gtin", "a GTIN holds only ASCII digits")
    if gtin_check_digit(code[:-1]) != int(code[-1]):
        raise BarcodeError("bad_check_digit", "the GTIN's check digit is wrong")
    gtin14 = code.rjust(14, "0")
    if gtin14.startswith("000000"):
        return gtin14[6:]
    if gtin14.startswith("0"):
        return gtin14[1:]
    return gtin14


def upc_e_to_upc_a(code: str) -> str:
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
    if not is_ascii_digits(value) or len(value) not in (4, 5):
        raise BarcodeError("not_digits", "a verifier digit covers 4 or 5 ASCII digits")
    d = [int(c) for c in value]
    if len(d) == 4:
        total = _w2minus(d[0]) + _w2minus(d[1]) + _w3(d[2]) + _w5minus(d[3])
        return (total * 3) % 10
    total = _w5plus(d[0]) + _w2minus(d[1]) + _w5minus(d[2]) + _w5plus(d[3]) + _w2minus(d[4])
    return _INVERSE_5MINUS[(10 - total % 10) % 10]
