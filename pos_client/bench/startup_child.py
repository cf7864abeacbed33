"""One start of the checkout screen, for the start-up figure (not a command).

``python -m pos_client.bench.startup_child FD --config FILE`` builds the lane
and its App exactly as ``pos-client run`` does and runs it in the terminal it
was given (the benchmark gives it a pseudo-terminal). Once the idle screen is
up and painted it writes one JSON line to file descriptor FD: its resident
memory then (``VmRSS``) and at its peak (``VmHWM``), in kB, and how long it
ran by its own clock; it then keeps running for ``--settle`` seconds, writes
the memory again, and quits. ``--bare`` runs instead a minimal Textual App of
one line of text: the floor any Textual program starts from.

Imports the standard library and, when run, the composition root and the TUI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

STARTED = time.perf_counter()


def memory_kb() -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of this process (kB), from /proc."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def _bare_app() -> Any:
    from textual.app import App
    from textual.widgets import Static

    class Bare(App[int]):
        def compose(self) -> Any:
            yield Static("pos-client")

    return Bare()


async def _run(args: argparse.Namespace, report: Any) -> int:
    lane = None
    if args.bare:
        app = _bare_app()

        def is_idle() -> bool:
            return True
    else:
        from pos_client.compose import build_app
        from pos_client.config import load_config
        from pos_client.tui.app import make_app
        from pos_client.tui.screens.identify import IdentifyScreen

        lane = build_app(load_config(args.config), devices=True)
        app = make_app(lane)

        def is_idle() -> bool:
            return isinstance(app.screen, IdentifyScreen)

    async def pilot(driver: Any) -> None:
        while not is_idle():
            await driver.pause(0.005)
        await driver.pause()
        painted = asyncio.Event()
        app.call_after_refresh(painted.set)
        await painted.wait()
        report({"event": "idle", "own_s": time.perf_counter() - STARTED, **memory_kb()})
        await asyncio.sleep(args.settle)
        report({"event": "settled", "own_s": time.perf_counter() - STARTED, **memory_kb()})
        app.exit(0)

    try:
        await app.run_async(auto_pilot=pilot)
    finally:
        if lane is not None:
            await lane.aclose()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="startup_child")
    parser.add_argument("fd", type=int)
    parser.add_argument("--config")
    parser.add_argument("--bare", action="store_true")
    parser.add_argument("--settle", type=float, default=1.0)
    args = parser.parse_args(argv)
    marker = os.fdopen(args.fd, "w", encoding="utf-8", buffering=1)

    def report(value: dict[str, Any]) -> None:
        marker.write(json.dumps(value) + "\n")
        marker.flush()

    try:
        return asyncio.run(_run(args, report))
    finally:
        marker.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
