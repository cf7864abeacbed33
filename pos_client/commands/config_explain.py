"""``pos-client config explain [KEY] [--json]``: each effective setting and the layer it came from.

The layers are the chain's, the store's and this lane's (the signed terminal
config last fetched with the rules), the lane's own config file, a chain's
lock and a chain's ceiling, over the built-in defaults. An installer answers
"why does this lane refuse offline sales above 3,000,000 Rials?" with
``pos-client config explain offline.max_rial_per_transaction``.

Reads the lane's store; changes nothing.
"""

from __future__ import annotations

import argparse
from typing import Any

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import Lane
from pos_client.domain.config_layers import KEYS, Effective
from pos_client.errors import ConfigError

_SOURCES = {
    "default": "the built-in default",
    "chain": "the chain's layer",
    "store": "the store's layer",
    "lane": "this lane's layer",
    "file": "this lane's config file",
    "lock": "locked by the chain",
    "ceiling": "capped by the chain's ceiling",
}


def register_explain(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = sub.add_parser(
        "explain", help="each effective setting and the layer it came from (chain, store, lane)"
    )
    add_config_option(explain)
    explain.add_argument("key", nargs="?", metavar="KEY", help="one key, e.g. offline.enabled")
    explain.add_argument("--json", action="store_true", help="print JSON")
    explain.set_defaults(handler=_explain)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    return repr(value) if value == "" else str(value)


_WHO = {
    "default": "the built-in default",
    "chain": "the chain",
    "store": "the store",
    "lane": "this lane's layer",
    "file": "this lane's config file",
    "lock": "the chain's lock",
}


def _why(eff: Effective) -> str:
    why = _SOURCES[eff.source]
    if eff.source == "ceiling":
        who = _WHO.get(eff.wanted_from or "", "a layer")
        why += f" ({who} wanted {_show(eff.capped_from)})"
    elif eff.source == "lock" and eff.wanted_from is not None:
        why += f" ({_WHO.get(eff.wanted_from, 'a layer')} wanted {_show(eff.wanted)})"
    return why


def _explain(args: argparse.Namespace) -> int:
    if args.key is not None and args.key not in KEYS:
        raise ConfigError(
            f"{args.key}: not a layerable key (one of {', '.join(sorted(KEYS))})", key=args.key
        )

    async def work(lane: Lane) -> int:
        book = lane.terminal_config
        assert book is not None
        effective = book.effective()
        keys = [args.key] if args.key else sorted(effective)
        if args.json:
            emit_json(
                {
                    "version": book.version,
                    "running": lane.checkout.config_version or book.version,
                    "last_error": book.last_error(),
                    "keys": [
                        {
                            "key": k,
                            "value": effective[k].value,
                            "source": effective[k].source,
                            "capped_from": effective[k].capped_from,
                            "wanted": effective[k].wanted,
                            "wanted_from": effective[k].wanted_from,
                        }
                        for k in keys
                    ],
                }
            )
            return 0
        version = book.version or "none (not fetched yet: `pos-client rules sync`)"
        print(f"terminal config: {version}")
        if (error := book.last_error()) is not None:
            print(f"the last one fetched was refused: {error}")
        width = max(len(k) for k in keys)
        for key in keys:
            eff = effective[key]
            print(f"{key:<{width}}  {_show(eff.value):>14}  {_why(eff)}")
        return 0

    return run_with_app(args, work, read_only=True)
