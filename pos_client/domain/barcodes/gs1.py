"""GS1 element strings: read with biip's table of application identifiers, then the lane's rules.

`biip <https://pypi.org/project/biip/>`_ (pure Python) knows every application
identifier (AI) GS1 defines: its length, its characters, whether an FNC1 must
follow it. It cuts an element string into elements. On top of it this module
keeps the lane's own, stricter rules:

- Only ASCII graphic characters and GS (FNC1) reach biip: its patterns would
  take Persian digits for digits.
- One FNC1 between two elements, never two in a row. An element whose length
  varies must end at an FNC1 or at the end of the data: biip would cut it at
  its longest and read what follows as the next element, and a price could
  swallow the weight after it. An element of fixed length may lack the FNC1
  GS1 asks for after it ((7003) printed straight before (8008)): nothing else
  can be read there.
- Dates are checked here, not by biip: ``YYMMDD`` with a real month and day,
  day ``00`` meaning the month's last day (GS1 General Specifications 7.12),
  hours 00-23, minutes and seconds 00-59. biip's own check reads the clock to
  choose the century and refuses the second date of a (7007) harvest range.
  A date that is not one is ``invalid_date``.
- An AI given twice must carry one value.
- The product is the (01) GTIN, its check digit verified. The net weight comes
  only from (310n) kilograms, the price only from (392n), or (393n) in Rials
  (ISO 4217 ``364``), in whole Rials. Every other known AI (lot, dates, origin,
  temperatures, ...) is kept in ``elements`` and does not change the sale.

A bare ``01`` + 14 digits, the most common GS1 data, is read without biip.
biip is imported on the first other GS1 scan, so a lane pays for loading its
tables only when a label needs them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from pos_client.domain.barcodes._common import GS, _Refusal, is_ascii_digits
from pos_client.domain.barcodes.gtin import catalog_gtin, is_valid_gtin
from pos_client.domain.barcodes.scans import Gs1Scan
from pos_client.domain.money import round_half_up_div

if TYPE_CHECKING:
    from biip import ParseConfig
    from biip.gs1_application_identifiers import GS1ApplicationIdentifier
    from biip.gs1_element_strings import GS1ElementString

__all__ = ["DATE_AIS", "date_problem", "gs1_scan", "parse_gs1"]

#: How the value of each AI that holds a date is laid out: ``D`` a date
#: ``YYMMDD``, ``h`` hours, ``m`` minutes, ``s`` seconds. Parts after the first
#: may be absent where GS1 lets them (biip checks the lengths).
DATE_AIS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "11": "D",  # production date
        "12": "D",  # due date
        "13": "D",  # packaging date
        "15": "D",  # best before
        "16": "D",  # sell by
        "17": "D",  # expiration date
        "4324": "Dhm",  # do not deliver before (9999 for an unknown time)
        "4325": "Dhm",  # do not deliver after (9999 for an unknown time)
        "4326": "D",  # release date
        "7003": "Dhm",  # expiration date and time
        "7006": "D",  # first freeze date
        "7007": "DD",  # harvest date, or a range of two
        "7011": "Dhm",  # test by date, with an optional time
        "8008": "Dhms",  # production date and time
    }
)
_UNKNOWN_TIME_AIS: Final = frozenset({"4324", "4325"})
_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_GS1_TEXT: Final = re.compile(r"[!-~\x1d]*")
_BARE_GTIN: Final = re.compile(r"\x1d?01([0-9]{14})\x1d?")
_HRI_RE: Final = re.compile(r"\s*\(([0-9]{2,4})\)([^()\x1d]*)")


# ---- dates --------------------------------------------------------------------------


def _is_date(text: str) -> bool:
    """Whether six ASCII digits are a ``YYMMDD`` date; day 00 is the month's last day."""
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
    if not 1 <= month <= 12:
        return False
    # GS1 reads a two-digit year within 49 years back and 50 ahead: every such
    # year divisible by 4 is a leap year until 2051 (2000 is one).
    last = 29 if month == 2 and year % 4 == 0 else _DAYS_IN_MONTH[month - 1]
    return day <= last


_PART_OK: Final[Mapping[str, Callable[[str], bool]]] = {
    "D": _is_date,
    "h": lambda text: int(text) <= 23,
    "m": lambda text: int(text) <= 59,
    "s": lambda text: int(text) <= 59,
}


def date_problem(ai: str, value: str) -> str | None:
    """Why the date in ``value`` of ``ai`` is none, or ``None`` if it is (or ``ai`` holds no date).

    Only the parts present are checked, so a value too short or too long is
    left to the length check; a part that is not digits is not a date's fault.
    """
    layout = DATE_AIS.get(ai)
    if layout is None:
        return None
    if ai in _UNKNOWN_TIME_AIS and value[6:10] == "9999":
        layout = "D"
    pos = 0
    for part in layout:
        width = 6 if part == "D" else 2
        text = value[pos : pos + width]
        if len(text) < width or not is_ascii_digits(text):
            return None
        if not _PART_OK[part](text):
            return f"AI ({ai}) {value[: pos + width]} is not a real date or time"
        pos += width
    return None


# ---- biip ---------------------------------------------------------------------------


@functools.cache
def _config() -> ParseConfig:
    from biip import ParseConfig

    # Dates are checked by date_problem; FNC1 arrives as GS.
    return ParseConfig(gs1_element_strings_verify_date=False, separator_chars=(GS,))


def _ai_of(text: str) -> GS1ApplicationIdentifier | None:
    """The AI ``text`` starts with, if GS1 defines one."""
    from biip import ParseError
    from biip.gs1_application_identifiers import GS1ApplicationIdentifier

    try:
        return GS1ApplicationIdentifier.extract(text)
    except ParseError:
        return None


def _refuse_element(rest: str) -> _Refusal:
    """Why biip could not read an element at the start of ``rest``."""
    ai = _ai_of(rest)
    if ai is None:
        if len(rest) >= 2 and is_ascii_digits(rest[:2]):
            return _Refusal("unknown_ai", f"unknown application identifier at {rest[:4]!r}")
        return _Refusal("malformed_gs1", "expected an application identifier")
    problem = date_problem(ai.ai, rest[len(ai.ai) :].split(GS, 1)[0])
    if problem is not None:
        return _Refusal("invalid_date", problem)
    return _Refusal("malformed_gs1", f"AI ({ai.ai}) has a value GS1 does not allow")


def _element(rest: str, *, whole: bool) -> GS1ElementString:
    """The element ``rest`` starts with (is, if ``whole``), or a refusal saying why not."""
    from biip import ParseError
    from biip.gs1_element_strings import GS1ElementString

    try:
        if whole:
            return GS1ElementString.parse(rest, config=_config())
        return GS1ElementString.extract(rest, config=_config())
    except (ParseError, ValueError, LookupError):
        # ValueError and LookupError: biip's number and currency helpers.
        pass
    raise _refuse_element(rest)


def _fixed_length(ai: GS1ApplicationIdentifier) -> bool:
    """Whether every value of ``ai`` has one length (predefined by GS1 or not)."""
    return ".." not in ai.format and "[" not in ai.format


# ---- element strings ----------------------------------------------------------------


def _check_text(text: str) -> None:
    if _GS1_TEXT.fullmatch(text) is None:
        raise _Refusal("malformed_gs1", "the data has characters GS1 does not allow")


def _read_element_string(data: str) -> list[tuple[str, str]]:
    pos = 1 if data.startswith(GS) else 0  # a leading FNC1
    if pos >= len(data):
        raise _Refusal("malformed_gs1", "no element")
    _check_text(data)
    out: list[tuple[str, str]] = []
    while pos < len(data):
        if data[pos] == GS:
            raise _Refusal("malformed_gs1", "two FNC1 in a row")
        rest = data[pos:]
        element = _element(rest, whole=False)
        end = len(element.ai.ai) + len(element.value)
        if end < len(rest) and rest[end] != GS and not _fixed_length(element.ai):
            # A value of varying length runs to the next FNC1 or the end of the
            # data: biip stops early on percent-encoded text and at a value's
            # longest, where what follows may not be the next element.
            segment = rest.split(GS, 1)[0]
            element = _element(segment, whole=True)
            end = len(segment)
        ai, value = element.ai.ai, element.value
        pos += end
        if pos < len(data) and data[pos] == GS:
            pos += 1
        out.append((ai, value))
    return out


def _read_parenthesised(data: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = data.rstrip()
    while pos < len(text):
        match = _HRI_RE.match(text, pos)
        if match is None:
            raise _Refusal("malformed_gs1", "expected '(AI)value'")
        ai, value = match.group(1), match.group(2).strip()
        known = _ai_of(ai + value)
        if known is None or known.ai != ai:
            raise _Refusal("unknown_ai", f"unknown application identifier ({ai})")
        _check_text(value)
        out.append((ai, _element(ai + value, whole=True).value))
        pos = match.end()
    if not out:
        raise _Refusal("malformed_gs1", "no element")
    return out


def parse_gs1(data: str) -> dict[str, str]:
    """Read a GS1 element string (FNC1 as GS) or its ``(AI)value`` form.

    Returns AI → value. Raises :class:`~pos_client.domain.errors.BarcodeError`
    with reason ``unknown_ai``, ``invalid_date`` or ``malformed_gs1`` (also for
    an AI given twice with different values).
    """
    text = data.strip(" ")
    bare = _BARE_GTIN.fullmatch(text)
    if bare is not None:
        return {"01": bare.group(1)}
    pairs = _read_parenthesised(text) if text.startswith("(") else _read_element_string(text)
    elements: dict[str, str] = {}
    for ai, value in pairs:
        if elements.setdefault(ai, value) != value:
            raise _Refusal("malformed_gs1", f"AI ({ai}) given twice")
        problem = date_problem(ai, value)
        if problem is not None:
            raise _Refusal("invalid_date", problem)
    return elements


# ---- the lane's reading -------------------------------------------------------------


def _one_of(elements: Mapping[str, str], head: str) -> tuple[int, str] | None:
    """The single ``head``+n element as ``(n, value)``, or ``None``."""
    found = [(int(ai[-1]), v) for ai, v in elements.items() if len(ai) == 4 and ai[:3] == head]
    if len(found) > 1:
        raise _Refusal("malformed_gs1", f"more than one ({head}n) element")
    return found[0] if found else None


def gs1_scan(raw: str, symbology: str | None, data: str) -> Gs1Scan:
    """The product, net weight and price a GS1 element string names, or a refusal."""
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
