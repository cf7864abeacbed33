"""The rules and catalog checks: the lane's rules trusted, current and not expired; its
catalog the version the rules name. Both judges are pure.

Imports the standard library and the doctor's own modules and texts only.
"""

from __future__ import annotations

from datetime import datetime

from pos_client.services.doctor.base import Check, Finding, Verdict, age, combine, when
from pos_client.services.doctor.causes import cause
from pos_client.services.doctor.ledger import LedgerFacts
from pos_client.services.doctor.store import StoreFacts
from pos_client.services.doctor_texts import Lang, say

__all__ = ["judge_catalog", "judge_rules"]


def judge_rules(
    store: StoreFacts | None,
    ledger: LedgerFacts | None,
    *,
    now: datetime,
    config: str,
    lang: Lang,
) -> Check:
    """The lane's rules: trusted, current, not expired (pure)."""
    findings: list[Finding] = []
    remote = ledger.rules if ledger is not None else None
    if ledger is not None and ledger.rules_refused:
        findings.append(
            Finding(
                Verdict.FAILED,
                say(lang, "rules.refused", why=cause(ledger.rules_refused, lang)),
                say(lang, "rules.refused.advice", config=config),
            )
        )
    if remote is not None and remote.valid_until <= now:
        findings.append(
            Finding(
                Verdict.WARNING,
                say(lang, "rules.remote_expired", valid_until=when(remote.valid_until, lang)),
                say(lang, "rules.remote_expired.advice"),
            )
        )
    cached = store.rules if store is not None else None
    sync = say(lang, "rules.sync.advice", config=config)
    if cached is None:
        if store is not None and store.rules_untrusted:
            findings.append(Finding(Verdict.WARNING, say(lang, "rules.untrusted_cache"), sync))
        else:
            findings.append(
                Finding(
                    Verdict.WARNING,
                    say(lang, "rules.none"),
                    say(lang, "rules.none.advice", config=config),
                )
            )
        return combine("rules", findings, lang)
    if cached.valid_until <= now:
        findings.append(
            Finding(
                Verdict.WARNING,
                say(
                    lang,
                    "rules.expired",
                    version=cached.version,
                    valid_until=when(cached.valid_until, lang),
                ),
                sync,
            )
        )
    elif remote is not None and remote.version != cached.version:
        findings.append(
            Finding(
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
            valid_until=when(cached.valid_until, lang),
            age=age(now - fetched, lang) if fetched else "?",
        )
        if remote is None and not (ledger is not None and ledger.rules_refused):
            detail += say(lang, "rules.not_compared")
        findings.append(Finding(Verdict.OK, detail))
    return combine("rules", findings, lang)


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
