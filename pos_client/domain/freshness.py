"""Whether a signed document is older than the one in force (a replayed body is refused).

A signature proves who wrote a document, not that it is the latest: a body the
ledger signed last week verifies as well today. A terminal therefore keeps the
newest rule set and catalog it has verified and refuses an older one, which
could otherwise undo a hot-list entry, a withdrawn signing key or a product
deletion.

- A rule set is ordered by its ``issued_at`` first and then by its version.
- A catalog carries only its version. Versions are compared in natural order
  (``c-000917`` after ``c-000900``, ``r-2026-11-23-10`` after
  ``r-2026-11-23-9``) when both are written the same way: the same text
  between the same number of digit runs. Versions written in two different
  ways cannot be ordered, and are then not called older.

Pure: the standard library only; no I/O, no clock.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = [
    "catalog_is_older",
    "compare_versions",
    "rule_set_is_older",
]

_DIGITS = re.compile(r"(\d+)")


def _parts(version: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    pieces = _DIGITS.split(version)
    return tuple(pieces[0::2]), tuple(int(p) for p in pieces[1::2])


def compare_versions(a: str, b: str) -> int | None:
    """-1, 0 or 1 as ``a`` is before, the same as or after ``b``; None: not comparable.

    Equal texts are the same version. Otherwise both must have the same text
    around the same number of digit runs; the digit runs are then compared as
    numbers, left to right (leading zeros do not count).
    """
    if a == b:
        return 0
    text_a, numbers_a = _parts(a)
    text_b, numbers_b = _parts(b)
    if text_a != text_b or not numbers_a:
        return None
    if numbers_a == numbers_b:
        return 0
    return -1 if numbers_a < numbers_b else 1


def rule_set_is_older(
    issued_at: datetime, version: str, *, held_issued_at: datetime, held_version: str
) -> bool:
    """Whether a rule set (``issued_at``, ``version``) is older than the one held.

    Older: issued before the one held, or issued at the same moment with a
    version that orders before it. The same document again is not older.
    ``issued_at`` values must be timezone-aware.
    """
    if issued_at != held_issued_at:
        return issued_at < held_issued_at
    return compare_versions(version, held_version) == -1


def catalog_is_older(version: str, *, floors: tuple[str | None, ...]) -> str | None:
    """The first of ``floors`` (versions held or named in force) that ``version`` is older than.

    None when ``version`` is not older than any of them (including when it
    cannot be ordered against them).
    """
    for floor in floors:
        if floor is not None and compare_versions(version, floor) == -1:
            return floor
    return None
