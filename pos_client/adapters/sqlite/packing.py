"""A final row's documents kept small: its body, basket and answer compressed in the store.

A row that left the outbox is final: its body is never sent again (a void
sends only the id) and its basket and answer are only read back (receipts,
reports, reconciliation, exports). From schema 6 such a row keeps the three
as :func:`pack` made them: zlib-compressed (with :data:`DICTIONARY`, the
documents' member names, as its preset dictionary: a sale's documents are small,
and most of what they repeat is member names) behind a two-byte tag that no
JSON text (nor any UTF-8 text) begins with, so a value of an older row, or of a
row still in the outbox, is told apart and read as it is. The dictionary is
part of the format: it never changes under the tag (a new one takes a new
tag). :func:`unpack` gives
back the exact bytes that were packed: every reader sees what it saw before.
The JSON documents of a sale shrink about four times, and a final row fits in
its page (no overflow page per sale).

Imports the standard library only.
"""

from __future__ import annotations

import zlib

__all__ = ["DICTIONARY", "PACKED", "pack", "unpack", "unpack_text"]

#: What a packed value begins with (a NUL byte: never the first byte of a JSON text).
PACKED = b"\x00z"
#: The preset dictionary of :data:`PACKED` values: the members of a body, an answer and a
#: basket (the most frequent last, as zlib prefers). Never changed: see the module docstring.
DICTIONARY = (
    b'{"id":"","terminal_id":"","created_at":"","mode":"online","beneficiary":'
    b'{"national_id":"removed"},"otp":{"challenge_id":"","code":"removed"},'
    b'"rules_version":"","lines":[{"gtin":"626","quantity_milli":1000,'
    b'"unit_price_rial":,"amount_rial":}],"allocations":[{"line":0,"purse_id":"",'
    b'"amount_rial":,"quantity_milli":0}]}'
    b'{"id":"","status":"approved","covered_rial":,"declined_rial":0,"approved_at":"",'
    b'"receipt_code":"","reason":null,"allocations":[{"line":0,"purse_id":"",'
    b'"amount_rial":,"quantity_milli":0,"status":"applied","reason":null}],'
    b'"purses_after":[{"id":"","program":"kalabarg","kind":"amount","balance_rial":,'
    b'"entitlements":[{"group":"","remaining_milli":}]}]}'
    b'{"lines":[{"gtin":"626","name":"","quantity_milli":1000,"unit_price_rial":,'
    b'"amount_rial":,"category":"","unit":"piece","groups":[]}],"allocations":'
    b'[{"line":0,"purse_id":"","program":"kalabarg","amount_rial":,"quantity_milli":0}],'
    b'"total_rial":,"covered_rial":,"payable_rial":0,"waived_rial":0,"purses_before":'
    b'[{"id":"","program":"kalabarg","kind":"amount","label_fa":"","balance_rial":,'
    b'"expires_at":"","entitlements":[]}]}'
    b'"unit":"kg","groups":[]},{"gtin":"626'
)


def pack(value: bytes | str | None) -> bytes | None:
    """``value`` compressed behind :data:`PACKED` (one already packed, or ``None``, as it is)."""
    if value is None:
        return None
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if raw.startswith(PACKED):
        return raw
    packer = zlib.compressobj(9, zdict=DICTIONARY)
    return PACKED + packer.compress(raw) + packer.flush()


def unpack(value: bytes | str | None) -> bytes | None:
    """The bytes :func:`pack` was given (a value not packed: its bytes as they are)."""
    if value is None:
        return None
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if raw.startswith(PACKED):
        unpacker = zlib.decompressobj(zdict=DICTIONARY)
        return unpacker.decompress(raw[len(PACKED) :]) + unpacker.flush()
    return raw


def unpack_text(value: bytes | str | None) -> str | None:
    """:func:`unpack` as text (the basket and the answer are JSON text)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    raw = unpack(value)
    return None if raw is None else raw.decode("utf-8")
