"""Money (integer Rials) and quantities (integer thousandths): arithmetic, display, typed input.

No floats anywhere: amounts are ``int`` Rials, quantities ``int`` thousandths of
the product's unit (``quantity_milli``). Display follows the glossary: Persian
digits ``۰-۹`` with the Persian thousands separator ``٬`` (U+066C) and decimal
separator ``٫`` (U+066B) in the Persian interface, ASCII digits with ``,`` and
``.`` otherwise; Rial or Toman (a Toman is ten Rials, rounded half up). A number
inside Persian text may be wrapped in the Unicode isolates LRI (U+2066) … PDI
(U+2069) so that it stays left-to-right.

Typed input (:func:`parse_amount`, :func:`parse_quantity_milli`) takes ASCII,
Persian or Arabic-Indic digits, thousands separators and stray bidi marks, and
refuses anything else with a :class:`~pos_client.domain.errors.ContractError`
(``invalid_amount`` / ``invalid_quantity``); it is read in integer arithmetic,
never through ``float``.

Imports only the standard library and the domain's own errors and models.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from pos_client.domain.errors import ContractError
from pos_client.domain.models import Unit

__all__ = [
    "LRI",
    "MAX_INT64",
    "PDI",
    "format_amount",
    "format_quantity",
    "line_amount",
    "parse_amount",
    "parse_quantity_milli",
    "rial_to_toman",
    "round_half_up_div",
    "to_ascii_digits",
    "to_persian_digits",
]

#: Left-to-right isolate and pop directional isolate.
LRI = "\u2066"
PDI = "\u2069"
#: Largest amount or quantity accepted from typed input (fits a signed 64-bit column).
MAX_INT64 = 2**63 - 1

_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_ASCII_DIGITS = "0123456789"
_TO_ASCII = str.maketrans(_PERSIAN_DIGITS + _ARABIC_INDIC_DIGITS, _ASCII_DIGITS * 2)
_TO_PERSIAN = str.maketrans(_ASCII_DIGITS + _ARABIC_INDIC_DIGITS, _PERSIAN_DIGITS * 2)

_PERSIAN_THOUSANDS = "\u066c"  # ٬
_PERSIAN_DECIMAL = "\u066b"  # ٫
#: Characters accepted between groups of three digits in typed numbers.
_GROUP_SEPARATORS = frozenset(",'_\u066c\u060c\u2019")  # , ' _ ٬ ، ’
_DECIMAL_SEPARATORS = frozenset(".\u066b")  # . ٫
_MINUS_SIGNS = frozenset("-\u2212")  # hyphen-minus, minus sign
_MAX_TYPED_CHARS = 64

_UNIT_WORDS: dict[str, dict[str, str]] = {
    "fa": {"rial": "ریال", "toman": "تومان"},
    "en": {"rial": "Rial", "toman": "Toman"},
}
_QUANTITY_UNIT_WORDS: dict[str, dict[Unit, str]] = {
    "fa": {Unit.PIECE: "", Unit.KG: "کیلوگرم", Unit.LITRE: "لیتر"},
    "en": {Unit.PIECE: "", Unit.KG: "kg", Unit.LITRE: "L"},
}

DigitStyle = Literal["fa", "ascii"]
Lang = Literal["fa", "en"]
MoneyUnit = Literal["rial", "toman"]


# --------------------------------------------------------------------------- arithmetic


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero, in integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((2 * -numerator + denominator) // (2 * denominator))


def line_amount(quantity_milli: int, unit_price_rial: int) -> int:
    """A line's amount: ``round_half_up(quantity_milli * unit_price_rial / 1000)``."""
    return round_half_up_div(quantity_milli * unit_price_rial, 1000)


def rial_to_toman(rial: int) -> int:
    """Tomans for ``rial`` Rials: a tenth, rounded half away from zero."""
    return round_half_up_div(rial, 10)


# --------------------------------------------------------------------------- digits


def to_persian_digits(text: str) -> str:
    """``text`` with ASCII and Arabic-Indic digits written as Persian digits (۰-۹)."""
    return text.translate(_TO_PERSIAN)


def to_ascii_digits(text: str) -> str:
    """``text`` with Persian (۰-۹) and Arabic-Indic (٠-٩) digits written as ASCII digits."""
    return text.translate(_TO_ASCII)


def _check_int(value: object, name: str) -> int:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int")
    return value


def _group(digits: str, separator: str) -> str:
    """ASCII ``digits`` with ``separator`` between groups of three from the right."""
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(groups)


def _styled(number: str, *, digits: DigitStyle, isolate: bool) -> str:
    """An ASCII-formatted number (``,`` and ``.``) in the asked digit style."""
    if digits == "fa":
        number = to_persian_digits(
            number.replace(",", _PERSIAN_THOUSANDS).replace(".", _PERSIAN_DECIMAL)
        )
    elif digits != "ascii":
        raise ValueError("digits must be 'fa' or 'ascii'")
    return f"{LRI}{number}{PDI}" if isolate else number


def _lang(lang: str) -> str:
    if lang not in _UNIT_WORDS:
        raise ValueError("lang must be 'fa' or 'en'")
    return lang


# --------------------------------------------------------------------------- display


def format_amount(
    rial: int,
    *,
    unit: MoneyUnit = "toman",
    digits: DigitStyle = "fa",
    with_unit: bool = True,
    lang: Lang = "fa",
    isolate: bool = False,
) -> str:
    """An amount of ``rial`` Rials for people to read.

    ``unit="toman"`` shows a tenth of the Rials rounded half away from zero.
    Thousands are grouped (``٬`` with Persian digits, ``,`` with ASCII digits);
    a negative amount starts with ``-``. The unit word (ریال / تومان, or
    Rial / Toman when ``lang="en"``) follows the number after a space unless
    ``with_unit`` is false. ``isolate=True`` wraps the number (not the unit
    word) in LRI … PDI so it stays left-to-right inside right-to-left text.

    ``format_amount(12_345_670)`` → ``"۱٬۲۳۴٬۵۶۷ تومان"``;
    ``format_amount(12_345_670, unit="rial", digits="ascii", lang="en")`` →
    ``"12,345,670 Rial"``.
    """
    value = _check_int(rial, "rial")
    if unit == "toman":
        value = rial_to_toman(value)
    elif unit != "rial":
        raise ValueError("unit must be 'rial' or 'toman'")
    words = _UNIT_WORDS[_lang(lang)]
    sign = "-" if value < 0 else ""
    number = _styled(sign + _group(str(abs(value)), ","), digits=digits, isolate=isolate)
    return f"{number} {words[unit]}" if with_unit else number


def format_quantity(
    quantity_milli: int,
    unit: Unit,
    *,
    digits: DigitStyle = "fa",
    lang: Lang | None = None,
    with_unit: bool = True,
    isolate: bool = False,
) -> str:
    """A quantity of ``quantity_milli`` thousandths of ``unit`` for people to read.

    Trailing zeros of the fraction are dropped; pieces carry no unit word.
    ``lang`` picks the unit word and defaults to Persian with Persian digits,
    English with ASCII digits: ``format_quantity(1250, Unit.KG, digits="ascii")``
    → ``"1.25 kg"``, ``format_quantity(1250, Unit.KG)`` → ``"۱٫۲۵ کیلوگرم"``,
    ``format_quantity(3000, Unit.PIECE)`` → ``"۳"``.
    """
    value = _check_int(quantity_milli, "quantity_milli")
    unit = Unit(unit)
    words = _QUANTITY_UNIT_WORDS[_lang(lang or ("fa" if digits == "fa" else "en"))]
    whole, milli = divmod(abs(value), 1000)
    number = _group(str(whole), ",")
    fraction = f"{milli:03d}".rstrip("0")
    if fraction:
        number = f"{number}.{fraction}"
    if value < 0:
        number = "-" + number
    text = _styled(number, digits=digits, isolate=isolate)
    word = words[unit]
    return f"{text} {word}" if with_unit and word else text


# --------------------------------------------------------------------------- typed input


def _clean(text: object, reason: str) -> str:
    """Typed text with format marks and surrounding space removed, digits made ASCII."""
    if not isinstance(text, str):
        raise ContractError(reason, "not text")
    if len(text) > _MAX_TYPED_CHARS:
        raise ContractError(reason, "too long")
    kept = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return to_ascii_digits(kept.strip())


def _split_sign(text: str) -> tuple[bool, str]:
    if text and text[0] in _MINUS_SIGNS:
        return True, text[1:].lstrip()
    if text.startswith("+"):
        return False, text[1:].lstrip()
    return False, text


def _is_group_separator(ch: str) -> bool:
    return ch in _GROUP_SEPARATORS or unicodedata.category(ch) == "Zs"


def _whole_digits(text: str, reason: str) -> str:
    """The digits of an integer part typed with optional thousands separators.

    Separators may only stand between groups of three digits (``1,234,567``,
    ``۱٬۲۳۴``, ``1 234``); anything else (``12,34``, ``1,,234``) is refused.
    """
    groups: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch in _ASCII_DIGITS:
            current.append(ch)
        elif _is_group_separator(ch):
            groups.append("".join(current))
            current = []
        else:
            raise ContractError(reason, "only digits and thousands separators are allowed")
    groups.append("".join(current))
    if not groups[0] or not all(groups):
        raise ContractError(reason, "no number")
    if len(groups) > 1 and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        raise ContractError(reason, "thousands separators in the wrong place")
    return "".join(groups)


def parse_amount(text: str, *, allow_negative: bool = False) -> int:
    """A whole number of Rials (or Tomans: the caller knows which) typed by a person.

    Accepts ASCII, Persian and Arabic-Indic digits, thousands separators between
    groups of three, surrounding space and bidi marks, and a leading minus when
    ``allow_negative``. Refuses fractions, unit words, empty input and anything
    else with ``ContractError("invalid_amount")``.
    """
    reason = "invalid_amount"
    cleaned = _clean(text, reason)
    negative, body = _split_sign(cleaned)
    if any(ch in _DECIMAL_SEPARATORS for ch in body):
        raise ContractError(reason, "an amount has no fraction")
    if negative and not allow_negative:
        raise ContractError(reason, "an amount is not negative")
    value = int(_whole_digits(body, reason))
    if value > MAX_INT64:
        raise ContractError(reason, "too large")
    return -value if negative else value


def parse_quantity_milli(text: str) -> int:
    """A quantity typed by a person (``"1.25"``, ``"۱٫۲۵"``, ``"3"``) in thousandths.

    The decimal separator is ``.`` or ``٫``; at most three fraction digits;
    thousands separators as in :func:`parse_amount`. Read in integer
    arithmetic. Refuses negative numbers, more precision than a thousandth,
    ambiguous separators (``1,5``, ``1/2``) and junk with
    ``ContractError("invalid_quantity")``.
    """
    reason = "invalid_quantity"
    cleaned = _clean(text, reason)
    negative, body = _split_sign(cleaned)
    if negative:
        raise ContractError(reason, "a quantity is not negative")
    decimals = [i for i, ch in enumerate(body) if ch in _DECIMAL_SEPARATORS]
    if len(decimals) > 1:
        raise ContractError(reason, "more than one decimal separator")
    if decimals:
        whole_text, fraction = body[: decimals[0]], body[decimals[0] + 1 :]
        if whole_text == "":
            whole_text = "0"
        if not fraction or not all(ch in _ASCII_DIGITS for ch in fraction):
            raise ContractError(reason, "the fraction holds only digits")
        if len(fraction) > 3:
            raise ContractError(reason, "at most three decimal places")
    else:
        whole_text, fraction = body, ""
    whole = int(_whole_digits(whole_text, reason))
    value = whole * 1000 + int(fraction.ljust(3, "0"))
    if value > MAX_INT64:
        raise ContractError(reason, "too large")
    return value
