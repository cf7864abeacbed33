"""``pos-client void last|ID``: void a sale of this terminal at the ledger (same business day).

``last`` is the terminal's last sale; an ``ID`` is a redemption id (as
``redeem --json`` prints it). An unknown id, a sale of another business day, a
sale already voided or one that did not go ahead is refused with one sentence
(exit 2) and nothing is asked of the ledger. Exit 0 voided, 1 refused by the
ledger or pending (the ledger cannot be reached: the outbox voids it later).
"""

from __future__ import annotations

import argparse
import sys

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import Lane
from pos_client.domain.states import VoidStatus
from pos_client.services.checkout import CheckoutError, CheckoutRefused

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "void",
        help="void a sale (the last one, or one by its id)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "target", metavar="last|ID", help="`last` for the last sale, or a redemption id"
    )
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    async def work(app: Lane) -> int:
        try:
            if args.target == "last":
                result = await app.checkout.void_last()
            else:
                result = await app.checkout.void(args.target)
        except (CheckoutError, CheckoutRefused) as exc:
            if args.json:
                emit_json(
                    {"id": None, "status": "refused", "reason": exc.code, "detail": exc.message}
                )
            print(f"pos-client void: {exc.message}", file=sys.stderr)
            return EXIT_BAD_INPUT if isinstance(exc, CheckoutError) else EXIT_REFUSED
        if args.json:
            emit_json(
                {
                    "id": result.id,
                    "status": str(result.status),
                    "reason": result.reason,
                    "detail": result.detail,
                }
            )
        else:
            print(
                f"{result.id}: {result.status}" + (f" ({result.reason})" if result.reason else "")
            )
        return 0 if result.status is VoidStatus.VOIDED else 1

    return run_with_app(args, work)
