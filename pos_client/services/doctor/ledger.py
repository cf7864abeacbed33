"""The ledger checks: is it reachable, does its clock agree, does it accept the token.

:func:`gather_ledger` asks the ledger (``GET /v1/health``, ``GET /v1/rules``)
and turns every failure into :class:`LedgerFacts`; the ``judge_*`` functions
are pure. The rules the ledger sent are judged in :mod:`.rules`.

Imports the standard library, the domain, the project's errors, the ports,
the signature check of :mod:`pos_client.services.refresh` and the doctor's texts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, Protocol

from pos_client.domain.clock import CLOCK_TOLERANCE
from pos_client.domain.contract import load_json, parse_rule_set
from pos_client.domain.errors import ContractError
from pos_client.domain.models import RuleSet
from pos_client.errors import LedgerRejected, LedgerUnavailable
from pos_client.ports import SignedDocument
from pos_client.services.doctor.base import Check, Verdict
from pos_client.services.doctor.causes import cause
from pos_client.services.doctor_texts import Lang, say
from pos_client.services.refresh import DocumentRefused, verify_signature

__all__ = [
    "CLOCK_FAIL",
    "CLOCK_WARN",
    "AuthState",
    "DoctorLedger",
    "LedgerFacts",
    "gather_ledger",
    "judge_clock",
    "judge_ledger",
    "judge_token",
]

#: Clock differences from the ledger: a warning above the first (the one tolerance the
#: lane's offline approval and status line use too), a failure above the second.
CLOCK_WARN: Final = CLOCK_TOLERANCE
CLOCK_FAIL: Final = timedelta(hours=1)


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
        say(lang, "ledger.unreachable", url=facts.url, why=cause(facts.why, lang)),
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
    if facts.auth == "refused" and facts.auth_code == "401 terminal_revoked":
        return Check(
            "token",
            Verdict.FAILED,
            say(lang, "token.revoked", terminal=terminal),
            say(lang, "token.revoked.advice"),
        )
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
        detail = say(lang, "token.unchecked", why=cause(facts.auth_why or facts.why, lang))
    else:
        detail = say(lang, "token.unreachable")
    return Check("token", Verdict.WARNING, detail, say(lang, "token.unchecked.advice"))


async def gather_ledger(
    open_ledger: Callable[[], DoctorLedger],
    *,
    url: str,
    trusted_keys: Mapping[str, bytes],
    lane_keys: Mapping[str, bytes] | None = None,
) -> LedgerFacts:
    """Ask the ledger for its health and its rules; translate every failure into facts.

    The rules are checked with ``trusted_keys`` (the config's) and ``lane_keys``
    (those the lane trusts now, from its store's rules book: a key withdrawn by
    the rule set in force is not among them).
    """
    ledger = open_ledger()
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
        keys = dict(lane_keys or {})
        keys.update(trusted_keys)
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


def _why(exc: LedgerUnavailable) -> str:
    """Why the ledger could not be used: the network's own words if there are any.

    (``[Errno 111] Connection refused``, a TLS certificate error...), else the
    adapter's reason without its ``what:`` prefix. Neither carries the token.
    """
    origin = exc.__cause__
    text = " ".join(str(origin).split()) if origin is not None else ""
    if text:
        return text[:200]
    head, sep, rest = exc.message.partition(": ")
    return rest if sep and head.isidentifier() else exc.message
