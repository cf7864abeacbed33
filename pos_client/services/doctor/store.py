"""The store check: the lane's own store (not missing, another or an older copy), opened
read-only, what waits to be sent, problems, free disk space, a catalog that dropped a
large share of the products, a sale left open for over a day.

The store must be the one the lane had, as ``run`` and ``redeem`` check it
(its identity file beside the config): a missing, empty, other or older store
is a failed check with the sentence the lane would say. The doctor adopts
nothing and writes no identity file: it only reports.

:func:`gather_store` reads the facts (never writes); :func:`judge_store` judges
them (pure, "now" handed in).

Imports the standard library, the domain, the project's errors, the rules
book of :mod:`pos_client.services.refresh` and the doctor's texts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from pos_client.domain.errors import PosError
from pos_client.domain.models import RuleSet
from pos_client.errors import StoreRefused
from pos_client.ports import Intent, JournalEntry, OutboxItem
from pos_client.services.doctor.base import Check, Finding, Verdict, combine, when
from pos_client.services.doctor.causes import cause
from pos_client.services.doctor_texts import Lang, say
from pos_client.services.forwarder import OWED_INTENTS, is_stuck
from pos_client.services.refresh import CatalogWarning, RulesBook, last_catalog_warning
from pos_client.services.terminal_config import TerminalConfigBook

__all__ = [
    "LOW_SPACE_BYTES",
    "OPEN_TOO_LONG",
    "DoctorStore",
    "OpenSale",
    "StoreFacts",
    "gather_store",
    "judge_store",
]

#: Below this much free disk space the store check warns.
LOW_SPACE_BYTES: Final = 100 * 1024 * 1024
#: A sale still open (unseen, or without a final answer) this long is named by the store check.
OPEN_TOO_LONG: Final = timedelta(days=1)


class DoctorStore(Protocol):
    """What the doctor reads from the lane store (opened read-only)."""

    def outbox_stats(self) -> dict[str, Any]: ...

    def problems(self, *, include_resolved: bool = False) -> list[Any]: ...

    def catalog_state(self) -> tuple[str | None, str | None, int]: ...

    def outbox(self, *, intents: Iterable[Intent] | None = None) -> list[OutboxItem]: ...

    def oldest_open(self) -> JournalEntry | None: ...

    def load_rules(self) -> tuple[bytes, str, str | None, datetime] | None: ...

    def save_rules(
        self, *, version: str, body: bytes, signature: str, etag: str | None, at: datetime
    ) -> None: ...

    def learned_keys(self) -> dict[str, bytes]: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def learn_keys(self, keys: Mapping[str, bytes], *, at: datetime) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OpenSale:
    """The oldest sale still open: unseen by the cashier, or still owed an answer by the ledger."""

    id: str
    since: datetime
    unseen: bool
    intent: str | None


@dataclass(frozen=True, slots=True)
class StoreFacts:
    """What was found about the store. ``error``: it exists but could not be read.

    ``trusted_keys``: the signing keys the lane trusts now (its config's and
    those the rule set in force announces; never a withdrawn one).
    ``catalog_warning``: the last catalog taken that dropped a large share of
    the products, if the lane holds one. ``refused``: the store at the path is
    not the lane's (missing though the lane had one, empty, another or an older
    copy); the sentence the lane says when it refuses to start.
    """

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
    trusted_keys: Mapping[str, bytes] = field(default_factory=dict)
    catalog_warning: CatalogWarning | None = None
    owed_since: tuple[datetime, ...] = ()  # when each item owed to the ledger was enqueued
    oldest_open: OpenSale | None = None
    refused: str | None = None
    config_version: str | None = None  # the terminal config in force (None: none yet)
    config_error: str | None = None  # why the last one fetched was refused

    @property
    def readable(self) -> bool:
        return self.exists and self.error is None and self.refused is None


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
    facts: StoreFacts,
    *,
    now: datetime,
    max_hours: int,
    config: str,
    lang: Lang,
    stuck_after: timedelta = timedelta(hours=6),
) -> Check:
    """The store's verdict from what was found (pure)."""
    path = str(facts.path)
    folder = str(facts.folder or facts.path.parent)
    if facts.refused is not None:
        return Check(
            "store",
            Verdict.FAILED,
            say(lang, "store.refused", message=facts.refused),
            say(lang, "store.refused.advice", config=config),
        )
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
            say(lang, "store.unreadable", message=cause(facts.error, lang)),
            say(lang, "store.unreadable.advice"),
        )
    contact = when(facts.last_contact, lang) if facts.last_contact else say(lang, "store.never")
    findings = [
        Finding(
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
            Finding(
                Verdict.FAILED,
                say(lang, "store.read_only", path=path),
                say(lang, "store.read_only.advice", folder=folder),
            )
        )
    if facts.free_bytes is not None and facts.free_bytes < LOW_SPACE_BYTES:
        findings.append(
            Finding(
                Verdict.WARNING,
                say(lang, "store.low_space", path=path, free=facts.free_bytes // (1024 * 1024)),
                say(lang, "store.low_space.advice"),
            )
        )
    if facts.problems:
        findings.append(
            Finding(
                Verdict.WARNING,
                say(lang, "store.problems", count=facts.problems),
                say(lang, "store.problems.advice", config=config),
            )
        )
    oldest = facts.oldest_waiting
    if facts.waiting and oldest is not None and now - oldest > timedelta(hours=max_hours):
        findings.append(
            Finding(
                Verdict.WARNING,
                say(lang, "store.stale", count=facts.waiting, oldest=when(oldest, lang)),
                say(lang, "store.stale.advice", config=config),
            )
        )
    dropped = facts.catalog_warning
    if dropped is not None:
        findings.append(
            Finding(
                Verdict.WARNING,
                say(
                    lang,
                    "store.catalog_dropped",
                    version=dropped.version,
                    dropped=dropped.dropped,
                    before=dropped.before,
                    percent=dropped.percent,
                ),
                say(lang, "store.catalog_dropped.advice"),
            )
        )
    stuck = sum(1 for since in facts.owed_since if is_stuck(since, now, stuck_after))
    if stuck:
        findings.append(
            Finding(
                Verdict.FAILED,
                say(
                    lang, "store.stuck", count=stuck, hours=int(stuck_after.total_seconds() // 3600)
                ),
                say(lang, "store.stuck.advice", config=config),
            )
        )
    opened = facts.oldest_open
    if opened is not None and now - opened.since > OPEN_TOO_LONG:
        # An owed sale over the stuck bound is named by that finding already.
        if opened.unseen or not (stuck and opened.intent in OWED_INTENTS):
            kind = "store.open_unseen" if opened.unseen else "store.open_owed"
            findings.append(
                Finding(
                    Verdict.WARNING,
                    say(lang, kind, id=opened.id, since=when(opened.since, lang)),
                    say(lang, kind + ".advice", config=config),
                )
            )
    return combine("store", findings, lang)


def gather_store(
    path: Path,
    *,
    open_store: Callable[[], DoctorStore],
    config_keys: Mapping[str, bytes],
    check_store: Callable[[], object] | None = None,
) -> StoreFacts:
    """Open the store read-only and read what the checks need (never writes).

    ``check_store`` raises :class:`~pos_client.errors.StoreRefused` when the
    path holds no store, or an empty one, though the lane had one; ``open_store``
    raises it for another or an older store. Either is a refused store.
    """
    folder = _nearest_folder(path)
    if check_store is not None:
        try:
            check_store()
        except StoreRefused as exc:
            return StoreFacts(path=path, exists=path.exists(), folder=folder, refused=exc.message)
    if not path.exists():
        writable = os.access(folder, os.W_OK | os.X_OK)
        return StoreFacts(path=path, exists=False, writable=writable, folder=folder)
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
    try:
        free: int | None = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    try:
        store = open_store()
    except StoreRefused as exc:
        return StoreFacts(
            path=path, exists=True, writable=writable, folder=folder, refused=exc.message
        )
    except PosError as exc:
        return StoreFacts(
            path=path, exists=True, writable=writable, folder=folder, error=exc.message
        )
    try:
        stats = store.outbox_stats()
        problems = len(store.problems())
        version, _, count = store.catalog_state()
        cached = store.load_rules()
        book = RulesBook(store=store, config_keys=config_keys)
        rules = book.current()
        trusted = book.trusted_keys()
        dropped = last_catalog_warning(store)
        owed = tuple(item.enqueued_at for item in store.outbox(intents=OWED_INTENTS))
        first = store.oldest_open()
        layered = TerminalConfigBook(store=store, rules=book, file_values={})
        config_version, config_error = layered.version, layered.last_error()
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
        trusted_keys=trusted,
        catalog_warning=dropped,
        owed_since=owed,
        config_version=config_version,
        config_error=config_error,
        oldest_open=None
        if first is None
        else OpenSale(
            id=first.id, since=first.created_at, unseen=not first.seen, intent=first.intent
        ),
    )
