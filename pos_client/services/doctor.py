"""The lane doctor: checks the config, the store, the ledger and every device, and says what to do.

Used by ``pos-client doctor`` and by the checkout screen's diagnostics. Each
check ends in a frozen :class:`Check` (``name``, ``verdict``, ``detail``,
``advice``) whose verdict is ``ok``, ``warning`` or ``failed``, in English or
Persian. Gathering facts (reading the store, asking the ledger, opening a
device) is kept apart from judging them: the ``judge_*`` functions are pure
and take the facts and "now" as arguments.

Checks, in order::

    config    the file's permissions and trusted keys (an unreadable config is
              :func:`config_unreadable`; the command exits 2 for it)
    store     opened read-only: waiting sales, problems, free disk space
    ledger    GET /v1/health answers
    clock     this computer's clock against the ledger's
    token     GET /v1/rules is answered, not 401/403
    rules     the ledger's rules pass the signature check; the lane's cached
              rules are current and not past valid_until
    catalog   the lane's catalog is the version the rules name
    scanner:URL  opened (and live scans shown for a few seconds, on request)
    printer:URL  asked for its status (and a test page printed, on request)
    scale:URL    asked for a weight once

The doctor never raises: every failure, expected or not, becomes a failed
:class:`Check`. It writes nothing to the store, never records a contact with
the ledger, and never shows the terminal's token or a full national ID (scans
other than products are shown masked).

Imports the standard library, the config, the domain, the project's errors
and :mod:`pos_client.services.refresh`; the ledger, the store and the devices
are handed in (see :func:`pos_client.compose.build_doctor`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import shutil
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal, Protocol
from zoneinfo import ZoneInfo

import jdatetime

from pos_client.config import Config, load_config, resolve_config_path
from pos_client.domain.barcodes import classify_scan
from pos_client.domain.contract import load_json, parse_rule_set
from pos_client.domain.errors import ContractError, PosError
from pos_client.domain.models import RuleSet
from pos_client.domain.money import to_persian_digits
from pos_client.domain.national_id import mask_national_id
from pos_client.errors import ConfigError, DeviceError, LedgerRejected, LedgerUnavailable
from pos_client.ports import Clock, SignedDocument
from pos_client.services.doctor_texts import Lang, label, say
from pos_client.services.refresh import DocumentRefused, RulesBook, verify_signature

__all__ = [
    "Check",
    "DeviceOpeners",
    "Doctor",
    "DoctorLedger",
    "DoctorStore",
    "LedgerFacts",
    "Report",
    "SeenScan",
    "StoreFacts",
    "Verdict",
    "config_unreadable",
    "judge_catalog",
    "judge_clock",
    "judge_ledger",
    "judge_printer",
    "judge_rules",
    "judge_scale",
    "judge_store",
    "judge_token",
    "label",
    "mask_scan",
    "peek_language",
    "read_config",
]

log = logging.getLogger(__name__)

TEHRAN: Final = ZoneInfo("Asia/Tehran")
#: Below this much free disk space the store check warns.
LOW_SPACE_BYTES: Final = 100 * 1024 * 1024
#: Clock differences from the ledger: a warning above the first, a failure above the second.
CLOCK_WARN: Final = timedelta(minutes=2)
CLOCK_FAIL: Final = timedelta(hours=1)
#: How long a scanner may take to open (or to say it cannot).
SCANNER_OPEN_SECONDS: Final = 5.0
#: Device URL errors that mean "fix the config" rather than "check the device".
_BAD_URL_CODES: Final = frozenset({"device_url_invalid", "printer_config", "printer_font"})
#: Scans shown in full; every other kind (national ID, token, purchase code, unknown) is masked.
_SHOWN_KINDS: Final = frozenset({"product", "variable_measure", "gs1"})


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


# --------------------------------------------------------------------------- small helpers


def _worst(verdicts: Iterable[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: _RANK[v], default=Verdict.OK)


@dataclass(frozen=True, slots=True)
class _Finding:
    verdict: Verdict
    detail: str
    advice: str = ""


def _combine(name: str, findings: list[_Finding]) -> Check:
    """One check from several findings: the worst verdict, the details and advice joined."""
    verdict = _worst(f.verdict for f in findings)
    details = [f.detail for f in findings if f.detail]
    advice = [f.advice for f in findings if f.advice and f.verdict is not Verdict.OK]
    return Check(name, verdict, "; ".join(details), " ".join(dict.fromkeys(advice)))


def _short(url: str) -> str:
    """A device URL without its options (what names the device)."""
    return url.split("?", 1)[0]


def _device_check(
    name: str, verdict: Verdict, lang: Lang, key: str, url: str, *, advice: str = ""
) -> Check:
    """One device's check: ``key`` said of its URL; ``advice`` defaults to ``key.advice``."""
    return Check(name, verdict, say(lang, key, url=url), say(lang, advice or f"{key}.advice"))


def _when(moment: datetime, lang: Lang) -> str:
    """A moment for a sentence, in Tehran time: Jalali with Persian digits, or ISO-like."""
    local = moment.astimezone(TEHRAN)
    if lang == "fa":
        jalali = jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None))
        return to_persian_digits(jalali.strftime("%Y/%m/%d %H:%M"))
    return local.strftime("%Y-%m-%d %H:%M") + " Tehran"


def _age(delta: timedelta, lang: Lang) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 120:
        return say(lang, "age.minutes", n=minutes)
    if minutes < 48 * 60:
        return say(lang, "age.hours", n=minutes // 60)
    return say(lang, "age.days", n=minutes // (24 * 60))


def mask_scan(data: str) -> tuple[str, str]:
    """``(kind, text to show)`` for a scan: product codes in full, anything else masked."""
    scan = classify_scan(data)
    if scan.kind in _SHOWN_KINDS:
        return scan.kind, data
    return scan.kind, mask_national_id(data)


def peek_language(path: str | os.PathLike[str] | None) -> Lang | None:
    """``ui.language`` from a config file that may not validate (best effort, never raises)."""
    try:
        data = tomllib.loads(resolve_config_path(path).read_text(encoding="utf-8"))
        value = data.get("ui", {}).get("language")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError, TypeError):
        return None
    return value if value in ("fa", "en") else None


# --------------------------------------------------------------------------- config


def config_unreadable(error: ConfigError, *, path: str, lang: Lang) -> Check:
    """The check for a config that cannot be read or validated (it names the key)."""
    key = error.key or "config"
    detail = say(lang, "config.unreadable", message=error.message)
    if key == "config":
        advice = say(lang, "config.missing.advice")
    else:
        advice = say(lang, "config.unreadable.advice", key=key, path=path)
    return Check("config", Verdict.FAILED, detail, advice)


def read_config(
    path: str | os.PathLike[str] | None, *, lang: Lang | None = None
) -> tuple[Config | None, Check | None, Lang]:
    """Load the config: ``(config, None, lang)``, or ``(None, failed check, lang)``.

    ``lang`` is the one asked for, else the config's ``ui.language`` (read even
    from a file that does not validate, if it can be), else Persian.
    """
    shown = str(resolve_config_path(path))
    try:
        config = load_config(path)
    except ConfigError as exc:
        chosen: Lang = lang or peek_language(path) or "fa"
        return None, config_unreadable(exc, path=shown, lang=chosen), chosen
    chosen = lang or ("en" if config.ui.language == "en" else "fa")
    return config, None, chosen


def judge_config(config: Config, *, mode: int | None, lang: Lang) -> Check:
    """A loaded config: is the file private, and does it hold keys to check the rules with?"""
    path = str(config.source) if config.source else "-"
    findings = [
        _Finding(
            Verdict.OK,
            say(
                lang,
                "config.ok",
                terminal=config.terminal.id,
                city=config.terminal.city,
                url=config.ledger.url,
                path=path,
            ),
        )
    ]
    if mode is not None and mode & 0o077:
        findings.append(
            _Finding(
                Verdict.WARNING,
                say(lang, "config.open_mode", path=path),
                say(lang, "config.open_mode.advice", path=path),
            )
        )
    if not config.ledger.trusted_keys:
        findings.append(
            _Finding(
                Verdict.WARNING,
                say(lang, "config.no_keys"),
                say(lang, "config.no_keys.advice"),
            )
        )
    return _combine("config", findings)


# --------------------------------------------------------------------------- store


class DoctorStore(Protocol):
    """What the doctor reads from the lane store (opened read-only)."""

    def outbox_stats(self) -> dict[str, Any]: ...

    def problems(self, *, include_resolved: bool = False) -> list[Any]: ...

    def catalog_state(self) -> tuple[str | None, str | None, int]: ...

    def load_rules(self) -> tuple[bytes, str, str | None, datetime] | None: ...

    def save_rules(
        self, *, version: str, body: bytes, signature: str, etag: str | None, at: datetime
    ) -> None: ...

    def learned_keys(self) -> dict[str, bytes]: ...

    def learn_keys(self, keys: Mapping[str, bytes], *, at: datetime) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoreFacts:
    """What was found about the store. ``error``: it exists but could not be read."""

    path: Path
    exists: bool
    writable: bool = True
    folder: Path | None = None
    free_bytes: int | None = None
    error: str | None = None
    waiting: int = 0
    oldest_waiting: datetime | None = None
    problems: int = 0
    last_contact: datetime | None = None
    rules: RuleSet | None = None
    rules_untrusted: bool = False
    rules_fetched_at: datetime | None = None
    catalog_version: str | None = None
    catalog_count: int = 0
    learned_keys: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def readable(self) -> bool:
        return self.exists and self.error is None


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _nearest_folder(path: Path) -> Path:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def judge_store(
    facts: StoreFacts, *, now: datetime, max_hours: int, config: str, lang: Lang
) -> Check:
    """The store's verdict from what was found (pure)."""
    path = str(facts.path)
    folder = str(facts.folder or facts.path.parent)
    if not facts.exists:
        if not facts.writable:
            return Check(
                "store",
                Verdict.FAILED,
                say(lang, "store.cannot_create", path=path, folder=folder),
                say(lang, "store.cannot_create.advice", folder=folder, config=config),
            )
        return Check(
            "store",
            Verdict.WARNING,
            say(lang, "store.missing", path=path),
            say(lang, "store.missing.advice", config=config),
        )
    if facts.error is not None:
        return Check(
            "store",
            Verdict.FAILED,
            say(lang, "store.unreadable", message=facts.error),
            say(lang, "store.unreadable.advice"),
        )
    contact = _when(facts.last_contact, lang) if facts.last_contact else say(lang, "store.never")
    findings = [
        _Finding(
            Verdict.OK,
            say(
                lang,
                "store.ok",
                path=path,
                waiting=facts.waiting,
                problems=facts.problems,
                contact=contact,
            ),
        )
    ]
    if not facts.writable:
        findings.append(
            _Finding(
                Verdict.FAILED,
                say(lang, "store.read_only", path=path),
                say(lang, "store.read_only.advice", folder=folder),
            )
        )
    if facts.free_bytes is not None and facts.free_bytes < LOW_SPACE_BYTES:
        findings.append(
            _Finding(
                Verdict.WARNING,
                say(lang, "store.low_space", path=path, free=facts.free_bytes // (1024 * 1024)),
                say(lang, "store.low_space.advice"),
            )
        )
    if facts.problems:
        findings.append(
            _Finding(
                Verdict.WARNING,
                say(lang, "store.problems", count=facts.problems),
                say(lang, "store.problems.advice", config=config),
            )
        )
    oldest = facts.oldest_waiting
    if facts.waiting and oldest is not None and now - oldest > timedelta(hours=max_hours):
        findings.append(
            _Finding(
                Verdict.WARNING,
                say(lang, "store.stale", count=facts.waiting, oldest=_when(oldest, lang)),
                say(lang, "store.stale.advice", config=config),
            )
        )
    return _combine("store", findings)


# --------------------------------------------------------------------------- ledger


class DoctorLedger(Protocol):
    """What the doctor asks the ledger (an :class:`~pos_client.adapters.ledger_http.HttpLedger`)."""

    async def health(self) -> datetime | None: ...

    async def get_rules(self, *, etag: str | None = None) -> SignedDocument | None: ...

    async def aclose(self) -> None: ...


AuthState = Literal["accepted", "refused", "forbidden", "unchecked"]


@dataclass(frozen=True, slots=True)
class LedgerFacts:
    """What the ledger said. ``why`` explains an unreachable ledger or an unchecked token."""

    url: str
    reached: bool
    why: str = ""
    refused_code: str = ""  # the health check itself was refused (4xx)
    time: datetime | None = None
    auth: AuthState = "unchecked"
    auth_code: str = ""
    auth_why: str = ""
    rules: RuleSet | None = None
    rules_refused: str = ""  # why the ledger's rules were refused (signature, malformed)


def judge_ledger(facts: LedgerFacts, *, config: str, lang: Lang) -> Check:
    if facts.reached:
        return Check("ledger", Verdict.OK, say(lang, "ledger.ok", url=facts.url))
    if facts.refused_code:
        return Check(
            "ledger",
            Verdict.FAILED,
            say(lang, "ledger.refused", url=facts.url, why=facts.refused_code),
            say(lang, "ledger.refused.advice", config=config),
        )
    return Check(
        "ledger",
        Verdict.FAILED,
        say(lang, "ledger.unreachable", url=facts.url, why=facts.why),
        say(lang, "ledger.unreachable.advice", config=config),
    )


def judge_clock(ledger_time: datetime, *, now: datetime, lang: Lang) -> Check:
    """This computer's clock against the ledger's (pure)."""
    skew = now - ledger_time
    size = abs(skew)
    if size <= CLOCK_WARN:
        return Check(
            "clock", Verdict.OK, say(lang, "clock.ok", seconds=int(CLOCK_WARN.total_seconds()))
        )
    minutes = max(1, round(size.total_seconds() / 60))
    key = "clock.ahead" if skew > timedelta(0) else "clock.behind"
    verdict = Verdict.FAILED if size > CLOCK_FAIL else Verdict.WARNING
    return Check("clock", verdict, say(lang, key, minutes=minutes), say(lang, "clock.off.advice"))


def judge_token(facts: LedgerFacts, *, terminal: str, config: str, lang: Lang) -> Check:
    if facts.auth == "accepted":
        return Check("token", Verdict.OK, say(lang, "token.ok", terminal=terminal))
    if facts.auth == "refused":
        return Check(
            "token",
            Verdict.FAILED,
            say(lang, "token.refused", code=facts.auth_code),
            say(lang, "token.refused.advice", terminal=terminal, config=config),
        )
    if facts.auth == "forbidden":
        return Check(
            "token",
            Verdict.FAILED,
            say(lang, "token.forbidden", terminal=terminal, code=facts.auth_code),
            say(lang, "token.forbidden.advice"),
        )
    if facts.reached:
        detail = say(lang, "token.unchecked", why=facts.auth_why or facts.why)
    else:
        detail = say(lang, "token.unreachable")
    return Check("token", Verdict.WARNING, detail, say(lang, "token.unchecked.advice"))


def judge_rules(
    store: StoreFacts | None,
    ledger: LedgerFacts | None,
    *,
    now: datetime,
    config: str,
    lang: Lang,
) -> Check:
    """The lane's rules: trusted, current, not expired (pure)."""
    findings: list[_Finding] = []
    remote = ledger.rules if ledger is not None else None
    if ledger is not None and ledger.rules_refused:
        findings.append(
            _Finding(
                Verdict.FAILED,
                say(lang, "rules.refused", why=ledger.rules_refused),
                say(lang, "rules.refused.advice", config=config),
            )
        )
    if remote is not None and remote.valid_until <= now:
        findings.append(
            _Finding(
                Verdict.WARNING,
                say(lang, "rules.remote_expired", valid_until=_when(remote.valid_until, lang)),
                say(lang, "rules.remote_expired.advice"),
            )
        )
    cached = store.rules if store is not None else None
    sync = say(lang, "rules.sync.advice", config=config)
    if cached is None:
        if store is not None and store.rules_untrusted:
            findings.append(_Finding(Verdict.WARNING, say(lang, "rules.untrusted_cache"), sync))
        else:
            findings.append(
                _Finding(
                    Verdict.WARNING,
                    say(lang, "rules.none"),
                    say(lang, "rules.none.advice", config=config),
                )
            )
        return _combine("rules", findings)
    if cached.valid_until <= now:
        findings.append(
            _Finding(
                Verdict.WARNING,
                say(
                    lang,
                    "rules.expired",
                    version=cached.version,
                    valid_until=_when(cached.valid_until, lang),
                ),
                sync,
            )
        )
    elif remote is not None and remote.version != cached.version:
        findings.append(
            _Finding(
                Verdict.WARNING,
                say(lang, "rules.behind", version=cached.version, remote=remote.version),
                sync,
            )
        )
    else:
        fetched = store.rules_fetched_at if store is not None else None
        detail = say(
            lang,
            "rules.ok",
            version=cached.version,
            valid_until=_when(cached.valid_until, lang),
            age=_age(now - fetched, lang) if fetched else "?",
        )
        if remote is None and not (ledger is not None and ledger.rules_refused):
            detail += say(lang, "rules.not_compared")
        findings.append(_Finding(Verdict.OK, detail))
    return _combine("rules", findings)


def judge_catalog(
    store: StoreFacts | None, ledger: LedgerFacts | None, *, config: str, lang: Lang
) -> Check:
    """The lane's catalog against the version its rules name (pure)."""
    if store is None or not store.readable:
        if store is not None and not store.exists:
            return Check(
                "catalog",
                Verdict.WARNING,
                say(lang, "catalog.none"),
                say(lang, "catalog.sync.advice", config=config),
            )
        return Check(
            "catalog",
            Verdict.WARNING,
            say(lang, "catalog.unknown"),
            say(lang, "catalog.unknown.advice"),
        )
    if not store.catalog_count or not store.catalog_version:
        return Check(
            "catalog",
            Verdict.WARNING,
            say(lang, "catalog.none"),
            say(lang, "catalog.sync.advice", config=config),
        )
    rules = (ledger.rules if ledger is not None else None) or store.rules
    expected = rules.catalog_version if rules is not None else None
    if expected is not None and expected != store.catalog_version:
        return Check(
            "catalog",
            Verdict.WARNING,
            say(lang, "catalog.behind", version=store.catalog_version, expected=expected),
            say(lang, "catalog.sync.advice", config=config),
        )
    return Check(
        "catalog",
        Verdict.OK,
        say(lang, "catalog.ok", version=store.catalog_version, count=store.catalog_count),
    )


# --------------------------------------------------------------------------- devices


@dataclass(frozen=True, slots=True)
class DeviceOpeners:
    """How to open each kind of device from its URL (the drivers, or fakes in unit tests).

    ``open_scanner(url, on_scan=..., on_state=...)`` returns a scanner with
    ``start()``/``stop()``; ``open_printer(url)`` one with ``status()``,
    ``print_test_page(rows=...)`` and ``close()``; ``open_scale(url)`` an open
    scale with ``read_once()`` and ``close()``. Each raises a
    :class:`~pos_client.errors.DeviceError` when it cannot.
    """

    open_scanner: Callable[..., Any]
    open_printer: Callable[[str], Any]
    open_scale: Callable[[str], Any]


def _device_error(
    name: str, url: str, exc: DeviceError, *, key: str, config: str, lang: Lang, missing: str
) -> Check:
    """A device error in words: a bad URL, a device in use, or one not there."""
    short = _short(url)
    if exc.code in _BAD_URL_CODES:
        return Check(
            name,
            Verdict.FAILED,
            say(lang, "device.bad_url", message=exc.message),
            say(lang, "device.bad_url.advice", key=key, config=config),
        )
    if exc.code == "device_busy":
        return _device_check(name, Verdict.WARNING, lang, "device.busy", short)
    return Check(
        name,
        Verdict.FAILED,
        say(lang, missing, url=short, why=exc.message),
        say(lang, missing + ".advice", config=config),
    )


def judge_printer(name: str, url: str, status: Any, *, printed: bool, lang: Lang) -> Check:
    """A printer's real-time status (``online``, ``paper``) in words (pure)."""
    short = _short(url)
    paper = str(getattr(getattr(status, "paper", None), "value", "unknown"))
    online = getattr(status, "online", None)
    if paper == "out":
        return _device_check(name, Verdict.FAILED, lang, "printer.paper_out", short)
    if online is False:
        return _device_check(name, Verdict.FAILED, lang, "printer.offline", short)
    if printed:
        detail = say(lang, "printer.printed", url=short)
    elif paper == "unknown":
        detail = say(lang, "printer.ok_unknown", url=short)
    else:
        detail = say(lang, "printer.ok", url=short)
        if paper == "ok":
            detail += say(lang, "printer.paper_ok")
    if short.startswith("dummy:"):
        detail += say(lang, "printer.virtual")
    findings = [_Finding(Verdict.OK, detail)]
    if paper == "low":
        findings.append(
            _Finding(
                Verdict.WARNING,
                say(lang, "printer.paper_low", url=short),
                say(lang, "printer.paper_low.advice"),
            )
        )
    return _combine(name, findings)


def judge_scale(name: str, url: str, reading: Any, *, lang: Lang) -> Check:
    """One answer from a scale (``grams``, ``status``) in words (pure)."""
    short = _short(url)
    grams = getattr(reading, "grams", None)
    if grams is not None:
        return Check(name, Verdict.OK, say(lang, "scale.ok", url=short, grams=int(grams)))
    status = getattr(reading, "status", None)
    if getattr(status, "over_capacity", False):
        return _device_check(
            name, Verdict.WARNING, lang, "scale.over", short, advice="scale.zero.advice"
        )
    if getattr(status, "under_zero", False):
        return _device_check(
            name, Verdict.WARNING, lang, "scale.under", short, advice="scale.zero.advice"
        )
    return _device_check(name, Verdict.WARNING, lang, "scale.motion", short)


def _seconds_text(seconds: float) -> int | str:
    return int(seconds) if float(seconds).is_integer() else f"{seconds:g}"


# --------------------------------------------------------------------------- the doctor

OnCheck = Callable[[Check], None]
OnSeen = Callable[[SeenScan], None]
#: Told ``(device URL, seconds)`` when a scanner is open and the doctor starts listening.
OnListen = Callable[[str, float], None]


class Doctor:
    """Runs the checks for one lane. Build it with :func:`pos_client.compose.build_doctor`."""

    def __init__(
        self,
        config: Config,
        *,
        lang: Lang,
        clock: Clock,
        open_ledger: Callable[[], DoctorLedger],
        open_store: Callable[[], DoctorStore],
        devices: DeviceOpeners,
        scanner_open_seconds: float = SCANNER_OPEN_SECONDS,
    ) -> None:
        self.config = config
        self.lang: Lang = lang
        self.clock = clock
        self._open_ledger = open_ledger
        self._open_store = open_store
        self.devices = devices
        self.scanner_open_seconds = scanner_open_seconds

    @property
    def config_path(self) -> str:
        return str(self.config.source) if self.config.source else "FILE"

    # ------------------------------------------------------------------ guards

    def _internal(self, name: str, exc: BaseException) -> Check:
        return Check(
            name,
            Verdict.FAILED,
            say(self.lang, "internal", kind=type(exc).__name__),
            say(self.lang, "internal.advice"),
        )

    def _safely(self, name: str, work: Callable[[], Check]) -> Check:
        try:
            return work()
        except Exception as exc:  # the doctor never crashes: a broken check is a failed check
            log.debug("doctor: the %s check failed", name, exc_info=True)
            return self._internal(name, exc)

    # ------------------------------------------------------------------ config

    def check_config(self) -> Check:
        def work() -> Check:
            mode: int | None = None
            if self.config.source is not None:
                try:
                    mode = self.config.source.stat().st_mode
                except OSError:
                    mode = None
            return judge_config(self.config, mode=mode, lang=self.lang)

        return self._safely("config", work)

    # ------------------------------------------------------------------ store

    def gather_store(self) -> StoreFacts:
        """Open the store read-only and read what the checks need (never writes)."""
        path = Path(self.config.store.path)
        folder = _nearest_folder(path)
        if not path.exists():
            writable = os.access(folder, os.W_OK | os.X_OK)
            return StoreFacts(path=path, exists=False, writable=writable, folder=folder)
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
        try:
            free: int | None = shutil.disk_usage(path.parent).free
        except OSError:
            free = None
        try:
            store = self._open_store()
        except PosError as exc:
            return StoreFacts(
                path=path, exists=True, writable=writable, folder=folder, error=exc.message
            )
        try:
            stats = store.outbox_stats()
            problems = len(store.problems())
            version, _, count = store.catalog_state()
            cached = store.load_rules()
            book = RulesBook(store=store, config_keys=self.config.ledger.trusted_keys)
            rules = book.current()
            learned = dict(store.learned_keys())
        except PosError as exc:
            return StoreFacts(
                path=path, exists=True, writable=writable, folder=folder, error=exc.message
            )
        finally:
            store.close()
        return StoreFacts(
            path=path,
            exists=True,
            writable=writable,
            folder=folder,
            free_bytes=free,
            waiting=int(stats.get("count", 0)),
            oldest_waiting=_parse_time(stats.get("oldest")),
            problems=problems,
            last_contact=_parse_time(stats.get("last_contact")),
            rules=rules,
            rules_untrusted=cached is not None and rules is None,
            rules_fetched_at=cached[3] if cached is not None else None,
            catalog_version=version,
            catalog_count=count,
            learned_keys=learned,
        )

    def check_store(self, facts: StoreFacts) -> Check:
        return self._safely(
            "store",
            lambda: judge_store(
                facts,
                now=self.clock.now(),
                max_hours=self.config.offline.max_hours_since_contact,
                config=self.config_path,
                lang=self.lang,
            ),
        )

    # ------------------------------------------------------------------ ledger

    async def gather_ledger(
        self, *, learned_keys: Mapping[str, bytes] | None = None
    ) -> LedgerFacts:
        """Ask the ledger for its health and its rules; translate every failure into facts."""
        url = self.config.ledger.url
        ledger = self._open_ledger()
        try:
            try:
                ledger_time = await ledger.health()
            except LedgerRejected as exc:
                return LedgerFacts(
                    url=url,
                    reached=False,
                    refused_code=f"{exc.status} {exc.code}",
                    why=exc.message,
                    auth_why=exc.message,
                )
            except LedgerUnavailable as exc:
                return LedgerFacts(url=url, reached=False, why=_why(exc), auth_why=_why(exc))
            try:
                document = await ledger.get_rules()
            except LedgerRejected as exc:
                state: AuthState = "refused" if exc.status == 401 else "forbidden"
                if exc.status not in (401, 403):
                    state = "unchecked"
                return LedgerFacts(
                    url=url,
                    reached=True,
                    time=ledger_time,
                    auth=state,
                    auth_code=f"{exc.status} {exc.code}",
                    auth_why=exc.message,
                )
            except LedgerUnavailable as exc:
                return LedgerFacts(url=url, reached=True, time=ledger_time, auth_why=_why(exc))
        finally:
            await ledger.aclose()
        rules: RuleSet | None = None
        refused = ""
        if document is not None:
            keys = dict(learned_keys or {})
            keys.update(self.config.ledger.trusted_keys)
            try:
                verify_signature(document.body, document.signature, keys)
                rules = parse_rule_set(load_json(document.body))
            except DocumentRefused as exc:
                refused = exc.message
            except ContractError as exc:
                refused = f"the rule set is malformed: {exc.message}"
        return LedgerFacts(
            url=url,
            reached=True,
            time=ledger_time,
            auth="accepted",
            rules=rules,
            rules_refused=refused,
        )

    def judge_ledger_checks(self, store: StoreFacts | None, facts: LedgerFacts) -> list[Check]:
        now = self.clock.now()
        config = self.config_path
        lang = self.lang
        checks = [judge_ledger(facts, config=config, lang=lang)]
        if facts.time is not None:
            checks.append(judge_clock(facts.time, now=now, lang=lang))
        checks.append(
            judge_token(facts, terminal=self.config.terminal.id, config=config, lang=lang)
        )
        checks.append(judge_rules(store, facts, now=now, config=config, lang=lang))
        checks.append(judge_catalog(store, facts, config=config, lang=lang))
        return checks

    # ------------------------------------------------------------------ devices

    def check_scanner(
        self,
        url: str,
        *,
        scan_seconds: float = 0.0,
        on_scan: OnSeen | None = None,
        on_listen: OnListen | None = None,
    ) -> tuple[Check, list[SeenScan]]:
        """Open a scanner, wait until it is connected (or says why not), listen if asked."""
        name = f"scanner:{_short(url)}"
        seen: list[SeenScan] = []
        try:
            return self._scanner(name, url, scan_seconds, on_scan, on_listen, seen), seen
        except Exception as exc:
            log.debug("doctor: the %s check failed", name, exc_info=True)
            return self._internal(name, exc), seen

    def _scanner(
        self,
        name: str,
        url: str,
        scan_seconds: float,
        on_scan: OnSeen | None,
        on_listen: OnListen | None,
        seen: list[SeenScan],
    ) -> Check:
        lang, config, short = self.lang, self.config_path, _short(url)
        events: queue.Queue[Any] = queue.Queue()
        key = "devices.scanners"
        try:
            scanner = self.devices.open_scanner(url, on_scan=events.put, on_state=events.put)
        except DeviceError as exc:
            return _device_error(
                name, url, exc, key=key, config=config, lang=lang, missing="scanner.missing"
            )
        try:
            try:
                scanner.start()
            except DeviceError as exc:
                return _device_error(
                    name, url, exc, key=key, config=config, lang=lang, missing="scanner.missing"
                )
            state = self._first_state(events)
            if state is None:
                return Check(
                    name,
                    Verdict.FAILED,
                    say(lang, "scanner.timeout", url=short, seconds=int(self.scanner_open_seconds)),
                    say(lang, "scanner.missing.advice", config=config),
                )
            if str(state.status) != "connected":
                why = str(getattr(state, "detail", "") or state.status)
                if "in use" in why:
                    return _device_check(name, Verdict.WARNING, lang, "device.busy", short)
                return Check(
                    name,
                    Verdict.FAILED,
                    say(lang, "scanner.missing", url=short, why=why),
                    say(lang, "scanner.missing.advice", config=config),
                )
            if scan_seconds <= 0:
                return Check(name, Verdict.OK, say(lang, "scanner.ok", url=short))
            if on_listen is not None:
                try:
                    on_listen(short, scan_seconds)
                except Exception:
                    log.warning("doctor: announcing the listening failed", exc_info=True)
            lost = self._listen(events, scan_seconds, on_scan, seen)
        finally:
            scanner.stop()
        seconds = _seconds_text(scan_seconds)
        if lost is not None:
            return Check(
                name,
                Verdict.FAILED,
                say(lang, "scanner.lost", url=short, why=lost),
                say(lang, "scanner.missing.advice", config=config),
            )
        if not seen:
            return Check(
                name,
                Verdict.WARNING,
                say(lang, "scanner.no_scans", url=short, seconds=seconds),
                say(lang, "scanner.no_scans.advice"),
            )
        return Check(
            name,
            Verdict.OK,
            say(lang, "scanner.scans", url=short, count=len(seen), seconds=seconds),
        )

    def _first_state(self, events: queue.Queue[Any]) -> Any | None:
        """The first state past "connecting" (connected, or disconnected and why), or None."""
        deadline = time.monotonic() + self.scanner_open_seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                event = events.get(timeout=remaining)
            except queue.Empty:
                return None
            status = getattr(event, "status", None)
            if status is not None and str(status) != "connecting":
                return event

    def _listen(
        self,
        events: queue.Queue[Any],
        seconds: float,
        on_scan: OnSeen | None,
        seen: list[SeenScan],
    ) -> str | None:
        """Collect scans for ``seconds``; return why the scanner was lost, if it was."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = events.get(timeout=remaining)
            except queue.Empty:
                break
            status = getattr(event, "status", None)
            if status is not None:
                if str(status) == "disconnected":
                    return str(getattr(event, "detail", "") or status)
                continue
            kind, text = mask_scan(str(event.data))
            scan = SeenScan(
                source=str(event.source),
                kind=kind,
                text=text,
                symbology=event.symbology,
                at=event.received_at,
            )
            seen.append(scan)
            if on_scan is not None:
                try:
                    on_scan(scan)
                except Exception:
                    log.warning("doctor: showing a scan failed", exc_info=True)
        return None

    def check_printer(self, url: str, *, print_test: bool = False) -> Check:
        """Ask the printer for its status; print a test page if asked and it is ready."""
        name = f"printer:{_short(url)}"
        return self._safely(name, lambda: self._printer(name, url, print_test))

    def _printer(self, name: str, url: str, print_test: bool) -> Check:
        lang, config, short = self.lang, self.config_path, _short(url)

        def failed(exc: DeviceError) -> Check:
            return _device_error(
                name,
                url,
                exc,
                key="devices.printer",
                config=config,
                lang=lang,
                missing="printer.unreachable",
            )

        try:
            printer = self.devices.open_printer(url)
        except DeviceError as exc:
            return failed(exc)
        try:
            try:
                status = printer.status()
            except DeviceError as exc:
                return failed(exc)
            verdict = judge_printer(name, url, status, printed=False, lang=lang)
            if not print_test or verdict.verdict is Verdict.FAILED:
                return verdict
            try:
                printer.print_test_page(rows=self._test_rows())
            except DeviceError as exc:
                return Check(
                    name,
                    Verdict.FAILED,
                    say(lang, "printer.failed", url=short, why=exc.message),
                    say(lang, "printer.unreachable.advice"),
                )
            return judge_printer(name, url, status, printed=True, lang=lang)
        finally:
            try:
                printer.close()
            except DeviceError:
                log.debug("doctor: the printer did not close cleanly", exc_info=True)

    def _test_rows(self) -> tuple[tuple[str, str], ...]:
        terminal = self.config.terminal
        rows = [("پایانه", terminal.id)]
        if terminal.shop_name:
            rows.append(("فروشگاه", terminal.shop_name))
        rows.append(("زمان", _when(self.clock.now(), "fa")))
        return tuple(rows)

    def check_scale(self, url: str) -> Check:
        """Ask the scale once for its weight."""
        name = f"scale:{_short(url)}"
        return self._safely(name, lambda: self._scale(name, url))

    def _scale(self, name: str, url: str) -> Check:
        lang, config = self.lang, self.config_path

        def failed(exc: DeviceError) -> Check:
            return _device_error(
                name,
                url,
                exc,
                key="devices.scale",
                config=config,
                lang=lang,
                missing="scale.missing",
            )

        try:
            scale = self.devices.open_scale(url)
        except DeviceError as exc:
            return failed(exc)
        try:
            try:
                reading = scale.read_once()
            except DeviceError as exc:
                return failed(exc)
            return judge_scale(name, url, reading, lang=lang)
        finally:
            try:
                scale.close()
            except DeviceError:
                log.debug("doctor: the scale did not close cleanly", exc_info=True)

    # ------------------------------------------------------------------ everything

    async def run(
        self,
        *,
        print_test: bool = False,
        scan_seconds: float = 0.0,
        on_check: OnCheck | None = None,
        on_scan: OnSeen | None = None,
        on_listen: OnListen | None = None,
        devices: bool = True,
    ) -> Report:
        """Run every check in order; ``on_check`` sees each one as soon as it is done.

        ``devices=False`` leaves the devices out (a running checkout holds them
        and shows their state itself).
        """
        checks: list[Check] = []
        scans: list[SeenScan] = []

        def add(check: Check) -> None:
            checks.append(check)
            if on_check is not None:
                try:
                    on_check(check)
                except Exception:
                    log.warning("doctor: showing a check failed", exc_info=True)

        add(self.check_config())

        store: StoreFacts | None
        try:
            store = await asyncio.to_thread(self.gather_store)
        except Exception as exc:
            log.debug("doctor: the store check failed", exc_info=True)
            store = None
            add(self._internal("store", exc))
        if store is not None:
            add(self.check_store(store))

        ledger_checks = await self._ledger_checks(store)
        for check in ledger_checks:
            add(check)

        if devices:
            await self._device_checks(add, scans, print_test, scan_seconds, on_scan, on_listen)
        return Report(tuple(checks), tuple(scans))

    async def _device_checks(
        self,
        add: OnCheck,
        scans: list[SeenScan],
        print_test: bool,
        scan_seconds: float,
        on_scan: OnSeen | None,
        on_listen: OnListen | None,
    ) -> None:
        devices = self.config.devices
        if not devices.scanners:
            add(Check("scanner", Verdict.OK, say(self.lang, "scanner.none")))
        for url in devices.scanners:
            check, seen = await asyncio.to_thread(
                self.check_scanner,
                url,
                scan_seconds=scan_seconds,
                on_scan=on_scan,
                on_listen=on_listen,
            )
            scans.extend(seen)
            add(check)
        if devices.printer:
            add(await asyncio.to_thread(self.check_printer, devices.printer, print_test=print_test))
        else:
            add(
                Check(
                    "printer",
                    Verdict.WARNING,
                    say(self.lang, "printer.none"),
                    say(self.lang, "printer.none.advice", config=self.config_path),
                )
            )
        if devices.scale:
            add(await asyncio.to_thread(self.check_scale, devices.scale))

    async def _ledger_checks(self, store: StoreFacts | None) -> list[Check]:
        try:
            facts = await self.gather_ledger(
                learned_keys=store.learned_keys if store is not None else None
            )
        except Exception as exc:
            log.debug("doctor: the ledger check failed", exc_info=True)
            return [self._internal("ledger", exc)]
        try:
            return self.judge_ledger_checks(store, facts)
        except Exception as exc:
            log.debug("doctor: the rules check failed", exc_info=True)
            return [self._internal("rules", exc)]


def _why(exc: LedgerUnavailable) -> str:
    """Why the ledger could not be used: the network's own words if there are any.

    (``[Errno 111] Connection refused``, a TLS certificate error...), else the
    adapter's reason without its ``what:`` prefix. Neither carries the token.
    """
    cause = exc.__cause__
    text = " ".join(str(cause).split()) if cause is not None else ""
    if text:
        return text[:200]
    head, sep, rest = exc.message.partition(": ")
    return rest if sep and head.isidentifier() else exc.message
