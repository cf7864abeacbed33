"""A final row's documents kept small: its body, basket and answer compressed in the store.

A row that left the outbox is final: its body is never sent again (a void
sends only the id) and its basket and answer are only read back (receipts,
reports, reconciliation, exports). From schema 6 such a row keeps the three
as :func:`pack` made them: zlib-compressed behind a two-byte tag that no JSON
text (nor any UTF-8 text) begins with, so a value of an older row, or of a row
still in the outbox, is told apart and read as it is. :func:`unpack` gives
back the exact bytes that were packed: every reader sees what it saw before.
The JSON documents of a sale shrink about four times, and a final row fits in
its page (no overflow page per sale).

Imports the standard library only.
"""

from __future__ import annotations

import zlib

__all__ = ["PACKED", "pack", "unpack", "unpack_text"]

#: What a packed value begins with (a NUL byte: never the first byte of a JSON text).
PACKED = b"\x00z"


def pack(value: bytes | str | None) -> bytes | None:
    """``value`` compressed behind :data:`PACKED` (one already packed, or ``None``, as it is)."""
    if value is None:
        return None
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if raw.startswith(PACKED):
        return raw
    return PACKED + zlib.compress(raw, 9)


def unpack(value: bytes | str | None) -> bytes | None:
    """The bytes :func:`pack` was given (a value not packed: its bytes as they are)."""
    if value is None:
        return None
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if raw.startswith(PACKED):
        return zlib.decompress(raw[len(PACKED) :])
    return raw


def unpack_text(value: bytes | str | None) -> str | None:
    """:func:`unpack` as text (the basket and the answer are JSON text)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    raw = unpack(value)
    return None if raw is None else raw.decode("utf-8")
