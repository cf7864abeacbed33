"""Iranian national IDs (کد ملی): normalising, checking, masking and hashing.

A national ID is 10 digits: a 3-digit area code, a 6-digit serial and a mod-11
check digit. People type it with Persian (۰-۹), Arabic-Indic (٠-٩) or ASCII
digits, with spaces or dashes, and copy-paste brings invisible bidi marks; all
of that is accepted here and reduced to the 10 ASCII digits the ledger speaks.
Anything else is refused with :class:`InvalidNationalId`, whose ``reason`` is
one of ``length``, ``not_digits``, ``check_digit``, ``repeated_digits`` and
``zero_serial`` (checked in that order after the characters and the length).

Never log a full national ID: use :func:`mask_national_id` for display and
:func:`national_id_hash` to compare against the ledger's ``hot_list``.

This module is pure: it imports only the standard library and
``pos_client.domain.errors``.
"""

from __future__ import annotations

import hashlib
import unicodedata

from pos_client.domain.errors import InvalidNationalId

__all__ = [
    "InvalidNationalId",
    "is_valid_national_id",
    "mask_national_id",
    "national_id_check_digit",
    "national_id_hash",
    "normalize_national_id",
    "remove_separators",
    "strip_format_marks",
    "to_ascii_digits",
]

#: Persian and Arabic-Indic digits mapped to ASCII.
_DIGITS: dict[str, str] = {
    **{chr(0x06F0 + i): str(i) for i in range(10)},  # Extended Arabic-Indic (Persian)
    **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic
    **{str(i): str(i) for i in range(10)},
}

#: Invisible format marks that copy-paste brings (bidi controls, zero-width
#: characters, the byte-order mark): removed wherever they are.
_FORMAT_MARKS = frozenset(
    [chr(c) for c in range(0x200B, 0x2010)]  # ZWSP, ZWNJ, ZWJ, LRM, RLM
    + [chr(c) for c in range(0x202A, 0x202F)]  # LRE, RLE, PDF, LRO, RLO
    + [chr(c) for c in range(0x2060, 0x2065)]  # word joiner, invisible operators
    + [chr(c) for c in range(0x2066, 0x206A)]  # LRI, RLI, FSI, PDI
    + ["\u061c", "\ufeff"]  # Arabic letter mark, byte-order mark
)

#: Dashes accepted as separators between digit groups.
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d")

_MASK = "*"


def to_ascii_digits(text: str) -> str | None:
    """``text`` with Persian and Arabic-Indic digits made ASCII, or ``None``.

    Returns ``None`` when ``text`` holds anything but those digits (no
    separators, no marks). Shared with the barcode classifier.
    """
    out: list[str] = []
    for ch in text:
        digit = _DIGITS.get(ch)
        if digit is None:
            return None
        out.append(digit)
    return "".join(out)


def strip_format_marks(text: str) -> str:
    """``text`` without the invisible bidi and zero-width marks copy-paste brings."""
    return "".join(ch for ch in text if ch not in _FORMAT_MARKS)


def _is_separator(ch: str) -> bool:
    return ch in _DASHES or unicodedata.category(ch) == "Zs"


def remove_separators(text: str) -> str:
    """``text`` without the spaces and dashes people type between digit groups."""
    return "".join(ch for ch in text if not _is_separator(ch))


def national_id_check_digit(first_nine: str) -> int:
    """The mod-11 check digit of the first 9 ASCII digits of a national ID.

    Weights 10..2; ``r = sum mod 11``; the check digit is ``r`` if ``r < 2``,
    else ``11 - r``.
    """
    if len(first_nine) != 9 or not all(c in "0123456789" for c in first_nine):
        raise InvalidNationalId("length", "the check digit needs exactly 9 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    r = total % 11
    return r if r < 2 else 11 - r


def normalize_national_id(text: str) -> str:
    """Return the 10 ASCII digits of the national ID in ``text``.

    Accepts ASCII, Persian and Arabic-Indic digits, spaces and dashes between
    them, surrounding whitespace and invisible bidi/format marks; 8- and 9-digit
    input is left-padded with zeros (the leading zeros people drop). Raises
    :class:`InvalidNationalId` (and nothing else) for anything that cannot be a
    national ID.
    """
    if not isinstance(text, str):
        raise InvalidNationalId("not_digits", "a national ID must be text")
    digits: list[str] = []
    for ch in text.strip():
        if ch in _FORMAT_MARKS or _is_separator(ch):
            continue
        digit = _DIGITS.get(ch)
        if digit is None:
            raise InvalidNationalId("not_digits", "a national ID holds only digits")
        digits.append(digit)
    if not 8 <= len(digits) <= 10:
        raise InvalidNationalId("length", "a national ID has 10 digits")
    code = "".join(digits).rjust(10, "0")
    if len(set(code)) == 1:
        raise InvalidNationalId("repeated_digits", "a national ID is never one digit repeated")
    if code[3:9] == "000000":
        raise InvalidNationalId("zero_serial", "a national ID's serial is never all zeros")
    if national_id_check_digit(code[:9]) != int(code[9]):
        raise InvalidNationalId("check_digit", "the national ID's check digit is wrong")
    return code


def is_valid_national_id(text: str) -> bool:
    """Whether :func:`normalize_national_id` accepts ``text``."""
    try:
        normalize_national_id(text)
    except InvalidNationalId:
        return False
    return True


def mask_national_id(national_id: str) -> str:
    """The ID for display and logs: only the first 3 and last 2 digits shown.

    ``"0499370899"`` → ``"049*****99"``. A valid ID in any digit script is
    normalised first. Never raises: odd input is stripped and everything but
    its first 3 and last 2 characters is masked; input shorter than 6
    characters is masked entirely (it would otherwise be shown whole).
    """
    try:
        text = normalize_national_id(national_id)
    except InvalidNationalId:
        text = national_id.strip() if isinstance(national_id, str) else ""
    if len(text) < 6:
        return _MASK * len(text)
    return text[:3] + _MASK * (len(text) - 5) + text[-2:]


def national_id_hash(national_id: str) -> str:
    """SHA-256 hex digest of the 10 ASCII digits (the form in ``hot_list``).

    The ID is normalised first, so any accepted spelling gives the same hash;
    raises :class:`InvalidNationalId` if it is not a valid national ID.
    """
    code = normalize_national_id(national_id)
    return hashlib.sha256(code.encode("ascii")).hexdigest()
