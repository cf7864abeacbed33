"""Figure group "history": a lane's second year against its first weeks.

Two lane stores are filled through the store's own SQL
(:mod:`.history_fill`): one of ``large`` sales (300,000 in a full run: 375
days at 800 a day) and one of ``small`` (10,400: 13 days), each with one sale
from its first week left open (interrupted: pending, unseen, owed to the
ledger), every other sale final in a realistic mix. On each, the same work is
timed, as a lane does it at the end of its history (sales of its last day):

- a sale's durable enqueue (p99), with between sales what the lane does after
  one: its answer recorded, the status bar's check (the outbox summary and the
  interrupted sales), the idle checkpoint, the forwarder's pick;
- the forwarder's pick of what is owed and due, the status bar's check, the
  checkpoint after a sale (each its median);
- today's X report (the last day: 800 sales and the bench's own), an X report
  for the third day, ``queue list``
  (the outbox as the command reads it), and start-up (the store opened to
  write, with the reads a lane makes when it starts);
- the peak memory of ``journal export --json`` (the command's own writer, in a
  process of its own, its output thrown away; memory above that process's
  start), and the live store's bytes per sale beside the bare size of one
  redemption body.

Each time is a ratio, large store to small (goal ≤ 1.2x: a lane's per-sale and
per-day work does not grow with its history); export peak goal ≤ 100 MB.

Imports the standard library, the store adapter, the services and the
benchmark's own modules.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pos_client.adapters.store import SqliteStore
from pos_client.domain.redemption import RedemptionAnswer
from pos_client.domain.states import RedemptionStatus
from pos_client.ports import NewRedemption, SystemClock
from pos_client.services.forwarder import OWED_INTENTS
from pos_client.services.records import Records
from pos_client.services.reports import ReportService

from .figures import Against, Figure, Goal, percentile
from .history_fill import FIRST_DAY, Filled, fill
from .world import new_redemption

__all__ = ["measure"]

GROUP = "history"
#: The export's peak memory goal (MB above the process's start).
EXPORT_GOAL_MB = 100
#: The export's process is stopped at this much address space (a store's export may not fit).
EXPORT_CAP_BYTES = 3 * 1024**3 // 2
RATIO_GOAL = Goal("ratio_at_most", 1.2, "≤ 1.2x")


class _Clock(SystemClock):
    """The real clock's pauses, standing at midday of the store's last business day."""

    def __init__(self, day: date) -> None:
        self.at = datetime(day.year, day.month, day.day, 8, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def _open_at(sales: int) -> int:
    """The open sale: in the first week, or the first tenth of a store smaller than a week."""
    return min(4 * 800 + 123, sales // 10)


def _build(folder: Path, sales: int) -> tuple[Path, Filled]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lane.sqlite"
    store = SqliteStore.open(path)
    try:
        filled = fill(store, sales=sales, open_at=_open_at(sales))
        store._db.checkpoint(min_commits=0, wipe=True)
    finally:
        store.close()
    return path, filled


def _timed(samples: list[float], work: Callable[[], object]) -> None:
    start = time.perf_counter()
    work()
    samples.append((time.perf_counter() - start) * 1000)


def _sale(
    store: SqliteStore,
    records: Records,
    new: NewRedemption,
    at: datetime,
    t: dict[str, list[float]],
) -> None:
    """One sale as the lane makes it, each step after the enqueue timed as it comes."""
    _timed(t["enqueue"], lambda: store.record_new_redemption(new, at=at))
    _timed(t["pick"], lambda: store.outbox(intents=OWED_INTENTS, due_at=at))
    answer = RedemptionAnswer(id=new.id, status="approved", covered_rial=new.covered_rial)
    store.set_status(new.id, RedemptionStatus.APPROVED, at=at, answer=answer, leave_outbox=True)
    store.mark_seen(new.id)
    _timed(t["status"], lambda: (records.outbox_summary(), records.held_at_counter()))
    _timed(t["checkpoint"], store.checkpoint)
    _timed(t["queue"], records.outbox)


def _work(path: Path, filled: Filled, *, rounds: int) -> dict[str, float]:
    """Every timed figure on one store (ms; see the module docstring)."""
    day = filled.last_day
    clock = _Clock(day)
    template = new_redemption(clock.at)
    t: dict[str, list[float]] = {
        k: [] for k in ("enqueue", "pick", "status", "checkpoint", "x_today", "x_past", "queue")
    }
    store = SqliteStore.open(path)
    try:
        records = Records(store=store, clock=clock)
        reports = ReportService(
            store=store,
            ledger=None,  # type: ignore[arg-type]  # an X report asks the ledger nothing
            clock=clock,
            terminal_id="T-0001",
        )
        past = FIRST_DAY + timedelta(days=2)  # a whole day in both stores
        for n in range(rounds):
            at = clock.at + timedelta(seconds=n)
            new: NewRedemption = dataclasses.replace(
                template,
                id=str(uuid.uuid4()),
                created_at=at,
                business_date=day,
                token_jti=str(uuid.uuid4()),
            )
            _sale(store, records, new, at, t)
            if n % 10 == 0:
                _timed(t["x_today"], lambda: reports.x_report(day))
                _timed(t["x_past"], lambda: reports.x_report(past))
    finally:
        store.close()
    starts: list[float] = []
    for _ in range(5):

        def start() -> None:
            lane = SqliteStore.open(path)
            try:
                Records(store=lane, clock=clock).outbox_summary()
                lane.unseen()
            finally:
                lane.close()

        _timed(starts, start)
    figures = {"enqueue_p99": percentile(t["enqueue"], 99), "startup": percentile(starts, 50)}
    for key in ("pick", "status", "checkpoint", "x_today", "x_past", "queue"):
        figures[key] = percentile(t[key], 50)
    return figures


def _export_peak(path: Path) -> tuple[float, bool]:
    """``journal export --json``'s peak memory above its process's start (MB), and if it fit."""
    with subprocess.Popen(  # noqa: S603 - this Python, this module, our own paths
        [sys.executable, "-m", "pos_client.bench.history_child", str(path), str(EXPORT_CAP_BYTES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": ""},
    ) as child:
        out, _ = child.communicate(timeout=3600)
    result = json.loads(out.decode().strip().splitlines()[-1])
    return (result["peak_kb"] - result["start_kb"]) / 1024, bool(result["ok"])


def _bytes_per_sale(path: Path, sales: int) -> float:
    size = path.stat().st_size
    wal = Path(f"{path}-wal")
    if wal.exists():
        size += wal.stat().st_size
    return size / sales


def measure(folder: Path, *, small: int, large: int, rounds: int) -> list[Figure]:
    built = {size: _build(folder / f"s{size}", size) for size in (small, large)}
    sizes_bytes = {size: _bytes_per_sale(path, size) for size, (path, _) in built.items()}
    work = {size: _work(path, filled, rounds=rounds) for size, (path, filled) in built.items()}
    export = {size: _export_peak(path) for size, (path, _) in built.items()}
    body = built[large][1].body_bytes
    base = f"the same on {small:,} sales"
    note = f"{large:,} sales, 800 a day, one sale of the first week left open"
    names = {
        "enqueue_p99": "History: enqueue p99",
        "pick": "History: forwarder pick",
        "status": "History: status bar check",
        "checkpoint": "History: checkpoint after a sale",
        "x_today": "History: today's X report",
        "x_past": "History: X report of a past date",
        "queue": "History: queue list",
        "startup": "History: start-up (store)",
    }
    figures = [
        Figure(
            key=f"history_{key}",
            group=GROUP,
            name=name,
            value=work[large][key],
            unit="ms",
            against=Against("limit", base, work[small][key]),
            goal=RATIO_GOAL,
            samples=rounds,
            note=note,
        )
        for key, name in names.items()
    ]
    peak, fitted = export[large]
    cap_gb = EXPORT_CAP_BYTES / 1024**3
    figures.append(
        Figure(
            key="history_export_peak",
            group=GROUP,
            name="History: journal export --json peak",
            value=peak,
            unit="MB",
            against=Against("limit", base, export[small][0]),
            goal=Goal("value_below", EXPORT_GOAL_MB, f"< {EXPORT_GOAL_MB} MB"),
            note=note
            + ("" if fitted else f"; stopped at {cap_gb:g} GB of address space: it did not fit"),
            samples=1,
        )
    )
    figures.append(
        Figure(
            key="history_bytes_per_sale",
            group=GROUP,
            name="History: live store bytes per sale",
            value=sizes_bytes[large],
            unit="B",
            against=Against("limit", "bare redemption body", body),
            samples=1,
            note=note + f"; {sizes_bytes[small]:,.0f} B a sale on {small:,} sales",
        )
    )
    return figures
