"""What the barcode modules share: limits, the FNC1 stand-in, and the internal refusal."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from pos_client.domain.errors import BarcodeError

#: Longest scan accepted; longer text is ``UnknownScan("too_long")``.
MAX_SCAN_CHARS: Final = 4096

#: The group separator that stands for FNC1 inside a GS1 element string.
GS: Final = "\x1d"

Expect: TypeAlias = Literal["any", "identify", "product"]

_ASCII_DIGITS: Final = frozenset("0123456789")


def is_ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits (Persian digits are not)."""
    return bool(text) and all(c in _ASCII_DIGITS for c in text)


class _Refusal(BarcodeError):
    """Internal: why a scan is unknown; becomes an ``UnknownScan``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail or reason)
        self.detail = detail
