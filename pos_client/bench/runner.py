"""One benchmark run: every figure group in turn, in a temporary folder removed afterwards.

:func:`run_bench` measures the in-process figures (allocation, a KB2 token
checked offline, durable enqueue), then starts a sandbox ledger in a process of
its own and measures, against it on loopback, the catalog load and lookups, an
online redemption,
scan to basket on the running screen, start-up and memory, and the backlog
drain; then a redeem through a real lane agent (:mod:`.agent`, against a
ledger of its own); then a lane's long history (a 300,000-sale store against a 10,400-sale
one); then the enrolment of 500 lanes with store codes, against a ledger of its
own; then 2,000 lanes' telemetry on one Mosquitto; then the fleet page with 2,000
lanes on a Mosquitto of its own, in headless Chromium. A group that fails is
reported (``errors``) and the others still run.
``groups`` runs only the groups named (:data:`GROUPS`; the ledger is started
only for a group that needs it); "herd_real" (a herd of real lanes coming back
at once to a sandbox of its own with its load limits on, :mod:`.herd_real`)
runs only when named (:data:`OPT_IN`). ``quick`` shrinks every count (a run of well
under a minute) but keeps every figure.

Imports the standard library and the benchmark's own modules (which import
the rest of the application as they need it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import (
    agent,
    allocation,
    catalog,
    config_propagation,
    drain,
    enqueue,
    enrol,
    fleet_page,
    herd,
    herd_real,
    history,
    offline_token,
    online,
    scan,
    startup,
    telemetry,
)
from .figures import Figure, machine, to_json
from .ledger import ledger_process

__all__ = ["DEFAULT_GROUPS", "FULL", "GROUPS", "OPT_IN", "QUICK", "Sizes", "run_bench"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sizes:
    allocation_runs: int
    enqueue_rounds: int
    products: int
    lookups: int
    online_sales: int
    scans: int
    startup_runs: int
    startup_settle: float
    backlog: int
    one_by_one: int
    history_small: int
    history_large: int
    history_rounds: int
    herd_lanes: int = 10_000
    herd_outage: float = 1800.0
    real_herd_lanes: int = 200
    real_herd_backlog: int = 20
    real_herd_batch: int = 10
    enrol_lanes: int = 500
    config_lanes: int = 1000
    config_poll_s: float = 10.0
    agent_sales: int = 200
    agent_spawned: int = 20
    telemetry_lanes: int = 2000
    fleet_lanes: int = 2000
    fleet_loads: int = 5
    fleet_changes: int = 30


FULL = Sizes(
    allocation_runs=2000,
    enqueue_rounds=2000,
    products=1_000_000,
    lookups=50_000,
    online_sales=200,
    scans=300,
    startup_runs=5,
    startup_settle=1.0,
    backlog=10_000,
    one_by_one=1_000,
    history_small=10_400,
    history_large=300_000,
    history_rounds=300,
    enrol_lanes=500,
)
QUICK = Sizes(
    allocation_runs=300,
    enqueue_rounds=300,
    products=100_000,
    lookups=5_000,
    online_sales=30,
    scans=60,
    startup_runs=2,
    startup_settle=0.5,
    backlog=1_000,
    one_by_one=200,
    history_small=4_000,
    history_large=24_000,
    history_rounds=100,
    herd_lanes=1_000,
    real_herd_lanes=20,
    real_herd_backlog=5,
    real_herd_batch=5,
    enrol_lanes=40,
    config_lanes=200,
    config_poll_s=2.0,
    agent_sales=30,
    agent_spawned=5,
    telemetry_lanes=200,
    fleet_lanes=200,
    fleet_loads=2,
    fleet_changes=5,
)


#: The figure groups, in the order they run; those after "enqueue" and before "history"
#: run against a sandbox ledger ("herd" simulates its ledger on a virtual clock).
GROUPS = (
    "allocation",
    "offline_token",
    "enqueue",
    "catalog",
    "online",
    "scan",
    "startup",
    "drain",
    "herd_real",
    "config",
    "agent",
    "history",
    "herd",
    "enrol",
    "telemetry",
    "fleet_page",
)
#: Groups run only when named with ``--group`` (a herd of 200 real lanes takes minutes).
OPT_IN = frozenset({"herd_real"})
DEFAULT_GROUPS = tuple(g for g in GROUPS if g not in OPT_IN)
_LEDGER_GROUPS = frozenset({"catalog", "online", "scan", "startup", "drain", "config"})


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


async def _groups(
    root: Path,
    sizes: Sizes,
    figures: list[Figure],
    errors: list[dict[str, str]],
    chosen: frozenset[str],
) -> None:
    async def group(name: str, work: Callable[[], Any]) -> None:
        if name not in chosen:
            return
        _say(f"{name}…")
        started = time.perf_counter()
        try:
            result = work()
            if asyncio.iscoroutine(result):
                result = await result
            figures.extend(result)
        except Exception as exc:  # one group failing must not hide the others
            log.debug("bench group %s failed", name, exc_info=True)
            errors.append({"group": name, "error": f"{type(exc).__name__}: {exc}"})
            _say(f"{name} failed: {type(exc).__name__}: {exc}")
        else:
            _say(f"{name} done in {time.perf_counter() - started:.1f} s")

    await group("allocation", lambda: allocation.measure(runs=sizes.allocation_runs))
    await group("offline_token", lambda: offline_token.measure(runs=sizes.allocation_runs))
    await group("enqueue", lambda: enqueue.measure(root / "enqueue", rounds=sizes.enqueue_rounds))
    if chosen & _LEDGER_GROUPS:
        await _ledger_groups(root, sizes, group, errors)
    if "herd_real" in chosen:
        await _herd_real(root, sizes, group, errors)
    if "agent" in chosen:
        await _agent(root, sizes, group, errors)
    await group(
        "history",
        lambda: history.measure(
            root / "history",
            small=sizes.history_small,
            large=sizes.history_large,
            rounds=sizes.history_rounds,
        ),
    )
    await group(
        "herd",
        lambda: herd.measure(lanes=sizes.herd_lanes, outage=sizes.herd_outage),
    )
    await group("enrol", lambda: enrol.measure(root / "enrol", lanes=sizes.enrol_lanes))
    await group(
        "telemetry",
        lambda: asyncio.to_thread(
            telemetry.measure, root / "telemetry", lanes=sizes.telemetry_lanes
        ),
    )
    await group(
        "fleet_page",
        lambda: fleet_page.measure(
            root / "fleet_page",
            lanes=sizes.fleet_lanes,
            loads=sizes.fleet_loads,
            changes=sizes.fleet_changes,
        ),
    )


async def _ledger_groups(
    root: Path,
    sizes: Sizes,
    group: Callable[[str, Callable[[], Any]], Any],
    errors: list[dict[str, str]],
) -> None:
    _say(f"starting a sandbox ledger with {sizes.products:,} products…")
    with contextlib.ExitStack() as stack:
        try:
            ledger = stack.enter_context(
                ledger_process(root / "ledger" / "data", catalog_size=sizes.products)
            )
        except Exception as exc:  # noqa: BLE001 - reported; the in-process figures stand
            errors.append({"group": "ledger", "error": f"{type(exc).__name__}: {exc}"})
            _say(f"the sandbox ledger did not start: {exc}")
            return
        from pos_client.config import load_config

        runtime = root / "run"
        lane_path = ledger.write_lane_config(
            root / "lane" / "lane.toml",
            store_path=root / "lane" / "lane.sqlite",
            scanners=("virtual://bench-start",),
        )
        config = load_config(lane_path)
        await group(
            "catalog",
            lambda: catalog.load_and_lookup(
                ledger, config, root / "lane", products=sizes.products, lookups=sizes.lookups
            ),
        )
        await group("online", lambda: online.measure(ledger, config, sales=sizes.online_sales))
        await group("scan", lambda: scan.measure(ledger, config, runtime, scans=sizes.scans))
        await group(
            "startup",
            lambda: startup.measure(
                lane_path,
                runtime,
                runs=sizes.startup_runs,
                products=sizes.products,
                settle=sizes.startup_settle,
            ),
        )
        await group(
            "drain",
            lambda: drain.measure(
                ledger,
                config,
                root / "drain",
                count=sizes.backlog,
                one_by_one=sizes.one_by_one,
            ),
        )
        await group(
            "config",
            lambda: config_propagation.measure(
                ledger, config, lanes=sizes.config_lanes, poll_s=sizes.config_poll_s
            ),
        )


async def _herd_real(
    root: Path,
    sizes: Sizes,
    group: Callable[[str, Callable[[], Any]], Any],
    errors: list[dict[str, str]],
) -> None:
    """The herd of real lanes, against a sandbox of its own with a terminal for each lane."""
    _say(f"starting a sandbox ledger with {sizes.real_herd_lanes} more terminals…")
    with contextlib.ExitStack() as stack:
        try:
            ledger = stack.enter_context(
                ledger_process(
                    root / "herd" / "ledger" / "data",
                    catalog_size=1000,
                    terminals=max(sizes.real_herd_lanes, herd_real.WORKERS),
                )
            )
        except Exception as exc:  # noqa: BLE001 - reported; the other figures stand
            errors.append({"group": "herd_real", "error": f"{type(exc).__name__}: {exc}"})
            _say(f"the sandbox ledger did not start: {exc}")
            return
        await group(
            "herd_real",
            lambda: herd_real.measure(
                ledger,
                root / "herd" / "lanes",
                lanes=sizes.real_herd_lanes,
                backlog=sizes.real_herd_backlog,
                batch=sizes.real_herd_batch,
            ),
        )


async def _agent(
    root: Path,
    sizes: Sizes,
    group: Callable[[str, Callable[[], Any]], Any],
    errors: list[dict[str, str]],
) -> None:
    """The lane agent's redeem, against a sandbox of its own (a small catalog: a lane's
    start-up fetching a million products is the catalog group's figure, not this one's)."""
    _say("starting a sandbox ledger for the lane agent…")
    with contextlib.ExitStack() as stack:
        try:
            ledger = stack.enter_context(
                ledger_process(root / "agent" / "ledger" / "data", catalog_size=1000)
            )
        except Exception as exc:  # noqa: BLE001 - reported; the other figures stand
            errors.append({"group": "agent", "error": f"{type(exc).__name__}: {exc}"})
            _say(f"the sandbox ledger did not start: {exc}")
            return
        await group(
            "agent",
            lambda: agent.measure(
                ledger,
                root / "agent" / "lane",
                sales=sizes.agent_sales,
                spawned=sizes.agent_spawned,
            ),
        )


def run_bench(
    *,
    quick: bool,
    groups: Sequence[str] | None = None,
    herd_lanes: int | None = None,
    herd_outage: float | None = None,
) -> dict[str, Any]:
    """Run the figure groups (``groups``: only those; default all); the result as JSON.

    ``herd_lanes`` and ``herd_outage`` (seconds) size the herd group's simulation.

    The result is what :func:`figures.to_json` makes. An unknown group name is a ``ValueError``.
    """
    sizes = QUICK if quick else FULL
    if herd_lanes is not None:
        sizes = replace(sizes, herd_lanes=herd_lanes)
    if herd_outage is not None:
        sizes = replace(sizes, herd_outage=herd_outage)
    chosen = frozenset(DEFAULT_GROUPS if not groups else groups)
    unknown = sorted(chosen - set(GROUPS))
    if unknown:
        raise ValueError(f"no figure group {', '.join(unknown)}; there are {', '.join(GROUPS)}")
    figures: list[Figure] = []
    errors: list[dict[str, str]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pos-client-bench-", ignore_cleanup_errors=True) as tmp:
        asyncio.run(_groups(Path(tmp), sizes, figures, errors, chosen))
    return to_json(
        figures,
        quick=quick,
        seconds=time.perf_counter() - started,
        machine_info=machine(),
        errors=errors,
    )
