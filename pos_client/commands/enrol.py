"""``pos-client enrol --ledger URL [--config PATH] [--code BCDF-GHJK]``: make this a chain's lane.

Without ``--code`` the lane shows a user code (as text and as a QR code of the
ledger's approval link) and waits, polling at the ledger's interval, until
someone at the chain approves it (``pos-client fleet approve CODE --store S``),
denies it, or the code expires. With ``--code`` (a store code printed in
advance by ``pos-client fleet codes``) it is enrolled at once.

On success it writes the lane's config (mode 0600; the token is never
printed), fetches the signed rules and catalog into a new store beside it, and
says what to run next. Nothing is written before success, and an existing
config is never replaced.

Exit codes: 0 enrolled; 1 refused (a wrong, used or expired store code, the
ledger unreachable or refusing); 2 bad input (a malformed code, an existing
config); 4 denied by the chain; 5 the code expired before anyone decided.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import sys
from pathlib import Path

from pos_client import __version__
from pos_client.commands.lane import emit_json
from pos_client.commands.output import terminal_qr
from pos_client.compose import open_app, open_fleet
from pos_client.config import load_config, resolve_config_path
from pos_client.errors import LedgerError, LedgerRejected, LedgerUnavailable
from pos_client.services import enrolment
from pos_client.services.enrolment import Credentials, Ending, UserCode

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_DENIED = 4
EXIT_EXPIRED = 5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "enrol",
        help="enrol this lane with a chain's ledger (a code to approve, or a store code)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ledger", metavar="URL", required=True, help="the ledger's base URL")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="where to write the lane's config (default: $POS_CLIENT_CONFIG, then the usual"
        " place); it must not exist yet",
    )
    parser.add_argument(
        "--code", metavar="BCDF-GHJK", help="a store code from the chain: enrol at once"
    )
    parser.add_argument(
        "--hostname", metavar="NAME", help="how the chain sees this lane (default: the hostname)"
    )
    parser.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
    parser.set_defaults(handler=_enrol)


def _say(args: argparse.Namespace, text: str = "") -> None:
    # With --json, what a person reads goes to stderr and stdout keeps one JSON value.
    print(text, file=sys.stderr if args.json else sys.stdout, flush=True)


def _show_code(args: argparse.Namespace, code: UserCode) -> None:
    minutes = max(1, code.expires_in // 60)
    _say(args, f"Enrolment code: {code.user_code}   (valid {minutes} minutes)")
    link = code.verification_uri_complete or code.verification_uri
    for line in terminal_qr(link, shutil.get_terminal_size((80, 24)).columns):
        _say(args, line)
    _say(args, f"Approve it at {code.verification_uri}, or from the back office:")
    _say(args, f"  pos-client fleet approve {code.user_code} --store STORE")
    _say(args, f"Waiting for approval (asking every {code.interval} s; Ctrl-C to stop) ...")


async def _fetch(config_path: str) -> tuple[str | None, str | None, int]:
    config = load_config(config_path)
    async with open_app(config, new_store=True) as lane:
        rules = await lane.refresh.sync_rules()
        catalog = await lane.refresh.sync_catalog(None)
    return rules.version, catalog.version, catalog.total


def _enrolled(args: argparse.Namespace, creds: Credentials, path: str) -> int:
    enrolment.write_lane_config(Path(path), enrolment.lane_config_text(creds))
    outcome: dict[str, object] = {
        "outcome": "enrolled",
        "terminal_id": creds.terminal_id,
        "merchant_id": creds.merchant_id,
        "store_id": creds.store_id,
        "config": path,
    }
    try:
        rules_version, catalog_version, products = asyncio.run(_fetch(path))
    except LedgerError as exc:
        outcome["fetched"] = False
        _say(args, f"Enrolled, but the rules and catalog could not be fetched yet: {exc.message}")
        _say(args, f"Fetch them with: pos-client rules sync --config {path}")
    else:
        outcome.update(fetched=True, rules_version=rules_version, catalog_version=catalog_version)
        _say(
            args,
            f"Enrolled as terminal {creds.terminal_id} of store {creds.store_id}"
            f" (merchant {creds.merchant_id}); config written to {path} (mode 600);"
            f" rules {rules_version}, catalog {catalog_version} ({products} products).",
        )
    _say(args, f"Next: pos-client doctor --config {path}, then pos-client run --config {path}")
    if args.json:
        emit_json(outcome)
    return EXIT_OK


def _enrol(args: argparse.Namespace) -> int:
    path = resolve_config_path(args.config)
    enrolment.refuse_existing(path)
    code = enrolment.normal_user_code(args.code) if args.code else None
    hostname = args.hostname or socket.gethostname() or "lane"
    with open_fleet(args.ledger) as ledger:
        try:
            if code is not None:
                creds = enrolment.with_code(
                    ledger, code, hostname=hostname, software_version=__version__
                )
            else:
                user_code, device_code = enrolment.start(
                    ledger, hostname=hostname, software_version=__version__
                )
                _show_code(args, user_code)
                result = enrolment.wait(ledger, user_code, device_code)
                if result is Ending.DENIED:
                    return _ended(
                        args,
                        "denied",
                        "The chain denied this enrolment; nothing was written.",
                        EXIT_DENIED,
                    )
                if result is Ending.EXPIRED:
                    return _ended(
                        args,
                        "expired",
                        "The enrolment code expired before anyone"
                        " approved it; nothing was written. Run pos-client enrol again"
                        " for a new code.",
                        EXIT_EXPIRED,
                    )
                creds = result
        except LedgerRejected as exc:
            if exc.code == "enrolment_code_invalid":
                sentence = (
                    "That store code is wrong, already used or expired; nothing was written."
                    " Ask the chain for a new one."
                )
            else:
                sentence = f"The ledger refused the enrolment ({exc.code}); nothing was written."
            return _ended(args, "refused", sentence, EXIT_REFUSED)
        except LedgerUnavailable as exc:
            wait = f" Try again in {round(exc.retry_after)} seconds." if exc.retry_after else ""
            return _ended(
                args, "unavailable", f"{exc.message}; nothing was written.{wait}", EXIT_REFUSED
            )
    return _enrolled(args, creds, str(path))


def _ended(args: argparse.Namespace, outcome: str, sentence: str, code: int) -> int:
    print(sentence, file=sys.stderr)
    if args.json:
        emit_json({"outcome": outcome})
    return code
