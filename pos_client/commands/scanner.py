"""``pos-client scanner listen URL [--json] [--count N] [--show-secrets]``: watch a scanner.

Opens the scanner at URL (``serial:///dev/ttyACM0?suffix=cr``, ``virtual://NAME``,
...) and prints one line per scan until stopped (Ctrl-C or SIGTERM, exit 0) or
until ``--count`` scans were read. With ``--json`` each line is an object::

    {"data": "]E06260000000017", "kind": "product", "symbology": "]E0",
     "source": "serial:///dev/ttyACM0", "time": "2025-01-01T10:00:00.000+00:00"}

``kind`` is the domain's classification of the scan. A scan that is not a
product code (a national ID, a token, a purchase code, anything unknown) is
shown masked, as the doctor shows it (``049*****99``, ``KB1....x9Zq``,
``******42``); ``--show-secrets`` shows it whole. Connection changes
(connected, unplugged, back) go to standard error, one line each.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TextIO

from drivers.scanner import ScanFrame, ScannerState, ScannerStatus, open_scanner
from pos_client.commands import add_runtime_dir
from pos_client.services.doctor.devices import mask_scan


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("scanner", help="check a barcode scanner")
    actions = parser.add_subparsers(dest="scanner_command", metavar="ACTION", required=True)
    listen = actions.add_parser(
        "listen",
        help="print every scan from a scanner until stopped",
        description="Open the scanner at URL and print one line per scan until stopped.",
    )
    listen.add_argument("url", metavar="URL", help="e.g. serial:///dev/ttyACM0 or virtual://NAME")
    listen.add_argument("--json", action="store_true", help="print one JSON object per scan")
    listen.add_argument("--count", type=int, metavar="N", help="stop after N scans")
    listen.add_argument(
        "--show-secrets",
        action="store_true",
        help="show national IDs, tokens and purchase codes whole (default: masked)",
    )
    add_runtime_dir(listen)
    listen.set_defaults(handler=_listen)


class _Stop(Exception):
    """Raised by the SIGTERM handler to leave the wait."""


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def scan_record(frame: ScanFrame, *, show_secrets: bool = False) -> dict[str, str | None]:
    """What ``--json`` prints for one scan (identities masked unless ``show_secrets``)."""
    kind, shown = mask_scan(frame.data)
    return {
        "data": frame.data if show_secrets else shown,
        "kind": kind,
        "symbology": frame.symbology,
        "source": frame.source,
        "time": frame.received_at.isoformat(timespec="milliseconds"),
    }


def _print_scan(frame: ScanFrame, *, as_json: bool, show_secrets: bool, out: TextIO) -> None:
    record = scan_record(frame, show_secrets=show_secrets)
    if as_json:
        out.write(json.dumps(record) + "\n")
    else:
        out.write(
            f"{record['time']}  {record['kind']:<16} {record['symbology'] or '-':<4} "
            f"{json.dumps(record['data'])[1:-1]}\n"
        )
    out.flush()


def _print_state(state: ScannerState) -> None:
    detail = f": {state.detail}" if state.detail else ""
    print(f"scanner {state.source} {state.status.value}{detail}", file=sys.stderr, flush=True)


def _listen(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        print("pos-client: --count must be at least 1", file=sys.stderr)
        return 2
    events: queue.Queue[ScanFrame | ScannerState] = queue.Queue()
    scanner = open_scanner(
        args.url, on_scan=events.put, on_state=events.put, runtime_dir=args.runtime_dir
    )
    seen = 0
    with _sigterm_stops():
        try:
            scanner.start()
            while args.count is None or seen < args.count:
                event = events.get()
                if isinstance(event, ScannerState):
                    if event.status is not ScannerStatus.STOPPED:
                        _print_state(event)
                    continue
                _print_scan(
                    event, as_json=args.json, show_secrets=args.show_secrets, out=sys.stdout
                )
                seen += 1
        except (KeyboardInterrupt, _Stop):
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut cleanup
            scanner.stop()
    return 0
