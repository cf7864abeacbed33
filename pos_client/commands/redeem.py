"""``pos-client redeem``: one redemption from the command line, for scripts and chain software.

::

    pos-client redeem (--national-id ID --otp-challenge C --otp CODE | --token KB1...|KB2...
                       | --purchase-code 12345678) --basket FILE.json [--json]

Each secret may instead come from a private file or standard input
(``--token-file -``, ``--national-id-file``, ``--otp-file``,
``--purchase-code-file``): on the command line it is visible to other users.

The basket file is ``{"lines": [{"barcode": "...", "quantity_milli": 1000,
"unit_price_rial": 120000}]}``; ``quantity_milli`` defaults to one piece and a
missing ``unit_price_rial`` comes from the shop's price list.

Exit status: 0 the sale may go ahead (approved online or offline, or partially
approved), 1 declined or refused (the JSON says why), 2 bad input or config.
``--json`` prints one object, whatever the outcome (also on an error: then
``goes_ahead`` is false and ``reason`` names it, e.g. ``bad_input``), with
``id``, ``status`` (``approved``, ``approved_offline``, ``partially_approved``,
``approved_unsaved``, ``declined``, ``refused_offline``), ``covered_rial``,
``payable_rial``, ``allocations``, ``reason`` and more. ``approved_unsaved``:
the ledger approved the sale but this lane could not save that (disk full, the
store locked): the sale goes ahead (exit 0, with the receipt code) and must not
be done again; ``pos-client recover`` saves it later. A sale whose outcome
stays unknown does not go ahead: it is reported ``refused_offline`` and the
outbox settles it (voids it if the ledger took it). The national ID, the token
and the code are never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.commands.secrets import add_secret_option, resolve_secrets
from pos_client.compose import Lane
from pos_client.domain.bounds import MAX_LINES, check_line, check_quantity_milli, check_unit_price
from pos_client.domain.errors import DomainError
from pos_client.domain.states import SaleStatus
from pos_client.errors import (
    BadInput,
    ConfigError,
    ContractError,
    LedgerError,
    PosError,
    StoreError,
)
from pos_client.services.checkout import CheckoutError, CheckoutRefused, CheckoutSession
from pos_client.services.checkout.offline_token import FROM_CARD_SENTENCE, OFFLINE_SOURCE_CARD
from pos_client.services.refresh import DocumentRefused

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
MAX_BASKET_BYTES = 1024 * 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "redeem",
        help="redeem a basket for a household (national ID + code, QR token or purchase code)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_config_option(parser)
    # The secrets: each also as --NAME-file FILE or - (see pos_client.commands.secrets).
    who = parser.add_mutually_exclusive_group(required=True)
    add_secret_option(who, "--national-id", metavar="ID", help="the household head's national ID")
    add_secret_option(
        who, "--token", metavar="KB1...", help="the QR token from the household's phone"
    )
    add_secret_option(who, "--purchase-code", metavar="CODE", help="the 8-digit single-use code")
    parser.add_argument("--otp-challenge", metavar="C", help="the challenge id of `otp request`")
    add_secret_option(parser, "--otp", metavar="CODE", help="the code texted to the household")
    parser.add_argument("--basket", metavar="FILE.json", required=True, help="the basket file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_run)


def read_basket(path: str) -> list[tuple[str, int | None, int | None]]:
    """``(barcode, quantity_milli or None, unit_price_rial or None)`` per line of a basket file."""
    try:
        raw = Path(path).read_bytes()[: MAX_BASKET_BYTES + 1]
    except OSError as exc:
        raise BadInput(f"cannot read the basket file {path}: {exc.strerror}") from None
    if len(raw) > MAX_BASKET_BYTES:
        raise BadInput("the basket file is too large")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadInput(f"the basket file {path} is not JSON") from None
    return parse_basket(data)


def parse_basket(
    data: Any, *, what: str = "the basket file"
) -> list[tuple[str, int | None, int | None]]:
    """The lines of a basket already read as JSON (``{"lines": [...]}``), checked as
    :func:`read_basket` checks a file's (the lane agent's redeem body is one)."""
    lines = data.get("lines") if isinstance(data, dict) else None
    if not isinstance(lines, list) or not lines:
        raise BadInput(what + ' needs {"lines": [...]} with at least one line')
    if len(lines) > MAX_LINES:
        raise BadInput(f"a basket holds at most {MAX_LINES} lines")
    out: list[tuple[str, int | None, int | None]] = []
    for n, line in enumerate(lines):
        if not isinstance(line, dict):
            raise BadInput(f"basket line {n}: not an object")
        unknown = sorted(set(line) - {"barcode", "quantity_milli", "unit_price_rial"})
        if unknown:
            raise BadInput(f"basket line {n}: unknown field {unknown[0]}")
        barcode = line.get("barcode")
        if not isinstance(barcode, str) or not barcode.strip():
            raise BadInput(f"basket line {n}: barcode must be a string")
        quantity = line.get("quantity_milli")
        if quantity is not None and (type(quantity) is not int or quantity <= 0):
            raise BadInput(f"basket line {n}: quantity_milli must be a whole number above 0")
        price = line.get("unit_price_rial")
        if price is not None and (type(price) is not int or price < 0):
            raise BadInput(f"basket line {n}: unit_price_rial must be a whole number of Rials")
        try:
            if quantity is not None:
                check_quantity_milli(quantity)
            if price is not None:
                check_unit_price(price)
            if quantity is not None and price is not None:
                check_line(quantity, price)
        except ContractError as exc:
            raise BadInput(f"basket line {n}: {exc.message}") from None
        out.append((barcode, quantity, price))
    return out


def _refusal(reason: str, detail: str, *, status: str = "declined") -> dict[str, Any]:
    return {
        "id": None,
        "status": status,
        "goes_ahead": False,
        "total_rial": 0,
        "covered_rial": 0,
        "payable_rial": 0,
        "declined_rial": 0,
        "allocations": [],
        "reason": reason,
        "detail": detail,
    }


async def _ensure_rules(app: Lane) -> None:
    """Fetch the rules (and a first catalog) when the lane holds none or only stale ones."""
    rules = app.rules.current()
    if rules is None or rules.is_expired(app.clock.now()):
        try:
            await app.refresh.sync_rules()
        except (LedgerError, DocumentRefused):
            if rules is None:
                raise
    if app.refresh.catalog_count() == 0:
        try:
            await app.refresh.sync_catalog()
        except (LedgerError, DocumentRefused):
            pass  # without a catalog every line is the household's to pay


async def _identify(
    session: CheckoutSession, args: argparse.Namespace, *, identified: bool = False
) -> None:
    """Identify the household (unless ``identified``: the session's wallet is already read)
    and enter its verification code."""
    if args.national_id is not None:
        if not args.otp_challenge or not args.otp:
            # Checked before any request: a national ID alone never spends credit.
            raise BadInput("a national ID needs --otp-challenge and --otp (see `otp request`)")
        if not identified:
            await session.identify_national_id(args.national_id)
        if session.household().requires_otp:
            session.enter_otp(args.otp, challenge_id=args.otp_challenge)
    elif identified:
        return
    elif args.token is not None:
        await session.identify_token(args.token)
    else:
        await session.identify_purchase_code(args.purchase_code)


async def redeem_sale(
    app: Lane,
    args: argparse.Namespace,
    basket: list[tuple[str, int | None, int | None]] | None = None,
    *,
    identified: CheckoutSession | None = None,
) -> tuple[int, dict[str, Any], CheckoutSession | None]:
    """One sale as ``redeem`` makes it: (exit status, the ``--json`` object, the session to
    acknowledge once the caller has been told). ``basket``: the lines, else ``args.basket``'s.
    ``identified``: a session already identified with ``args``' credential (its wallet
    inquired shortly before): the sale's one exchange with the ledger is then the redemption."""
    if basket is None:
        basket = read_basket(args.basket)
    try:
        await _ensure_rules(app)
    except (LedgerError, DocumentRefused) as exc:
        return EXIT_REFUSED, _refusal("no_rules", exc.message, status="refused_offline"), None
    session = identified or app.checkout.new_session()
    try:
        await _identify(session, args, identified=identified is not None)
        for barcode, quantity, price in basket:
            session.scan(barcode, quantity_milli=quantity, unit_price_rial=price)
    except CheckoutError as exc:
        raise BadInput(exc.message) from None
    except CheckoutRefused as exc:
        status = "refused_offline" if exc.code == "ledger_unavailable" else "declined"
        return EXIT_REFUSED, _refusal(exc.code, exc.message, status=status), None
    try:
        outcome = await session.confirm()
    except CheckoutRefused as exc:
        view = session.basket()
        result = _refusal(exc.code, exc.message)
        result.update(total_rial=view.total_rial, payable_rial=view.total_rial)
        return EXIT_REFUSED, result, None
    except StoreError as exc:
        # Raised only before the sale was written: nothing was sent, nothing charged.
        return EXIT_REFUSED, _refusal("store_error", exc.message), None
    if outcome.status is SaleStatus.UNKNOWN:
        try:
            outcome = await session.abandon()
        except StoreError as exc:
            # Not even the abandon could be written: it stays unknown, for `recover`.
            result = outcome.to_json()
            result.update(
                goes_ahead=False,
                detail=f"{outcome.detail}; {exc.message}: do not redo the sale,"
                " run `pos-client recover`",
            )
            return EXIT_REFUSED, result, None
    result = outcome.to_json()
    if outcome.offline_source == OFFLINE_SOURCE_CARD:
        result["offline_note"] = FROM_CARD_SENTENCE
    return EXIT_OK if outcome.goes_ahead else EXIT_REFUSED, result, session


#: The name the one sale had before the lane agent shared it.
_redeem = redeem_sale


def _human(result: dict[str, Any]) -> str:
    parts = [f"{result['status']}"]
    if result.get("offline_note"):
        parts.append(result["offline_note"])
    if result.get("id"):
        parts.append(f"id {result['id']}")
    parts.append(f"covered {result['covered_rial']} Rial")
    parts.append(f"household pays {result['payable_rial']} Rial")
    if result.get("receipt_code"):
        parts.append(f"receipt {result['receipt_code']}")
    if result.get("reason"):
        parts.append(f"reason: {result['reason']}")
    return ", ".join(parts)


def _run(args: argparse.Namespace) -> int:
    told: list[bool] = []

    async def work(app: Lane) -> int:
        code, result, session = await redeem_sale(app, args)
        if args.json:
            emit_json(result)
        else:
            print(_human(result))
            if result.get("detail") and (
                not result.get("goes_ahead") or result["status"] == SaleStatus.APPROVED_UNSAVED
            ):
                print(result["detail"], file=sys.stderr)
        told.append(True)
        if session is not None:
            try:
                session.acknowledge()  # the caller has been told
            except StoreError as exc:  # it stays interrupted: `recover` finishes it
                print(f"pos-client redeem: {exc.message}", file=sys.stderr)
        return code

    try:
        resolve_secrets(args, ("national_id", "token", "purchase_code", "otp"))
        return run_with_app(args, work)
    except BadInput as exc:
        if args.json and not told:
            emit_json(_refusal("bad_input", str(exc)))
        print(f"pos-client redeem: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PosError as exc:
        if not args.json or told:
            raise
        emit_json(_refusal(exc.code, exc.message))
        print(f"pos-client redeem: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc, (ConfigError, DomainError)) else EXIT_REFUSED
    except Exception:
        if args.json and not told:  # one object still; the sentence comes from the CLI
            emit_json(_refusal("internal_error", "the sale could not be completed"))
        raise
