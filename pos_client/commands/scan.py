"""``pos-client scan --lane NAME TEXT...``: scan into a running lane's virtual scanner.

Writes one frame per TEXT into the pseudo-terminal that a lane (or ``pos-client
scanner listen virtual://NAME``) published for ``virtual://NAME``, framed the
way that scanner expects. The lane reads it through its serial scanner code,
as if a cashier had scanned it. AIM identifiers may lead the text (``]E0...``).

Exit codes: 0 sent; 1 no running lane has that virtual scanner; 2 bad input.
"""

from __future__ import annotations

import argparse

from drivers.scanner.virtual import send_to_lane
from pos_client.commands import add_runtime_dir


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="send scans to a running lane's virtual scanner",
        description="Send each TEXT as one scan to the virtual scanner virtual://NAME.",
    )
    parser.add_argument("--lane", required=True, metavar="NAME", help="the virtual scanner's name")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="what to scan (one scan each)")
    add_runtime_dir(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    sent = send_to_lane(args.lane, list(args.texts), runtime_dir=args.runtime_dir)
    if sent != len(args.texts):  # pragma: no cover - send_to_lane writes all or raises
        return 1
    return 0
