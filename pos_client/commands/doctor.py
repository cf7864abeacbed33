"""``pos-client doctor [--json] [--lang fa|en] [--print-test] [--scan-seconds N]``: check a lane.

Checks the lane's config, its store, the ledger (reachable, token accepted,
rules age, catalog version) and every configured device, and prints one line
per check with a plain verdict (ok / warning / failed) and what to do, in
Persian or English (default: the config's ``ui.language``). ``--print-test``
prints a test page on the receipt printer; ``--scan-seconds N`` listens to the
scanners for N seconds and shows each scan (anything but a product code is
masked). With ``--json`` one object is printed at the end::

    {"ok": false, "exit_code": 1, "language": "en", "config": "...", "terminal": "T-0001",
     "summary": {"ok": 8, "warning": 1, "failed": 1},
     "checks": [{"name": "ledger", "verdict": "failed", "detail": "...", "advice": "..."}],
     "scans": [{"source": "...", "kind": "product", "text": "...", "symbology": null,
                "time": "..."}]}

Exit status: 0 when nothing failed (warnings allowed), 1 when something
failed, 2 when the config cannot be read (its check names the key).

The work is :class:`pos_client.services.doctor.Doctor`'s; this module parses,
prints and never shows a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pos_client.commands import add_runtime_dir
from pos_client.commands.lane import add_config_option, emit_json
from pos_client.services.doctor import Check, Report, SeenScan, Verdict, read_config
from pos_client.services.doctor_texts import Lang, label, number, say

__all__ = ["register"]

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
MAX_SCAN_SECONDS = 600.0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give a number of seconds") from None
    if not 0 <= value <= MAX_SCAN_SECONDS:
        raise argparse.ArgumentTypeError(f"give 0 to {MAX_SCAN_SECONDS:g} seconds")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the config, store, ledger and devices of this lane",
        description=(
            "Check the lane's config, its store, the ledger (reachable, token accepted, "
            "rules age, catalog version) and every configured device, and say what to do. "
            "Exit 0: nothing failed; 1: something failed; 2: the config cannot be read."
        ),
    )
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--lang", choices=("fa", "en"), help="language of the report (default: ui.language)"
    )
    parser.add_argument(
        "--print-test", action="store_true", help="print a test page on the receipt printer"
    )
    parser.add_argument(
        "--scan-seconds",
        type=_seconds,
        default=0.0,
        metavar="N",
        help="listen to the scanners for N seconds and show the scans",
    )
    add_runtime_dir(parser)
    parser.set_defaults(handler=_doctor)


def _print_check(check: Check, lang: Lang) -> None:
    word = say(lang, f"verdict.{check.verdict.value}")
    print(f"[{word}] {label(check.name, lang)}: {check.detail}", flush=True)
    if check.advice and check.verdict is not Verdict.OK:
        print(f"    {say(lang, 'report.advice')}: {check.advice}", flush=True)


def _print_scan(scan: SeenScan, lang: Lang) -> None:
    symbology = f" {scan.symbology}" if scan.symbology else ""
    print(f"    {say(lang, 'report.scan')}: {scan.kind}{symbology} {scan.text}", flush=True)


def _doctor(args: argparse.Namespace) -> int:
    lang: Lang = args.lang or "fa"
    try:
        config, failure, lang = read_config(args.config, lang=args.lang)
        if config is None:
            assert failure is not None
            report = Report((failure,))
            if args.json:
                data = report.to_json(language=lang, config=_config_name(args), terminal=None)
                data["exit_code"] = EXIT_CONFIG
                emit_json(data)
            else:
                _print_check(failure, lang)
            return EXIT_CONFIG
        from pos_client.compose import build_doctor

        doctor = build_doctor(config, lang=lang, runtime_dir=args.runtime_dir)
        path = str(config.source) if config.source else "-"
        quiet = bool(args.json)
        if not quiet:
            print(say(lang, "report.header", terminal=config.terminal.id, path=path), flush=True)

        def on_listen(url: str, seconds: float) -> None:
            if not quiet:
                shown = number(int(seconds), lang) if seconds.is_integer() else f"{seconds:g}"
                print(f"    {say(lang, 'report.listen', url=url, seconds=shown)}", flush=True)

        report = asyncio.run(
            doctor.run(
                print_test=args.print_test,
                scan_seconds=args.scan_seconds,
                on_check=None if quiet else (lambda check: _print_check(check, lang)),
                on_scan=None if quiet else (lambda scan: _print_scan(scan, lang)),
                on_listen=on_listen,
            )
        )
        if quiet:
            emit_json(report.to_json(language=lang, config=path, terminal=config.terminal.id))
        else:
            counts = {k: number(v, lang) for k, v in report.counts().items()}
            print(say(lang, "report.summary", **counts), flush=True)
        return report.exit_code
    except Exception as exc:  # the doctor never shows a traceback
        log.debug("doctor: could not finish", exc_info=True)
        print(f"pos-client: {say(lang, 'report.broken', kind=type(exc).__name__)}", file=sys.stderr)
        return EXIT_FAILED


def _config_name(args: argparse.Namespace) -> str:
    from pos_client.config import resolve_config_path

    return str(resolve_config_path(args.config))
