"""``pos-client fleet codes|approve|deny``: a chain's back office enrols lanes.

- ``fleet codes --store S-017 --count 40 --ttl 24h``: single-use store codes for
  installers (printed one a line, or as JSON with ``--json``);
- ``fleet approve CODE --store S [--terminal T]``: approve a lane that shows CODE;
- ``fleet deny CODE``: deny it.

The merchant admin token comes from ``POS_CLIENT_ADMIN_TOKEN`` or
``--admin-token-file`` (see :mod:`.fleet`) and is never printed. A refusal is
one sentence and exit 1 (another merchant's store is "not found", as the ledger
says it); bad input is exit 2.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import Any

from pos_client.commands.fleet import add_admin_options, admin_token, ledger_url
from pos_client.commands.lane import emit_json
from pos_client.compose import open_fleet
from pos_client.errors import ConfigError, LedgerRejected, LedgerUnavailable
from pos_client.services.enrolment import normal_user_code

_TTL = re.compile(r"(\d{1,7})([smhd]?)")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def ttl_seconds(text: str) -> int:
    """``90``, ``90s``, ``30m``, ``24h`` or ``7d`` as seconds."""
    match = _TTL.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration like 24h, 30m or 7d: {text!r}")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    codes = sub.add_parser("codes", help="make single-use store codes for installers")
    codes.add_argument(
        "--store", dest="store_id", metavar="S", required=True, help="the store the codes enrol in"
    )
    codes.add_argument(
        "--count", type=int, default=1, metavar="N", help="how many codes (1-500; default 1)"
    )
    codes.add_argument(
        "--ttl",
        type=ttl_seconds,
        default=86_400,
        metavar="DURATION",
        help="how long they are valid: 30m, 24h, 7d (default 24h)",
    )
    codes.add_argument("--json", action="store_true", help="print one JSON object")
    add_admin_options(codes)
    codes.set_defaults(handler=_codes)

    approve = sub.add_parser("approve", help="approve a lane waiting with CODE")
    approve.add_argument("code", metavar="CODE", help="the code the lane shows (BCDF-GHJK)")
    approve.add_argument(
        "--store", dest="store_id", metavar="S", required=True, help="the store it belongs to"
    )
    approve.add_argument(
        "--terminal", metavar="T", help="an existing terminal id to give it (a replaced device)"
    )
    approve.add_argument("--json", action="store_true", help="print one JSON object")
    add_admin_options(approve)
    approve.set_defaults(handler=_approve)

    deny = sub.add_parser("deny", help="deny a lane waiting with CODE")
    deny.add_argument("code", metavar="CODE", help="the code the lane shows (BCDF-GHJK)")
    deny.add_argument("--json", action="store_true", help="print one JSON object")
    add_admin_options(deny)
    deny.set_defaults(handler=_deny)


_NOT_FOUND = {
    "approve": "No lane waits with that code, or the store or terminal is not this merchant's.",
    "deny": "No lane waits with that code.",
    "codes": "No such store for this merchant.",
}


def _call(args: argparse.Namespace, what: str, work: Callable[[Any], dict[str, Any]]) -> int:
    url = ledger_url(args)
    token = admin_token(args)
    try:
        with open_fleet(url, admin_token=token) as fleet:
            answer = work(fleet)
    except LedgerRejected as exc:
        if exc.status == 404:
            sentence = _NOT_FOUND[what]
        elif exc.code == "enrolment_decided":
            sentence = "That enrolment was already approved or denied."
        elif exc.status == 401:
            sentence = "The ledger does not know this admin token."
        elif exc.status == 403:
            sentence = "This token may not do that: a merchant admin token is needed."
        else:
            sentence = (
                f"The ledger refused it ({exc.code}{': ' + exc.detail if exc.detail else ''})."
            )
        print(sentence, file=sys.stderr)
        return 1
    except LedgerUnavailable as exc:
        print(f"{exc.message}; nothing was changed.", file=sys.stderr)
        return 1
    if args.json:
        emit_json(answer)
    elif what == "codes":
        sys.stdout.write("".join(f"{code}\n" for code in answer.get("codes", [])))
        print(
            f"{len(answer.get('codes', []))} codes for store {args.store_id},"
            f" each usable once, until {answer.get('expires_at')}",
            file=sys.stderr,
        )
    elif what == "approve":
        print(
            f"Approved: the lane becomes terminal {answer.get('terminal_id')} of {args.store_id}."
        )
    else:
        print("Denied: the lane will say so and write nothing.")
    return 0


def _codes(args: argparse.Namespace) -> int:
    if not 1 <= args.count <= 500:
        raise ConfigError("--count must be between 1 and 500", key="count")
    if not 60 <= args.ttl <= 30 * 86_400:
        raise ConfigError("--ttl must be between 1 minute and 30 days", key="ttl")
    return _call(
        args,
        "codes",
        lambda fleet: fleet.make_codes(store_id=args.store_id, count=args.count, ttl_s=args.ttl),
    )


def _approve(args: argparse.Namespace) -> int:
    code = normal_user_code(args.code)
    return _call(
        args,
        "approve",
        lambda fleet: fleet.approve(code, store_id=args.store_id, terminal_id=args.terminal),
    )


def _deny(args: argparse.Namespace) -> int:
    code = normal_user_code(args.code)
    return _call(args, "deny", lambda fleet: fleet.deny(code))
