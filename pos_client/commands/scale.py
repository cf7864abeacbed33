"""``pos-client scale --lane NAME GRAMS``: put an item on a running lane's virtual scale.

The lane (or anything holding ``virtual-scale://NAME``) reads the weight the
next time it asks its scale, through its Mettler Toledo 8217 code, as if an
item lay on the platter. ``--settle N``: the scale says "in motion" for the
next N answers first. ``0`` takes the item off.

Exit codes: 0 put; 1 no running lane has that virtual scale; 2 bad input.
"""

from __future__ import annotations

import argparse
import sys

from drivers.scale import put_on_lane
from pos_client.commands import add_runtime_dir
from pos_client.errors import ScaleError

_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "scale",
        help="put an item on a running lane's virtual scale",
        description="Put GRAMS on the virtual scale virtual-scale://NAME (0 takes it off).",
    )
    parser.add_argument("--lane", required=True, metavar="NAME", help="the virtual scale's name")
    parser.add_argument("grams", metavar="GRAMS", help="the weight in grams, 0 to 99999")
    parser.add_argument(
        "--settle",
        default="0",
        metavar="N",
        help="answers in motion before the weight is stable (default 0)",
    )
    add_runtime_dir(parser)
    parser.set_defaults(handler=_run)


def _whole(text: str) -> int | None:
    value = text.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _run(args: argparse.Namespace) -> int:
    grams, settle = _whole(args.grams), _whole(args.settle)
    if grams is None or settle is None:
        print("pos-client: the weight and --settle are whole numbers", file=sys.stderr)
        return _BAD_INPUT
    try:
        put_on_lane(args.lane, grams, settle=settle, runtime_dir=args.runtime_dir)
    except ScaleError as exc:
        if exc.code == "bad_weight":
            print(f"pos-client: {exc.message}", file=sys.stderr)
            return _BAD_INPUT
        raise
    return 0
