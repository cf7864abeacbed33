"""Figure group: a chain's config change reaching 1,000 lanes that poll with ``ETag``.

``lanes`` simulated lanes run in this process, each with the lane's own
client code: an :class:`~pos_client.adapters.ledger_http.HttpLedger` (one
connection pool shared by all, as a proxy in front of many lanes would be)
and a :class:`~pos_client.services.terminal_config.TerminalConfigBook` that
verifies the signature and merges the layers. Each polls
``GET /v1/terminal-config`` with ``If-None-Match`` every ``poll_s`` seconds,
starting at a random moment of the first interval (lanes are not in step).
Once every lane holds the current version, a merchant admin changes the chain
layer (``PUT /v1/config-layers/chain``) over HTTP; timed, for each lane, from
the write's answer to the moment the lane has verified the new version and
handed it to the checkout (taken at its next sale).

Reported: p50 and p99 of those times beside the poll interval. Goal: p99 at
most the poll interval + 5 s (a fleet's config pickup is often minutes).

Imports the standard library, httpx, the adapters' ledger client, the config,
the services' config book and the benchmark's own modules.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from pos_client.adapters.ledger_http import HttpLedger
from pos_client.config import Config
from pos_client.domain.config_layers import Effective
from pos_client.errors import LedgerError
from pos_client.services.refresh import RulesBook
from pos_client.services.terminal_config import TerminalConfigBook

from .figures import Against, Figure, Goal, percentile
from .ledger import LedgerProcess

__all__ = ["measure"]

GROUP = "config"


class _LaneMeta:
    """What a lane's store keeps for its config book (in memory: 1,000 lanes, one process)."""

    def __init__(self) -> None:
        self.meta: dict[str, str] = {}

    def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value

    def load_rules(self) -> None:
        return None

    def learned_keys(self) -> dict[str, bytes]:
        return {}


class _Lane:
    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport) -> None:
        store = _LaneMeta()
        rules = RulesBook(store=store, config_keys=config.ledger.trusted_keys)  # type: ignore[arg-type]
        self.book = TerminalConfigBook(store=store, rules=rules, file_values={})
        self.ledger = HttpLedger.from_config(config.ledger, transport=transport)
        self.applied: dict[str, float] = {}
        self.errors = 0

    def apply(self, version: str, effective: dict[str, Effective]) -> None:
        self.applied.setdefault(version, time.perf_counter())

    async def poll(self, poll_s: float, stop: asyncio.Event, first: float) -> None:
        await asyncio.sleep(first)
        while not stop.is_set():
            started = time.perf_counter()
            try:
                await self.book.sync(self.ledger, at=datetime.now(UTC), apply=self.apply)
            except LedgerError:
                self.errors += 1
            elapsed = time.perf_counter() - started
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, poll_s - elapsed))
            except TimeoutError:
                pass


def _admin_token(ledger: LedgerProcess) -> str:
    for admin in ledger.info.get("merchant_admins", []):
        if admin["merchant_id"] == "M-0001":
            return str(admin["token"])
    raise RuntimeError("the sandbox names no admin token for M-0001")


async def _wait(lanes: list[_Lane], version: str, deadline: float) -> None:
    while time.perf_counter() < deadline:
        if all(version in lane.applied for lane in lanes):
            return
        await asyncio.sleep(0.05)


async def measure(
    ledger: LedgerProcess, config: Config, *, lanes: int, poll_s: float
) -> list[Figure]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    fleet = [_Lane(config, transport) for _ in range(lanes)]
    stop = asyncio.Event()
    rng = random.Random(20261206)
    tasks = [asyncio.create_task(lane.poll(poll_s, stop, rng.uniform(0, poll_s))) for lane in fleet]
    try:
        with httpx.Client(
            base_url=ledger.url,
            headers={"Authorization": f"Bearer {_admin_token(ledger)}"},
            timeout=60.0,
        ) as admin:
            current = admin.get("/v1/config-layers/chain")
            current.raise_for_status()
            held = str(current.json()["version"])
            # every lane holds the current version before the change
            await _wait(fleet, held, time.perf_counter() + poll_s * 3 + 30)
            before = [lane for lane in fleet if lane.book.version != held]
            if before:
                raise RuntimeError(f"{len(before)} lanes never fetched the config")
            limit = rng.choice((2_000_000, 3_000_000, 4_000_000))
            answer = admin.put(
                "/v1/config-layers/chain",
                json={
                    "values": {"offline": {"max_rial_per_transaction": limit}},
                    "ceilings": {"offline.max_rial_per_transaction": limit},
                },
            )
            answer.raise_for_status()
            written = time.perf_counter()
            version = str(answer.json()["version"])
        await _wait(fleet, version, written + poll_s + 60)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await transport.aclose()
    times = [lane.applied[version] - written for lane in fleet if version in lane.applied]
    missing = lanes - len(times)
    if missing:
        raise RuntimeError(f"{missing} of {lanes} lanes did not apply the new config in time")
    errors = sum(lane.errors for lane in fleet)
    details: dict[str, Any] = {
        "lanes": lanes,
        "poll_s": poll_s,
        "poll_errors": errors,
        "max_s": max(times),
        "requests_per_s": lanes / poll_s,
    }
    note = (
        f"{lanes:,} in-process lanes (HttpLedger + TerminalConfigBook), one poll each"
        f" {poll_s:g} s with If-None-Match; from the admin's PUT to the lane's verified version"
    )
    against = Against("limit", f"poll interval {poll_s:g} s", poll_s)
    return [
        Figure(
            key="config_propagation_p99",
            group=GROUP,
            name=f"Config propagation p99, {lanes:,} lanes",
            value=percentile(times, 99),
            unit="s",
            against=against,
            goal=Goal("value_below", poll_s + 5, "p99 ≤ poll interval + 5 s"),
            samples=len(times),
            note=note,
            details=details,
        ),
        Figure(
            key="config_propagation_p50",
            group=GROUP,
            name=f"Config propagation p50, {lanes:,} lanes",
            value=percentile(times, 50),
            unit="s",
            against=against,
            samples=len(times),
            note="half the poll interval is what polling alone costs on average",
        ),
    ]
