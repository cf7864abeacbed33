"""``pos-client fleet serve``: the fleet page for a chain's IT team, live from the broker.

Connects to the broker as a reader account (as ``fleet status`` does: see
:mod:`pos_client.commands.fleet_broker`), keeps every lane's state as it
changes, and serves a page on ``http://127.0.0.1:PORT/`` (``--port``, default
8470): every lane ranked by what needs a person, sortable by any column,
totals per store and for the chain, unsent money per lane, invalid lanes
marked, in English or Persian (``?lang=fa``, right to left). The page updates
itself (server-sent events, a few batches a second at most). It has no login:
it listens on loopback unless ``--host`` names another address together with
``--allow-remote`` (put it behind the chain's reverse proxy). Ctrl-C stops it.

Exit status: 0 stopped (Ctrl-C or SIGTERM), 1 the broker cannot be reached or refuses
the account, 2 bad input.
"""

from __future__ import annotations

import argparse
import signal
import sys

from pos_client.commands.fleet_broker import add_broker_options, broker_password, broker_url
from pos_client.compose import broker_endpoint, fleet_reader
from pos_client.domain.fleet_view import parse_duration
from pos_client.fleet_page.server import bind, check_host, page_server
from pos_client.services.fleet_watch import FleetWatch

DEFAULT_PORT = 8470


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="a live page of every lane for the chain's IT team (loopback by default)",
        description="Serves a live page of every lane from the chain's MQTT broker: the lanes"
        " that need a person first, totals per store and for the chain, in English or Persian.",
    )
    add_broker_options(parser)
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"the page's port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="the page's address (default 127.0.0.1)"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="serve on an address beyond loopback (the page has no login of its own)",
    )
    parser.add_argument(
        "--store", dest="store_id", metavar="S", help="only this store's lanes (a store id)"
    )
    parser.add_argument(
        "--stale",
        metavar="AGE",
        default="5m",
        help="a lane whose last state is older than this is silent (default 5m; s, m, h, d)",
    )
    parser.set_defaults(handler=_serve)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    stale = parse_duration(args.stale)
    check_host(args.host, allow_remote=args.allow_remote)
    endpoint = broker_endpoint(broker_url(args))
    password = broker_password(args)
    sock = bind(args.host, args.port)
    # uvicorn hands a signal it caught back to the handler in place: SIGTERM then stops as Ctrl-C
    signal.signal(signal.SIGTERM, _interrupt)
    watch = FleetWatch()
    reader = fleet_reader(endpoint, password, watch, store_id=args.store_id, ca_file=args.ca_file)
    try:
        reader.start()
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(
            f"fleet page on http://{shown}:{sock.getsockname()[1]}/ (lanes from"
            f" {endpoint.display}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        page_server(watch, stale_after=stale, any_host=args.allow_remote).run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, after the server stopped: a clean stop
        pass
    finally:
        reader.stop()
        sock.close()
    return 0
