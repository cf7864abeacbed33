"""``pos-client fleet status``: every lane's state from the chain's broker, neediest first.

Connects to the broker as a reader account (``--broker mqtt://USER@HOST:PORT``,
the password from ``--password-file`` or ``$POS_CLIENT_BROKER_PASSWORD``: see
:mod:`pos_client.commands.fleet_broker`), reads the lanes' retained states until
the burst settles (no retained message for half a second; at most ``--wait``),
and prints the lanes that need a person, ranked (offline, invalid message,
silent longer than ``--stale``, ledger unreachable, unsent items oldest first,
unsent money, problems, devices), then a summary per store and for the chain.

``--json`` prints one object (stable; documented in the README, "Fleet view")::

    {"version": 1, "generated_at": "...", "broker": "mqtt://fleet@host:1883",
     "stale_after_s": 300, "settled": true,
     "lanes": [ ...every lane, ranked, as pos_client.domain.fleet_view.lane_json... ],
     "stores": [{"merchant_id", "store_id", "lanes", "online", ...}],
     "chain": {"lanes", "online", "stale", "offline", "unknown", "invalid",
               "needs_person", "unsent_count", "unsent_rial", "problems"}}

Exit status: 0 answered (whatever the lanes' state), 1 the broker cannot be
reached or refuses the account, 2 bad input.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from pos_client.commands.fleet_broker import add_broker_options, broker_password, broker_url
from pos_client.commands.lane import emit_json
from pos_client.compose import broker_endpoint, fleet_reader
from pos_client.domain.fleet_view import (
    DEFAULT_STALE,
    Assessment,
    LaneRecord,
    Totals,
    lane_json,
    parse_duration,
    ranked,
    summarize,
    totals_json,
)
from pos_client.domain.money import Lang
from pos_client.services.fleet_texts import age, ident, say
from pos_client.services.fleet_watch import FleetWatch

JSON_VERSION = 1
_QUIET_S = 0.5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="every lane's state from the chain's broker: the lanes that need a person first",
        description="Reads the lanes' retained telemetry states from the chain's MQTT broker"
        " as a reader account and prints the lanes that need a person first, then a summary"
        " per store and for the chain.",
    )
    add_broker_options(parser)
    parser.add_argument(
        "--store", dest="store_id", metavar="S", help="only this store's lanes (a store id)"
    )
    parser.add_argument(
        "--stale",
        metavar="AGE",
        default="5m",
        help="a lane whose last state is older than this is silent (default 5m; s, m, h, d)",
    )
    parser.add_argument(
        "--wait",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="read the retained states for at most this long (default 10)",
    )
    parser.add_argument("--lang", choices=("en", "fa"), default="en", help="language of the text")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    stale = parse_duration(args.stale) if args.stale else DEFAULT_STALE
    endpoint = broker_endpoint(broker_url(args))
    password = broker_password(args)
    wait = max(0.5, min(float(args.wait), 300.0))
    watch = FleetWatch()
    reader = fleet_reader(endpoint, password, watch, store_id=args.store_id, ca_file=args.ca_file)
    reader.start(timeout_s=min(wait, 10.0))
    try:
        settled = watch.wait_settled(quiet_s=_QUIET_S, cap_s=wait)
    finally:
        reader.stop()
    now = watch.now()
    pairs = ranked(watch.records(), now, stale)
    stores, chain = summarize(pairs)
    if args.json:
        emit_json(
            status_json(
                pairs,
                stores,
                chain,
                now=now,
                broker=reader.endpoint.display,
                stale=stale,
                settled=settled,
            )
        )
    else:
        lang: Lang = args.lang
        print("\n".join(status_lines(pairs, stores, chain, now=now, lang=lang)))
        if not settled:
            print(say(lang, "report.unsettled", seconds=int(wait)))
    return 0


def status_json(
    pairs: list[tuple[LaneRecord, Assessment]],
    stores: dict[tuple[str, str], Totals],
    chain: Totals,
    *,
    now: datetime,
    broker: str,
    stale: timedelta,
    settled: bool,
) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "generated_at": now.isoformat(timespec="seconds"),
        "broker": broker,
        "stale_after_s": int(stale.total_seconds()),
        "settled": settled,
        "lanes": [lane_json(record, assessment) for record, assessment in pairs],
        "stores": [
            {"merchant_id": merchant, "store_id": store, **totals_json(totals)}
            for (merchant, store), totals in stores.items()
        ],
        "chain": totals_json(chain),
    }


def _lane_line(record: LaneRecord, assessment: Assessment, now: datetime, lang: Lang) -> str:
    address = record.address
    parts = [", ".join(say(lang, f"need.{need}") for need in assessment.needs)]
    queue = assessment.queue
    if queue is not None and queue.count:
        parts.append(
            say(
                lang,
                "lane.queue",
                count=queue.count,
                rial=queue.rial,
                age=age(queue.oldest_age_s or 0, lang),
            )
        )
    known = record.last_online
    if known is not None and known.ledger is not None and not known.ledger.reachable:
        since = known.ledger.offline_since or known.ledger.last_contact_at
        if since is not None:
            parts.append(
                say(
                    lang,
                    "ledger.unreachable",
                    time=ident(since.isoformat(timespec="seconds"), lang),
                )
            )
    if assessment.problems:
        parts.append(say(lang, "lane.problems", count=assessment.problems))
    for name, word in assessment.devices_down.items():
        parts.append(f"{name}: {word}")
    if record.invalid is not None:
        parts.append(say(lang, "lane.invalid", size=record.invalid.size))
    if known is not None and known.at is not None:
        seconds = int((now - known.at).total_seconds())
        parts.append(say(lang, "lane.seen", age=age(seconds, lang)))
    elif record.state is None:
        parts.append(say(lang, "lane.never"))
    where = ident(f"{address.store_id}/{address.terminal_id}", lang)
    return f"  {where}  " + "; ".join(part for part in parts if part)


def _totals_line(totals: Totals, lang: Lang) -> str:
    return say(
        lang,
        "report.totals",
        lanes=totals.lanes,
        online=totals.online,
        offline=totals.offline,
        stale=totals.stale,
        invalid=totals.invalid,
        unsent_count=totals.unsent_count,
        unsent_rial=totals.unsent_rial,
        problems=totals.problems,
    )


def status_lines(
    pairs: list[tuple[LaneRecord, Assessment]],
    stores: dict[tuple[str, str], Totals],
    chain: Totals,
    *,
    now: datetime,
    lang: Lang,
) -> list[str]:
    """The text report: lanes that need a person, ranked; then per store; then the chain."""
    if not pairs:
        return [say(lang, "report.empty")]
    needing = [(record, assessment) for record, assessment in pairs if assessment.needs]
    lines: list[str] = []
    if needing:
        lines.append(say(lang, "report.heading", count=len(needing), total=len(pairs)))
        lines += [_lane_line(record, assessment, now, lang) for record, assessment in needing]
    else:
        lines.append(say(lang, "report.none", total=len(pairs)))
    lines += ["", say(lang, "report.stores")]
    for (merchant, store), totals in stores.items():
        lines.append(f"  {ident(f'{merchant}/{store}', lang)}  {_totals_line(totals, lang)}")
    lines += ["", say(lang, "report.chain"), f"  {_totals_line(chain, lang)}"]
    return lines


__all__ = ["JSON_VERSION", "register", "status_json", "status_lines"]
