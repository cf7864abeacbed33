"""``pos-client agent [--config FILE] [--socket PATH | --port N [--host 127.0.0.1|::1]]``.

The lane agent: a headless, long-running lane service for a chain's own POS
software (see :mod:`pos_client.agent` and the README's "The lane agent"). It
serves the JSON command line's operations over HTTP/1.1 on a Unix socket
(default: ``$RUNTIME_DIRECTORY/agent.sock`` under systemd, else beside the
lane's store; mode 0660) or on a loopback TCP port, and runs the forwarder and
the refreshes in the background. It owns the lane's store while it runs: the
checkout screen cannot run on the same lane at the same time (nor a second
agent); the second one says so and exits 2.

Exit status: 0 after a clean stop (SIGTERM or SIGINT), 2 a bad address or
config, or the lane already in use.
"""

from __future__ import annotations

import argparse
import sys

from pos_client.commands.lane import add_config_option, load
from pos_client.errors import ConfigError, StoreError


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "agent",
        help="serve this lane to the chain's POS software (a local socket), headless",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    add_config_option(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--socket", metavar="PATH", help="the Unix socket to listen on")
    where.add_argument(
        "--port", type=_port, metavar="N", help="listen on loopback TCP port N instead (0: any)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDR",
        help="with --port: 127.0.0.1 (default) or ::1; no other address is accepted",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from pos_client.agent.serve import check_host, run_agent

    try:
        if args.port is not None:
            check_host(args.host)
        elif args.host != "127.0.0.1":
            raise ConfigError("--host goes with --port (a Unix socket has no address)")
        config = load(args)
        return run_agent(
            config,
            socket_path=args.socket,
            port=args.port,
            host=args.host,
            new_store=args.new_store,
        )
    except (ConfigError, StoreError) as exc:
        print(f"pos-client agent: {exc.message}", file=sys.stderr)
        return 2
