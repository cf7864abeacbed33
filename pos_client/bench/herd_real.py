"""Figure group: a herd of real lanes coming back at once to a sandbox with its load limits on.

``lanes`` lanes in this process (each the real composition: its own SQLite
store with ``backlog`` sales approved offline, its own ledger client, the real
forwarder, each under a terminal of its own) come back at the same moment, as
after an outage, against a sandbox ledger in a process of its own whose limits
are on (:mod:`pos_client.sandbox.load`). Each lane is as it is after an
outage: the ledger has seen its terminal before (one lookup each, before the
limits), its forwarder knows it failed to reach the ledger (as the screen tells
it after an offline approval, or its kept pacing state tells a fresh process),
and it drains in the background, :meth:`Forwarder.run`, as a lane's app runs
it; a lane's wait ends when a pass leaves its outbox empty. Only the
forwarder's public methods are used, so the run measures whatever pacing the
forwarder has.

First the maximum: ``WORKERS`` plain loops (one per terminal, each posting
batches of ``batch`` sales and doing nothing else) with the limits off, in
redemptions per second on the books. Then the limits are set from it:
at most ``WORKERS`` requests in flight, an admission queue sized from the
maximum's request rate (``"queue": "auto"``: that rate times
``busy_retry_after``, so the slots never idle while refused lanes wait out
their ``Retry-After``; ``503`` over it) and a token bucket per
terminal refilled at ``OVERLOAD`` times the maximum's request rate shared by
the lanes (``429`` over it): the lanes together may offer 3x what the ledger
can book, and the concurrency limit sheds the rest. ``drain_window_s`` is set
from the same rate.

Figures: the herd's goodput while overloaded (the redemptions the ledger
booked in the whole seconds in which the lanes asked for at least the
maximum's request rate, :mod:`.herd_phase`) against the maximum (goal at
least 0.9x), and beside it the goodput over the whole herd (every backlog
sale on the books, from the start, the drain window's ramp, to the last lane's
end; a lane still not drained after ``timeout`` ends there and counts what it
got on the books); the longest
lane's wait against the median lane's (goal at most 3x: no lane starves); the
request rate the herd offered (admitted and refused, counted by the sandbox)
against the maximum's request rate, i.e. the overload it made; and how long a
refusal takes at p99 under the herd (goal under 5 ms), measured by a probe in a
process of its own (:mod:`.herd_probe`, as the demo terminal T-0001).

Imports the standard library, httpx, the composition root, the config and
the benchmark's own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from pos_client.compose import App
from pos_client.config import load_config
from pos_client.domain.states import RedemptionStatus

from .drain import _backlog, _lane
from .figures import Against, Figure, Goal, percentile, rate
from .herd_phase import overloaded_phase
from .ledger import LedgerProcess, Sale

__all__ = ["WORKERS", "measure"]

GROUP = "herd_real"
#: Plain loops that measure the maximum, and the requests in flight the ledger then takes.
WORKERS = 4
#: How much more than its maximum the lanes' buckets let through, together.
OVERLOAD = 3.0
FIRST_TERMINAL = 1001


def _terminal(index: int) -> str:
    return f"T-{FIRST_TERMINAL + index:04d}"


def _post_batches(ledger: LedgerProcess, terminal_id: str, sales: list[Sale], batch: int) -> int:
    """Post ``sales`` in batches as fast as answered; the requests it took."""
    requests = 0
    with ledger.client(terminal_id) as client:
        for first in range(0, len(sales), batch):
            chunk = sales[first : first + batch]
            body = b'{"redemptions":[' + b",".join(s.body for s in chunk) + b"]}"
            response = client.post(
                "/v1/redemptions/batch",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            response.raise_for_status()
            if any(r["status_code"] != 201 for r in response.json()["results"]):
                raise RuntimeError("the ledger refused part of a batch")
            requests += 1
    return requests


def _maximum(ledger: LedgerProcess, per_worker: int, batch: int) -> tuple[float, float]:
    """The ledger's intake with the limits off: (redemptions/s, requests/s)."""
    work = [
        ledger.sales(per_worker, mode="online", terminal_id=_terminal(i)) for i in range(WORKERS)
    ]
    counts = [0] * WORKERS
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            counts[index] = _post_batches(ledger, _terminal(index), work[index], batch)
        except BaseException as exc:  # noqa: BLE001 - said after the join
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"the maximum could not be measured: {failures[0]}")
    return rate(WORKERS * per_worker, seconds), rate(sum(counts), seconds)


def _cpu_seconds(pid: int) -> float:
    """The CPU time a process has used so far (Linux ``/proc``; 0.0 where unknown)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    except (OSError, ValueError, IndexError):
        return 0.0


def _admin(ledger: LedgerProcess, method: str, path: str, body: Any = None) -> dict[str, Any]:
    with httpx.Client(base_url=ledger.url, timeout=60.0) as client:
        response = client.request(method, path, json=body)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document


def _start_probe(ledger: LedgerProcess) -> subprocess.Popen[bytes]:
    """The refusal probe (:mod:`.herd_probe`) as the demo terminal T-0001, under the herd."""
    probe = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
        [sys.executable, "-m", "pos_client.bench.herd_probe", ledger.url, ledger.terminal_token()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert probe.stdout is not None
    if probe.stdout.readline().strip() != b"ready":
        probe.kill()
        probe.wait()
        raise RuntimeError("the refusal probe did not reach the ledger")
    return probe


def _booked_at(ledger: LedgerProcess, terminals: list[str], since: float) -> list[float]:
    """When (Unix time) the ledger recorded each redemption of ``terminals`` from ``since``
    on, read from its books (read only; the sandbox's clock is the wall clock here)."""
    books = ledger.data_dir / "ledger.sqlite"
    marks = ",".join("?" * len(terminals))
    with contextlib.closing(sqlite3.connect(f"file:{books}?mode=ro", uri=True)) as db:
        rows = db.execute(
            f"SELECT recorded_at FROM redemptions WHERE terminal_id IN ({marks})",  # noqa: S608
            terminals,
        ).fetchall()
    stamps = [datetime.fromisoformat(row[0]).timestamp() for row in rows]
    return [at for at in stamps if at >= since]


def _stop_probe(probe: subprocess.Popen[bytes]) -> dict[str, list[float]]:
    out, _ = probe.communicate(timeout=120)
    if probe.returncode != 0:
        raise RuntimeError("the refusal probe failed")
    timings: dict[str, list[float]] = json.loads(out)
    return timings


async def _seen(app: App, sales: list[Sale]) -> None:
    """The lane's terminal reaches the ledger once before the outage (a lookup, ``404``)."""
    await app.ledger.get_redemption(sales[0].id)


async def _lane_drain(
    app: App, ids: list[str], start: float, timeout: float
) -> tuple[float, int, int]:
    """Drain one lane in the background: the seconds from the herd's start until a pass
    left its outbox empty, the sales it got on the books, and those still in its outbox
    (none unless ``timeout`` ran out)."""
    forwarder = app.forwarder
    stop = asyncio.Event()
    emptied = asyncio.Event()

    async def told() -> None:  # run() does its idle work after a pass that left it empty
        emptied.set()

    forwarder.idle_work.append(told)
    runner = asyncio.ensure_future(forwarder.run(stop))
    try:
        while not emptied.is_set():
            report = forwarder.last_report
            if report is not None and report.stopped:
                raise RuntimeError(f"a lane's forwarder stopped: {report.to_json()}")
            if runner.done() or time.perf_counter() - start > timeout:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(emptied.wait(), 1.0)
        seconds = time.perf_counter() - start
    finally:
        stop.set()
        await runner
    booked = 0
    for redemption_id in ids:
        entry = app.store.redemption(redemption_id)
        if entry is not None and entry.status in (
            RedemptionStatus.APPROVED,
            RedemptionStatus.PARTIALLY_APPROVED,
        ):
            booked += 1
    return seconds, booked, len(forwarder.pending())


async def measure(
    ledger: LedgerProcess,
    folder: Path,
    *,
    lanes: int,
    backlog: int,
    batch: int,
    timeout: float = 1200.0,
) -> list[Figure]:
    folder.mkdir(parents=True, exist_ok=True)
    maximum, maximum_requests = _maximum(ledger, max(batch, (lanes * backlog) // WORKERS), batch)
    per_terminal = OVERLOAD * maximum_requests / lanes
    apps: list[App] = []
    backlogs: list[list[str]] = []
    try:
        for index in range(lanes):
            terminal_id = _terminal(index)
            config = load_config(
                ledger.write_lane_config(
                    folder / f"{terminal_id}.toml",
                    store_path=folder / f"{terminal_id}.sqlite",
                    terminal_id=terminal_id,
                )
            )
            app = _lane(config, folder / f"{terminal_id}.sqlite")
            apps.append(app)
            app.forwarder.batch_size = batch
            sales = ledger.sales(backlog, mode="offline", terminal_id=terminal_id)
            _backlog(app, sales)
            backlogs.append([sale.id for sale in sales])
            await _seen(app, sales)
        limits = _admin(
            ledger,
            "POST",
            "/sandbox/load",
            {
                "terminal_rate": per_terminal,
                "terminal_burst": 1,
                "max_in_flight": WORKERS,
                "queue": "auto",
                "service_rate": maximum_requests,
                "busy_retry_after": 1,
                "target_rate": maximum_requests,
            },
        )
        for app in apps:  # the outage: each lane failed to reach the ledger
            app.forwarder.wake(unreached=True)
        probe = _start_probe(ledger)
        ledger_cpu = _cpu_seconds(ledger.process.pid)
        lanes_cpu = time.process_time()
        start_wall = time.time()
        start = time.perf_counter()
        try:
            ends = await asyncio.gather(
                *(
                    _lane_drain(app, ids, start, timeout)
                    for app, ids in zip(apps, backlogs, strict=True)
                )
            )
        finally:
            probed = _stop_probe(probe)
        waits = [wait for wait, _, _ in ends]
        booked = sum(approved for _, approved, _ in ends)
        left = sum(remaining for _, _, remaining in ends)
        seconds = max(waits)
        end_wall = start_wall + seconds
        lanes_cpu = time.process_time() - lanes_cpu
        ledger_cpu = _cpu_seconds(ledger.process.pid) - ledger_cpu
        counts = _admin(ledger, "GET", "/sandbox/load")
        _admin(ledger, "POST", "/sandbox/load", {})
        booked_at = _booked_at(ledger, [_terminal(i) for i in range(lanes)], start_wall)
    finally:
        for app in apps:
            await app.aclose()
    whole = rate(booked, seconds)
    phase = overloaded_phase(
        per_second=counts["per_second"],
        probe_at=probed.get("rules_at", []),
        booked_at=booked_at,
        maximum_requests=maximum_requests,
        start=start_wall,
        end=end_wall,
    )
    # the goodput while the lanes asked for at least the maximum; the whole herd without one
    goodput = phase.goodput if phase.seconds else whole
    # what the lanes sent: the sandbox's counts less the probe's own requests
    probe_requests = len(probed["refused"]) + len(probed["admitted"])
    sent = counts["admitted"] + counts["refused_429"] + counts["refused_503"] - probe_requests
    offered = rate(sent, seconds)
    median = statistics.median(waits)
    refusals_ms = [s * 1000 for s in probed["refused"]]
    health_ms = [s * 1000 for s in probed["health"]]
    details = {
        "lanes": lanes,
        "backlog_per_lane": backlog,
        "batch": batch,
        "herd_s": seconds,
        "lanes_cpu_s": lanes_cpu,  # the lanes' process, all 200, over the herd
        "ledger_cpu_s": ledger_cpu,  # the sandbox's process over the herd (0: not known)
        "maximum_rate": maximum,
        "maximum_requests_per_s": maximum_requests,
        "limits": limits["settings"],
        "queue_size": limits["queue_size"],
        "goodput_whole_herd": whole,
        "overloaded_s": phase.seconds,
        "overloaded_booked": phase.booked,
        "overloaded_offered_per_s": phase.offered,
        "overloaded_offered_x_maximum": phase.offered / maximum_requests
        if maximum_requests
        else None,
        "overloaded_from_s": phase.first - start_wall if phase.first is not None else None,
        "overloaded_to_s": phase.last + 1 - start_wall if phase.last is not None else None,
        "drain_window_s": limits["drain_window_s"],
        "lane_requests": sent,
        "admitted": counts["admitted"],
        "refused_429": counts["refused_429"],
        "refused_503": counts["refused_503"],
        "wait_p50_s": median,
        "wait_max_s": max(waits),
        "wait_min_s": min(waits),
        "booked": booked,
        "left_in_outboxes": left,
        "lanes_not_drained": sum(1 for _, _, remaining in ends if remaining),
        "probe_refused": len(probed["refused"]),
        "probe_admitted": len(probed["admitted"]),
        "probe_admitted_p50_ms": percentile([s * 1000 for s in probed["admitted"]], 50)
        if probed["admitted"]
        else None,
    }
    refusal = []
    if refusals_ms and health_ms:  # a herd over before the probe met a refusal has none
        refusal.append(
            Figure(
                key="herd_real_refusal_p99",
                group=GROUP,
                name=f"Herd of {lanes} real lanes, a refusal (429/503) p99",
                value=percentile(refusals_ms, 99),
                unit="ms",
                against=Against("peer", "/v1/health p50, same probe", percentile(health_ms, 50)),
                goal=Goal("value_below", 5.0, "< 5 ms"),
                samples=len(refusals_ms),
                note="a probe in its own process, as a terminal of its own, during the herd",
            )
        )
    herd = f"{lanes} lanes × {backlog} offline sales, batches of {batch}"
    return [
        Figure(
            key="herd_real_goodput",
            group=GROUP,
            name=f"Herd of {lanes} real lanes, goodput while overloaded",
            value=goodput,
            unit="redemptions/s",
            against=Against("limit", "the sandbox's measured maximum", maximum),
            goal=Goal("ratio_at_least", 0.9, "≥ 0.9x maximum"),
            samples=max(1, phase.booked if phase.seconds else booked),
            note=(
                f"{herd}, against {WORKERS} in flight and {OVERLOAD:g}x the maximum in buckets; "
                f"over the {phase.seconds} whole seconds in which the lanes asked for at least "
                f"the maximum's requests ({phase.offered / maximum_requests:.2f}x it there)"
                if phase.seconds and maximum_requests
                else f"{herd}: no second reached the maximum's requests, the whole herd"
            ),
            details=details,
        ),
        Figure(
            key="herd_real_goodput_whole",
            group=GROUP,
            name=f"Herd of {lanes} real lanes, goodput over the whole herd",
            value=whole,
            unit="redemptions/s",
            against=Against("limit", "the sandbox's measured maximum", maximum),
            samples=max(1, booked),
            note="from the start (the drain window's ramp) to the last lane's end (the tail)",
        ),
        Figure(
            key="herd_real_max_wait",
            group=GROUP,
            name=f"Herd of {lanes} real lanes, the longest wait",
            value=max(waits),
            unit="s",
            against=Against("peer", "the median lane's wait", median),
            goal=Goal("ratio_at_most", 3.0, "≤ 3x median: no lane starves"),
            samples=lanes,
            note="each lane's wait: from the herd's start until its backlog is on the books",
        ),
        Figure(
            key="herd_real_offered",
            group=GROUP,
            name=f"Herd of {lanes} real lanes, requests offered",
            value=offered,
            unit="requests/s",
            against=Against("limit", "the maximum's requests", maximum_requests),
            samples=sent,
            note="admitted and refused, as the sandbox counted them (less the probe's)",
        ),
        *refusal,
    ]
