"""Figure group: start-up to the idle screen, and the resident memory of the running app.

Each start is a fresh process (:mod:`pos_client.bench.startup_child`) on a
real pseudo-terminal of 100x30, its lane holding the catalog loaded by the
catalog figure, its ledger the benchmark's sandbox and a virtual scanner
published in a private runtime folder: what ``pos-client run`` does. The time
is the parent's, from spawning the process to reading its "idle and painted"
line; the memory is the child's ``VmRSS`` a second after that. Beside each,
the limit: a minimal Textual App of one line, started and measured the same
way. Goals: under 1.5 s and under 150 MB.

Imports the standard library and the benchmark's own modules.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from statistics import median
from typing import Any

from .figures import Against, Figure, Goal

__all__ = ["measure", "start_once"]

GROUP = "startup"
TIMEOUT = 60.0
COLUMNS, ROWS = 100, 30


def _drain(fd: int, stop: threading.Event) -> None:
    while not stop.is_set():
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                if not os.read(fd, 65536):
                    return
            except OSError:
                return


def start_once(*, config: Path | None, runtime_dir: Path, settle: float = 1.0) -> dict[str, Any]:
    """Start the app (or the bare App when ``config`` is None) once; its figures."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    read_end, write_end = os.pipe()
    args = [sys.executable, "-m", "pos_client.bench.startup_child", str(write_end)]
    args += ["--settle", str(settle)]
    args += ["--bare"] if config is None else ["--config", str(config)]
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
        "POS_CLIENT_RUNTIME_DIR": str(runtime_dir),
    }
    stop = threading.Event()
    drainer = threading.Thread(target=_drain, args=(master, stop), daemon=True)
    drainer.start()
    events: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
        args,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        pass_fds=(write_end,),
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "r", encoding="utf-8") as marker:
            deadline = started + TIMEOUT
            while "settled" not in events:
                ready, _, _ = select.select(
                    [marker], [], [], max(0.0, deadline - time.perf_counter())
                )
                if not ready:
                    raise RuntimeError("the app did not reach its idle screen in time")
                line = marker.readline()
                if not line:
                    break
                at = time.perf_counter() - started
                event = json.loads(line)
                events[event["event"]] = {**event, "wall_s": at}
        code = process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        stop.set()
        drainer.join(timeout=5)
        os.close(master)
    if "idle" not in events or "settled" not in events:
        raise RuntimeError(f"the app stopped before its idle screen (exit code {code})")
    return {
        "start_s": events["idle"]["wall_s"],
        "own_s": events["idle"]["own_s"],
        "rss_mb": events["settled"]["VmRSS"] / 1024,
        "peak_mb": events["settled"]["VmHWM"] / 1024,
        "exit_code": code,
    }


def measure(
    config: Path, runtime_dir: Path, *, runs: int, products: int, settle: float = 1.0
) -> list[Figure]:
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    start_once(config=None, runtime_dir=runtime_dir, settle=0.0)  # warm the file cache
    for _ in range(runs):
        bare.append(start_once(config=None, runtime_dir=runtime_dir, settle=settle))
        ours.append(start_once(config=config, runtime_dir=runtime_dir, settle=settle))
    start = median(r["start_s"] for r in ours)
    rss = median(r["rss_mb"] for r in ours)
    catalog = f"{products:,}-product catalog"
    details = {
        "runs": runs,
        "start_s": [r["start_s"] for r in ours],
        "rss_mb": [r["rss_mb"] for r in ours],
        "peak_mb": [r["peak_mb"] for r in ours],
        "bare_start_s": [r["start_s"] for r in bare],
        "bare_rss_mb": [r["rss_mb"] for r in bare],
    }
    return [
        Figure(
            key="startup_s",
            group=GROUP,
            name=f"Start-up to the idle screen ({catalog}), median",
            value=start,
            unit="s",
            against=Against(
                "limit", "minimal Textual app to first screen", median(r["start_s"] for r in bare)
            ),
            goal=Goal("value_below", 1.5, "< 1.5 s"),
            samples=runs,
            note="fresh process on a pty, spawn to idle screen painted",
            details=details,
        ),
        Figure(
            key="rss_mb",
            group=GROUP,
            name=f"Resident memory, running app ({catalog}), median",
            value=rss,
            unit="MB",
            against=Against("limit", "minimal Textual app", median(r["rss_mb"] for r in bare)),
            goal=Goal("value_below", 150.0, "< 150 MB"),
            samples=runs,
            note=f"VmRSS {settle:g} s after the idle screen",
        ),
    ]
