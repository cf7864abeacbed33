"""``pos-client fleet config set|show``: a chain's back office sets its config layers.

::

    pos-client fleet config set chain offline.max_rial_per_transaction=3000000 --ceiling
    pos-client fleet config set store S-017 ui.language=fa
    pos-client fleet config set lane T-0001 offline.enabled=false
    pos-client fleet config show chain

Speaks the fleet contract (``GET`` then ``PUT /v1/config-layers/chain``,
``.../stores/{id}``, ``.../terminals/{id}``), so it works against any ledger
that keeps it. ``set`` changes one key and keeps the layer's other values;
``--lock`` sets the chain's value and locks it; ``--ceiling`` sets the chain's
ceiling for the key (its value is left as it is). The value is checked here,
by the same rules the lanes apply, before anything is sent; the ledger checks
again and names the key and the layer when it refuses.

The merchant admin token comes from ``POS_CLIENT_ADMIN_TOKEN`` or
``--admin-token-file`` and is never printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from pos_client.commands.fleet import add_admin_options, admin_token, ledger_url
from pos_client.commands.lane import emit_json
from pos_client.domain.config_layers import KEYS, flatten_values, nest_values, parse_value_text
from pos_client.errors import ConfigError, LedgerRejected, LedgerUnavailable

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("config", help="the chain's, a store's or a lane's config layer")
    actions = parser.add_subparsers(dest="fleet_config_command", metavar="ACTION", required=True)
    set_ = actions.add_parser(
        "set",
        help="set one key in a layer: set chain|store S|lane T KEY=VALUE [--lock] [--ceiling]",
    )
    set_.add_argument("words", nargs="+", metavar="chain|store S|lane T KEY=VALUE")
    set_.add_argument("--lock", action="store_true", help="lock the chain's value (chain only)")
    set_.add_argument(
        "--ceiling", action="store_true", help="set the chain's ceiling for KEY (chain only)"
    )
    set_.add_argument("--json", action="store_true", help="print the layer as written, as JSON")
    add_admin_options(set_)
    set_.set_defaults(handler=_set)
    show = actions.add_parser("show", help="print a layer: show chain|store S|lane T")
    show.add_argument("words", nargs="+", metavar="chain|store S|lane T")
    show.add_argument("--json", action="store_true", help="print JSON")
    add_admin_options(show)
    show.set_defaults(handler=_show)


def _target(words: list[str]) -> tuple[str, str, list[str]]:
    """``(level, path, the rest)`` from ``chain ...``, ``store S ...`` or ``lane T ...``."""
    if words and words[0] == "chain":
        return "chain", "v1/config-layers/chain", words[1:]
    if len(words) >= 2 and words[0] in ("store", "lane"):
        ident = words[1]
        if not ident or "/" in ident or not ident.isascii():
            raise ConfigError(f"{words[0]} {ident!r}: not an id", key=words[0])
        kind = "stores" if words[0] == "store" else "terminals"
        return words[0], f"v1/config-layers/{kind}/{ident}", words[2:]
    raise ConfigError("say which layer: chain, store S-017 or lane T-0001", key="layer")


def _client(args: argparse.Namespace) -> httpx.Client:
    url = ledger_url(args)
    token = admin_token(args)
    return httpx.Client(
        base_url=url if url.endswith("/") else url + "/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30.0,
    )


def _call(client: httpx.Client, method: str, path: str, body: Any = None) -> dict[str, Any]:
    try:
        answer = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise LedgerUnavailable(f"the ledger cannot be reached ({type(exc).__name__})") from None
    try:
        data = answer.json()
    except ValueError:
        data = None
    if answer.status_code != 200 or not isinstance(data, dict):
        code = str(data.get("code", "")) if isinstance(data, dict) else ""
        detail = str(data.get("detail", "")) if isinstance(data, dict) else ""
        sentences = {
            401: "the merchant admin token is not accepted",
            403: "this token may not change config layers (is it a terminal's token?)",
            404: "no such store or lane for this merchant",
        }
        message = detail or sentences.get(answer.status_code, f"answered {answer.status_code}")
        raise LedgerRejected(
            f"the ledger refused: {message}", status=answer.status_code, code=code or "refused"
        )
    return data


def _layer_body(current: dict[str, Any], level: str) -> dict[str, Any]:
    body: dict[str, Any] = {"values": current.get("values") or {}}
    if level == "chain":
        body["locks"] = list(current.get("locks") or [])
        body["ceilings"] = dict(current.get("ceilings") or {})
    return body


def _print_layer(layer: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        emit_json(layer)
        return
    name = layer.get("level", "?") + (f" {layer['id']}" if layer.get("id") else "")
    print(f"{name} layer, version {layer.get('version')}")
    values = flatten_values(layer.get("values") or {}, layer=name)
    for key in sorted(values):
        lock = "  (locked)" if key in (layer.get("locks") or []) else ""
        print(f"  {key} = {values[key]}{lock}")
    for key, ceiling in sorted((layer.get("ceilings") or {}).items()):
        print(f"  {key} <= {ceiling}  (ceiling)")


def _set(args: argparse.Namespace) -> int:
    level, path, rest = _target(args.words)
    if len(rest) != 1 or "=" not in rest[0]:
        raise ConfigError("say what to set as KEY=VALUE, e.g. offline.enabled=false", key="value")
    key, _, text = rest[0].partition("=")
    key = key.strip()
    value = parse_value_text(key, text)
    if (args.lock or args.ceiling) and level != "chain":
        raise ConfigError("--lock and --ceiling are for the chain layer only", key=key)
    if args.ceiling and not KEYS[key].ceilable:
        raise ConfigError(f"{key}: only a whole-number key has a ceiling", key=key)
    with _client(args) as client:
        current = _call(client, "GET", path)
        body = _layer_body(current, level)
        if args.ceiling:
            body["ceilings"][key] = value
        else:
            flat = flatten_values(body["values"], layer=level)
            flat[key] = value
            body["values"] = nest_values(flat)
            if args.lock and key not in body["locks"]:
                body["locks"].append(key)
        written = _call(client, "PUT", path, body)
    if not args.json:
        what = "ceiling" if args.ceiling else ("locked value" if args.lock else "value")
        print(f"{level}: {key} {what} set to {text.strip()}; version {written.get('version')}")
        print("lanes take it at their next poll, between sales", file=sys.stderr)
    else:
        _print_layer(written, as_json=True)
    return 0


def _show(args: argparse.Namespace) -> int:
    _, path, rest = _target(args.words)
    if rest:
        raise ConfigError(f"unexpected {' '.join(rest)!r}", key="layer")
    with _client(args) as client:
        layer = _call(client, "GET", path)
    _print_layer(layer, as_json=args.json)
    return 0
