"""What every doctor check shares: verdicts, checks, the report, and the small helpers.

Imports the standard library, the domain's digit helper and the doctor's texts only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

import jdatetime

from pos_client.domain.money import to_persian_digits
from pos_client.services.doctor_texts import Lang, say

__all__ = [
    "TEHRAN",
    "Check",
    "Finding",
    "OnCheck",
    "OnListen",
    "OnSeen",
    "Report",
    "SeenScan",
    "Verdict",
    "age",
    "combine",
    "device_check",
    "internal_check",
    "seconds_text",
    "short_url",
    "when",
]

TEHRAN: Final = ZoneInfo("Asia/Tehran")


class Verdict(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"


_RANK: Final = {Verdict.OK: 0, Verdict.WARNING: 1, Verdict.FAILED: 2}


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome: a stable ``name``, a verdict, what was found and what to do."""

    name: str
    verdict: Verdict
    detail: str
    advice: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            "detail": self.detail,
            "advice": self.advice,
        }


@dataclass(frozen=True, slots=True)
class SeenScan:
    """A scan seen while listening; ``text`` is masked unless it is a product code."""

    source: str
    kind: str
    text: str
    symbology: str | None
    at: datetime

    def to_json(self) -> dict[str, str | None]:
        return {
            "source": self.source,
            "kind": self.kind,
            "text": self.text,
            "symbology": self.symbology,
            "time": self.at.isoformat(timespec="milliseconds"),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """Every check of one run, in order, and the scans seen."""

    checks: tuple[Check, ...]
    scans: tuple[SeenScan, ...] = ()

    @property
    def failed(self) -> bool:
        return any(c.verdict is Verdict.FAILED for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed (warnings allowed), 1 when something failed."""
        return 1 if self.failed else 0

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for check in self.checks:
            out[check.verdict.value] += 1
        return out

    def to_json(self, *, language: str, config: str | None, terminal: str | None) -> dict[str, Any]:
        return {
            "ok": not self.failed,
            "exit_code": self.exit_code,
            "language": language,
            "config": config,
            "terminal": terminal,
            "summary": self.counts(),
            "checks": [c.to_json() for c in self.checks],
            "scans": [s.to_json() for s in self.scans],
        }


# --------------------------------------------------------------------------- helpers for the checks


def _worst(verdicts: Iterable[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: _RANK[v], default=Verdict.OK)


@dataclass(frozen=True, slots=True)
class Finding:
    verdict: Verdict
    detail: str
    advice: str = ""


def combine(name: str, findings: list[Finding], lang: Lang) -> Check:
    """One check from several findings: the worst verdict, the details and advice joined."""
    verdict = _worst(f.verdict for f in findings)
    details = [f.detail for f in findings if f.detail]
    advice = [f.advice for f in findings if f.advice and f.verdict is not Verdict.OK]
    joint = "؛ " if lang == "fa" else "; "
    return Check(name, verdict, joint.join(details), " ".join(dict.fromkeys(advice)))


def short_url(url: str) -> str:
    """A device URL without its options (what names the device)."""
    return url.split("?", 1)[0]


def device_check(
    name: str, verdict: Verdict, lang: Lang, key: str, url: str, *, advice: str = ""
) -> Check:
    """One device's check: ``key`` said of its URL; ``advice`` defaults to ``key.advice``."""
    return Check(name, verdict, say(lang, key, url=url), say(lang, advice or f"{key}.advice"))


def when(moment: datetime, lang: Lang) -> str:
    """A moment for a sentence, in Tehran time: Jalali with Persian digits, or ISO-like."""
    local = moment.astimezone(TEHRAN)
    if lang == "fa":
        jalali = jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None))
        return to_persian_digits(jalali.strftime("%Y/%m/%d %H:%M"))
    return local.strftime("%Y-%m-%d %H:%M") + " Tehran"


def age(delta: timedelta, lang: Lang) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 120:
        return say(lang, "age.minutes", n=minutes)
    if minutes < 48 * 60:
        return say(lang, "age.hours", n=minutes // 60)
    return say(lang, "age.days", n=minutes // (24 * 60))


def seconds_text(seconds: float) -> int | str:
    return int(seconds) if float(seconds).is_integer() else f"{seconds:g}"


def internal_check(name: str, exc: BaseException, lang: Lang) -> Check:
    """A check that broke unexpectedly: a failed check naming the exception's kind."""
    return Check(
        name,
        Verdict.FAILED,
        say(lang, "internal", kind=type(exc).__name__),
        say(lang, "internal.advice"),
    )


OnCheck = Callable[[Check], None]
OnSeen = Callable[[SeenScan], None]
#: Told ``(device URL, seconds)`` when a scanner is open and the doctor starts listening.
OnListen = Callable[[str, float], None]
