"""The lane agent's operations: the JSON command line's, over the same services.

Each takes the lane (and the request's JSON body or path values) and returns
``(HTTP status, the answer)``; the answer is what the matching command prints
with ``--json``. Bad input raises :class:`~pos_client.errors.BadInput` (or the
service's own error); :mod:`.http` turns every error into a problem document.

=====================  ===========================================
operation              the command it answers like
=====================  ===========================================
inquiry                (the checkout's first step: identify; held for the redeem)
otp                    ``otp request --json``
redeem                 ``redeem --json`` (body: the basket file + the secrets)
void                   ``void last|ID --json``
receipt / print        ``receipt show ID --json`` / ``receipt print ID``
queue / stats / push   ``queue list --json`` / ``queue stats --json`` / ``queue push``
problems / resolve     ``problems list --json`` / ``problems resolve N``
x / z / reconcile      ``report x|z|reconcile --json``
interrupted / finish   ``recover --json`` / ``recover --finish|--cancel ID``
health / doctor        the agent's state / ``doctor --json``
=====================  ===========================================
"""

from __future__ import annotations

import argparse
import logging
from datetime import date
from typing import Any

from pos_client import __version__
from pos_client.commands.problems import problem_json
from pos_client.commands.queue import outbox_json
from pos_client.commands.redeem import EXIT_OK, parse_basket, redeem_sale
from pos_client.compose import Lane
from pos_client.domain.contract_wallet import purse_to_wire
from pos_client.errors import BadInput, CheckoutError, CheckoutRefused, PrinterError
from pos_client.services.checkout import CheckoutSession
from pos_client.services.receipts import receipt_json

from .held import HeldInquiries

__all__ = ["SECRETS", "redeem_args"]

log = logging.getLogger(__name__)

#: The body members of a redeem or an inquiry that name the household (never logged).
SECRETS = ("national_id", "token", "purchase_code")
_REDEEM_KEYS = frozenset({*SECRETS, "otp_challenge", "otp", "lines"})


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{key} must be a non-empty string")
    return value


def _who(body: dict[str, Any]) -> tuple[str, str]:
    """The one identity of a body: ``(national_id|token|purchase_code, value)``."""
    given = [(key, _text(body, key)) for key in SECRETS if body.get(key) is not None]
    if len(given) != 1:
        raise BadInput("give exactly one of national_id, token or purchase_code")
    key, value = given[0]
    assert value is not None
    return key, value


def redeem_args(body: dict[str, Any]) -> tuple[argparse.Namespace, list[Any]]:
    """The redeem body as ``redeem``'s arguments and its basket's lines (checked first)."""
    unknown = sorted(set(body) - _REDEEM_KEYS)
    if unknown:
        raise BadInput(f"unknown member {unknown[0]}")
    key, value = _who(body)
    args = argparse.Namespace(
        national_id=None,
        token=None,
        purchase_code=None,
        otp_challenge=_text(body, "otp_challenge"),
        otp=_text(body, "otp"),
        basket=None,
    )
    setattr(args, key, value)
    if key == "national_id" and (args.otp_challenge is None or args.otp is None):
        # Checked before the lane is taken: a national ID alone never spends credit.
        raise BadInput("a national ID needs otp_challenge and otp (see POST /v1/otp-challenges)")
    return args, parse_basket(body, what="the body")


async def redeem(
    lane: Lane, body: dict[str, Any], held: HeldInquiries | None = None
) -> tuple[int, dict[str, Any], Any]:
    """``redeem --json``: ``(exit status as the command's, its object, the session to
    acknowledge once the caller has the answer)``. A wallet ``held`` from an inquiry of the
    same credential shortly before is used instead of asking the ledger again."""
    args, lines = redeem_args(body)
    identified = None
    if held is not None:
        key, value = _who(body)
        identified = held.take(key, value)
        if identified is not None and lane.checkout.staged_version() is not None:
            # A configuration came after the inquiry: it takes over now, between sales, as
            # a new session would take it (the session reads the limits when it confirms).
            lane.checkout.new_session()
    code, result, session = await redeem_sale(lane, args, lines, identified=identified)
    if result.get("id") and result.get("status") in ("approved_offline", "refused_offline"):
        # The ledger was not reached: the forwarder's next request is a health probe (as at
        # the screen), and what this sale left in the outbox goes once it answers.
        lane.forwarder.wake(unreached=True)
    return (0 if code == EXIT_OK else 1), result, session


def acknowledge(session: CheckoutSession | None) -> None:
    if session is not None:
        session.acknowledge()


async def inquiry(
    lane: Lane, body: dict[str, Any], held: HeldInquiries | None = None
) -> dict[str, Any]:
    """The household's wallet (nothing is spent; a QR token is not used up); ``held`` keeps
    it for a redeem of the same credential shortly after (see :mod:`.held`)."""
    unknown = sorted(set(body) - set(SECRETS))
    if unknown:
        raise BadInput(f"unknown member {unknown[0]}")
    key, value = _who(body)
    generation = held.generation if held is not None else 0
    session = lane.checkout.new_session()
    if key == "national_id":
        household = await session.identify_national_id(value)
    elif key == "token":
        household = await session.identify_token(value)
    else:
        household = await session.identify_purchase_code(value)
    if held is not None:
        held.keep(key, value, session, generation=generation)
    return {
        "identity_kind": household.identity_kind,
        "household": household.masked_id,
        "display_name": household.display_name,
        "household_size": household.household_size,
        "city": household.city,
        "requires_otp": household.requires_otp,
        "offline": household.offline,
        "from_card": household.from_card,
        "wallet_as_of": household.wallet_as_of.isoformat() if household.wallet_as_of else None,
        "offline_allowance_rial": household.offline_allowance_rial,
        "purses": [purse_to_wire(p) for p in household.purses],
    }


async def otp(lane: Lane, body: dict[str, Any]) -> dict[str, Any]:
    """``otp request --json``."""
    unknown = sorted(set(body) - {"national_id"})
    if unknown:
        raise BadInput(f"unknown member {unknown[0]}")
    national_id = _text(body, "national_id")
    if national_id is None:
        raise BadInput("national_id is needed")
    challenge = await lane.checkout.request_otp(national_id)
    return {
        "challenge_id": challenge.challenge_id,
        "expires_at": challenge.expires_at.isoformat() if challenge.expires_at else None,
    }


async def void(lane: Lane, body: dict[str, Any]) -> dict[str, Any]:
    """``void last|ID --json`` (body ``{"id": "last"}`` or ``{"id": "<redemption id>"}``)."""
    unknown = sorted(set(body) - {"id"})
    if unknown:
        raise BadInput(f"unknown member {unknown[0]}")
    target = _text(body, "id")
    if target is None:
        raise BadInput('id is needed: "last" or a redemption id')
    try:
        if target == "last":
            result = await lane.checkout.void_last()
        else:
            result = await lane.checkout.void(target)
    except CheckoutRefused as exc:  # the ledger says no: an answer, as the command prints it
        return {"id": None, "status": "refused", "reason": exc.code, "detail": exc.message}
    return {
        "id": result.id,
        "status": str(result.status),
        "reason": result.reason,
        "detail": result.detail,
    }


def receipt(lane: Lane, sale: str) -> dict[str, Any]:
    """``receipt show ID --json``."""
    return {"id": sale.strip(), **receipt_json(lane.receipts.receipt_for(sale))}


def print_receipt(lane: Lane, sale: str) -> dict[str, Any]:
    """``receipt print ID``: printed again, or a :class:`PrinterError` that says why not."""
    try:
        printed = lane.receipts.print(sale)
    except PrinterError as exc:
        raise PrinterError(
            f"{exc.message}; the sale is recorded: check the printer, then print it again",
            code=exc.code,
        ) from None
    return {"id": sale.strip(), "printed": True, "receipt_code": printed.receipt_code}


def queue(lane: Lane) -> list[dict[str, Any]]:
    """``queue list --json``."""
    return [outbox_json(item) for item in lane.records.outbox()]


def queue_stats(lane: Lane) -> dict[str, Any]:
    """``queue stats --json``."""
    return lane.records.outbox_summary().to_json()


def queue_push(lane: Lane) -> dict[str, Any]:
    """``queue push``: the background forwarder asks the ledger now and drains if it answers."""
    lane.forwarder.push()
    return {"pushed": True, **queue_stats(lane)}


def problems(lane: Lane, *, include_resolved: bool) -> list[dict[str, Any]]:
    """``problems list --json [--all]``."""
    return [problem_json(p) for p in lane.records.problems(include_resolved=include_resolved)]


def resolve_problem(lane: Lane, seq: int) -> dict[str, Any]:
    """``problems resolve N``."""
    if not lane.records.resolve_problem(seq):
        raise BadInput(f"no open problem #{seq}", code="problem_not_found")
    return {"seq": seq, "resolved": True}


def _date(value: Any) -> date | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"not a date (YYYY-MM-DD): {value!r}") from None


def report_x(lane: Lane, day: str | None) -> dict[str, Any]:
    """``report x --json [--date D]``."""
    return lane.reports.x_report(_date(day)).to_json()


async def report_z(lane: Lane, body: dict[str, Any]) -> dict[str, Any]:
    """``report z --json [--date D] [--allow-empty]``."""
    unknown = sorted(set(body) - {"date", "allow_empty"})
    if unknown:
        raise BadInput(f"unknown member {unknown[0]}")
    allow_empty = body.get("allow_empty", False)
    if not isinstance(allow_empty, bool):
        raise BadInput("allow_empty must be true or false")
    plan = lane.reports.plan_close(_date(body.get("date")))
    report = await lane.reports.close_day(plan.business_date, allow_empty=allow_empty)
    return {**report.to_json(), "closed_before": plan.closed is not None}


async def reconcile(lane: Lane, number: int) -> dict[str, Any]:
    """``report reconcile N --json``."""
    return (await lane.reports.reconcile(number)).to_json()


async def interrupted(lane: Lane) -> list[dict[str, Any]]:
    """``recover --json``: each interrupted sale, resolved against the ledger (nothing sent)."""
    out = []
    for outcome in lane.checkout.interrupted():
        if outcome.id:
            out.append((await lane.checkout.resolve_interrupted(outcome.id)).to_json())
    return out


async def settle_interrupted(lane: Lane, sale: str, action: str) -> dict[str, Any]:
    """``recover --finish ID`` or ``--cancel ID``."""
    if sale not in {o.id for o in lane.checkout.interrupted()}:
        raise CheckoutError(f"no interrupted sale {sale}", code="not_interrupted")
    if action == "finish":
        return (await lane.checkout.finish_interrupted(sale)).to_json()
    return (await lane.checkout.cancel_interrupted(sale)).to_json()


def health(lane: Lane, *, busy: bool, started_at: str) -> dict[str, Any]:
    """The agent's state: is it up, is a checkout under way, what waits, which versions."""
    rules = lane.rules.current()
    stats = queue_stats(lane)
    return {
        "status": "ok",
        "terminal_id": lane.config.terminal.id,
        "software_version": __version__,
        "started_at": started_at,
        "busy": busy,
        "rules_version": rules.version if rules is not None else None,
        "config_version": lane.checkout.config_version,
        "queue": stats,
        "interrupted": stats.get("interrupted", 0),
        "problems": stats.get("problems", 0),
        "forwarder": lane.forwarder.last_report.to_json() if lane.forwarder.last_report else None,
    }


async def doctor(lane: Lane) -> dict[str, Any]:
    """``doctor --json``: the lane's checks (config, store, ledger, devices)."""
    from pos_client.compose import build_doctor

    config = lane.config
    report = await build_doctor(config, lang=config.ui.language).run()
    path = str(config.source) if config.source else "-"
    data: dict[str, Any] = report.to_json(
        language=config.ui.language, config=path, terminal=config.terminal.id
    )
    return data
