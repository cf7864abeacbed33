"""``pos-client sandbox``: run the sandbox central ledger, or mint a token from it.

- ``pos-client sandbox --data DIR [--host 127.0.0.1] [--port 8765] [--catalog-size N] [--seed S]``
  runs the sandbox ledger in the foreground (Ctrl-C stops it) and says where
  it listens and where ``sandbox.json`` is. A ``--host`` beyond loopback is
  refused unless ``--allow-remote-sandbox`` is given (the ``/sandbox/*``
  endpoints take no authentication), and then warned about.
  ``--terminal-rate``, ``--terminal-burst``, ``--max-in-flight`` and
  ``--target-rate`` turn its load limits on (:mod:`pos_client.sandbox.load`).
- ``pos-client sandbox token NATIONAL_ID --data DIR [--ttl SECONDS] [--v2]`` prints a
  fresh KB1 token (KB2 with ``--v2``: with the snapshot of the household's purses
  that lets any lane serve it offline) and shows it as a QR code in the terminal.

The catalog size and seed are fixed when DIR is first made; leave them out later.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from pos_client.domain.national_id import mask_national_id, normalize_national_id
from pos_client.errors import ConfigError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run the sandbox central ledger (training, demos, tests)",
        description="Run the sandbox central ledger in the foreground, or mint a token.",
    )
    parser.add_argument("--data", type=Path, help="the sandbox's data directory (made if new)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--allow-remote-sandbox",
        action="store_true",
        help="allow a --host beyond loopback, although /sandbox/* (mint tokens, read codes)"
        " takes no authentication",
    )
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    parser.add_argument(
        "--catalog-size",
        type=int,
        default=None,
        help="products in the catalog (first start only; default 3000, up to 1,000,000)",
    )
    parser.add_argument("--seed", type=int, default=None, help="demo data seed (first start only)")
    load = parser.add_argument_group("load limits (all off by default)")
    load.add_argument(
        "--terminal-rate",
        type=float,
        default=0.0,
        help="requests per second each terminal may send (token bucket; over it: 429)",
    )
    load.add_argument(
        "--terminal-burst", type=int, default=10, help="the token bucket's size (default 10)"
    )
    load.add_argument(
        "--max-in-flight",
        type=int,
        default=0,
        help="requests handled at once over all terminals (over it: 503)",
    )
    load.add_argument(
        "--target-rate",
        type=float,
        default=0.0,
        help="requests per second wanted from lanes coming back after an outage;"
        " sets /v1/health's drain_window_s",
    )
    parser.set_defaults(handler=_run_server)

    actions = parser.add_subparsers(dest="sandbox_action", metavar="ACTION")
    token = actions.add_parser(
        "token",
        help="print a fresh KB1 (or KB2) token for a household and show its QR code",
        description="Print a fresh KB1 (or KB2) token for a household and show its QR code.",
    )
    token.add_argument("national_id", help="the household's national ID")
    token.add_argument("--data", dest="token_data", type=Path, help="the sandbox's data directory")
    token.add_argument("--ttl", type=int, default=None, help="lifetime in seconds (default a day)")
    token.add_argument("--no-qr", action="store_true", help="print the token only")
    token.add_argument(
        "--v2",
        action="store_true",
        help="a KB2 token: it carries what the household may spend offline, for any lane",
    )
    token.set_defaults(handler=_run_token)


def _run_server(args: argparse.Namespace) -> int:
    from pos_client.sandbox.datadir import INFO_FILE
    from pos_client.sandbox.load import LoadSettings
    from pos_client.sandbox.server import ListenError, check_host, serve

    if args.data is None:
        raise ConfigError("say where the sandbox keeps its data: --data DIR", key="data")
    if args.catalog_size is not None and not 39 <= args.catalog_size <= 1_000_000:
        raise ConfigError("--catalog-size must be between 39 and 1,000,000", key="catalog_size")
    try:
        load = LoadSettings(
            terminal_rate=args.terminal_rate,
            terminal_burst=args.terminal_burst,
            max_in_flight=args.max_in_flight,
            target_rate=args.target_rate,
        )
    except ValueError as exc:
        raise ConfigError(f"load limits: {exc}", key="terminal_rate") from None
    try:
        warning = check_host(args.host, allow_remote=args.allow_remote_sandbox)
    except ListenError as exc:  # one sentence
        print(f"pos-client: {exc.strerror}", file=sys.stderr)
        return 2
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)

    def ready(sandbox: Any) -> None:
        print(f"Sandbox ledger listening on {sandbox.url}", flush=True)
        print(f"Terminals, tokens and households: {sandbox.data_dir / INFO_FILE}", flush=True)
        print(f"Lane configurations: {sandbox.data_dir}/lane-<terminal>.toml", flush=True)
        print("Press Ctrl-C to stop.", flush=True)

    try:
        serve(
            args.data,
            host=args.host,
            port=args.port,
            catalog_size=args.catalog_size,
            seed=args.seed,
            on_ready=ready,
            allow_remote=args.allow_remote_sandbox,
            load=load,
        )
    except KeyboardInterrupt:  # uvicorn stopped cleanly, then passes Ctrl-C on
        pass
    except ListenError as exc:  # one sentence; --verbose logs what the system said
        log.debug("sandbox: cannot listen", exc_info=True)
        print(f"pos-client: {exc.strerror}", file=sys.stderr)
        return 2
    print("Sandbox ledger stopped.", flush=True)
    return 0


def _run_token(args: argparse.Namespace) -> int:
    import qrcode

    from pos_client.sandbox.datadir import INFO_FILE
    from pos_client.sandbox.problems import Problem
    from pos_client.sandbox.server import build_sandbox

    data = args.token_data or args.data
    if data is None:
        raise ConfigError("say where the sandbox keeps its data: --data DIR", key="data")
    if not (Path(data) / INFO_FILE).exists():
        raise ConfigError(
            f"{data} holds no sandbox yet: start one with `pos-client sandbox --data {data}`",
            key="data",
        )
    national_id = normalize_national_id(args.national_id)
    if args.ttl is not None and args.ttl <= 0:
        raise ConfigError("--ttl must be a positive number of seconds", key="ttl")
    sandbox = build_sandbox(Path(data))
    try:
        minted = sandbox.admin.mint_token(
            national_id, ttl_seconds=args.ttl, version=2 if args.v2 else 1
        )
    except Problem as exc:
        print(f"pos-client sandbox token: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        sandbox.close()
    token = minted["token"]
    if not args.no_qr:
        code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
        code.add_data(token)
        code.make(fit=True)
        code.print_ascii(out=sys.stdout, invert=True)
        print(f"Household {mask_national_id(national_id)}, valid until {minted['expires_at']}")
    print(token)
    return 0
