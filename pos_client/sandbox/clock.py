"""The sandbox's clock: the real time plus an offset that tests may move forward.

The real ledger has one clock; the sandbox lets a test say "a day has passed"
(``POST /sandbox/clock``) so that tranches unlock, OTP challenges and tokens
expire and business dates roll over without waiting. The offset lives in
memory only: a restart goes back to the real time.

Also holds the time helpers every part of the sandbox shares: RFC 3339 with
offset in Asia/Tehran for output, strict RFC 3339 parsing for input, and the
business date (the date in Asia/Tehran).

Imports only the standard library.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

TEHRAN = ZoneInfo("Asia/Tehran")

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_OFFSET = timedelta(days=36_500)


class SandboxClock:
    """``now()`` is the real UTC time plus an adjustable offset (thread-safe)."""

    def __init__(self, *, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def set_offset(self, offset: timedelta) -> None:
        if abs(offset) > MAX_OFFSET:
            raise ValueError("the sandbox clock moves at most 100 years either way")
        with self._lock:
            self._offset = offset

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            if abs(self._offset + delta) > MAX_OFFSET:
                raise ValueError("the sandbox clock moves at most 100 years either way")
            self._offset += delta


def to_rfc3339(moment: datetime) -> str:
    """``moment`` in Asia/Tehran as RFC 3339 with its offset, whole seconds."""
    local = moment.astimezone(TEHRAN).replace(microsecond=0)
    return local.isoformat()


def parse_rfc3339(text: object) -> datetime | None:
    """A timezone-aware datetime from strict RFC 3339 text with an offset, else ``None``."""
    if not isinstance(text, str) or _RFC3339.fullmatch(text) is None:
        return None
    normal = text.replace("z", "Z").replace("t", "T")
    fraction = re.search(r"\.(\d+)", normal)
    if fraction and len(fraction.group(1)) > 6:  # fromisoformat takes microseconds at most
        normal = normal.replace(fraction.group(0), "." + fraction.group(1)[:6])
    try:
        moment = datetime.fromisoformat(normal)
    except ValueError:
        return None
    if moment.tzinfo is None or not 1970 <= moment.year <= 9000:
        return None
    return moment


def parse_date(text: object) -> date | None:
    """A calendar date from ``YYYY-MM-DD`` text, else ``None``."""
    if not isinstance(text, str) or _DATE.fullmatch(text) is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def business_date(moment: datetime) -> date:
    """The business date of ``moment``: its date in Asia/Tehran."""
    return moment.astimezone(TEHRAN).date()
