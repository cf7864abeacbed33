"""The ``pos-client`` command line: parses arguments and dispatches to a subcommand.

Exit codes: 0 success (a sale may go ahead), 1 declined or refused, 2 bad input
or configuration, 3 an internal fault (reported in one sentence, never a
traceback; the details go to the log); 141 (128 + SIGPIPE, as a shell reports
any program whose reader went away) when the reader of the output closed it
(``| head``), saying nothing.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from pos_client.commands import COMMAND_MODULES
from pos_client.domain.errors import DomainError, PosError
from pos_client.errors import ConfigError

log = logging.getLogger("pos_client")

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_READER_GONE = 128 + signal.SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pos-client",
        description="Checkout client for Kalabarg electronic goods voucher redemptions.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # force: a library (python-escpos) calls basicConfig() when imported, which would
    # otherwise leave the root at WARNING and make --verbose show nothing.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        code: int = handler(args)
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``| head``): say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_READER_GONE
    except (ConfigError, DomainError) as exc:
        print(f"pos-client: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PosError as exc:
        print(f"pos-client: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:  # the last line of defence: a sentence, never a traceback
        log.debug("internal error", exc_info=True)
        print(
            f"pos-client: internal error ({type(exc).__name__}); run with --verbose for details",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
