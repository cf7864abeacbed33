"""Figure group: enrolment of many lanes with store codes, end to end, in lanes per second.

A chain's back office makes the store codes (``POST /v1/enrolment-codes``, up to
500 a request); then, one lane after another, what ``pos-client enrol --code``
does: the code sent, the credentials checked, the lane's config written
(0600, fsynced, linked into place), the config read back, a new store made and
the signed rules and catalog fetched into it. Beside it, the peer: the same
number of bare ``POST /v1/enrolments`` with fresh codes from a plain client (the
ledger's own share). Against a sandbox ledger of its own with a small catalog
(a chain's real catalog only adds the catalog load each lane does anyway).

Imports the standard library, httpx, the composition root, the config, the
enrolment service and the benchmark's own modules.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from pos_client import __version__
from pos_client.compose import open_app, open_fleet
from pos_client.config import load_config
from pos_client.services import enrolment

from .figures import Against, Figure, rate
from .ledger import LedgerProcess, ledger_process

__all__ = ["measure"]

GROUP = "enrol"
CATALOG_SIZE = 300
MAX_CODES = 500
STORE = "S-001"


def _admin_token(ledger: LedgerProcess) -> str:
    for admin in ledger.info["merchant_admins"]:
        if admin["merchant_id"] == "M-0001":
            return str(admin["token"])
    raise KeyError("M-0001")


def _codes(ledger: LedgerProcess, count: int) -> list[str]:
    codes: list[str] = []
    with open_fleet(ledger.url, admin_token=_admin_token(ledger)) as fleet:
        while len(codes) < count:
            batch = min(MAX_CODES, count - len(codes))
            codes += fleet.make_codes(store_id=STORE, count=batch, ttl_s=3600)["codes"]
    return codes


async def _lanes(ledger: LedgerProcess, root: Path, codes: list[str]) -> float:
    started = time.perf_counter()
    with open_fleet(ledger.url) as fleet:
        for n, code in enumerate(codes):
            creds = enrolment.with_code(
                fleet, code, hostname=f"bench-{n}", software_version=__version__
            )
            path = enrolment.write_lane_config(
                root / f"lane-{n}" / "lane.toml", enrolment.lane_config_text(creds)
            )
            async with open_app(load_config(path), new_store=True) as lane:
                await lane.refresh.sync_rules()
                catalog = await lane.refresh.sync_catalog(None)
            if catalog.total != CATALOG_SIZE:
                raise RuntimeError(f"lane {n} loaded {catalog.total} products")
    return time.perf_counter() - started


def _bare(ledger: LedgerProcess, codes: list[str]) -> float:
    started = time.perf_counter()
    with httpx.Client(base_url=ledger.url, timeout=60) as client:
        for n, code in enumerate(codes):
            answer = client.post(
                "/v1/enrolments", json={"enrolment_code": code, "hostname": f"bare-{n}"}
            )
            if answer.status_code != 200:
                raise RuntimeError(f"a bare enrolment was answered {answer.status_code}")
    return time.perf_counter() - started


async def measure(root: Path, *, lanes: int) -> list[Figure]:
    with ledger_process(root / "data", catalog_size=CATALOG_SIZE) as ledger:
        made = time.perf_counter()
        codes = _codes(ledger, lanes)
        made = time.perf_counter() - made
        took = await _lanes(ledger, root / "lanes", codes)
        bare = _bare(ledger, _codes(ledger, lanes))
    return [
        Figure(
            key="enrol_lanes_per_s",
            group=GROUP,
            name="Lanes enrolled with store codes, end to end",
            value=rate(lanes, took),
            unit="lanes/s",
            against=Against(
                "peer", "bare POST /v1/enrolments with a store code", rate(lanes, bare)
            ),
            samples=lanes,
            note=(
                "per lane: code sent, config written 0600, new store, signed rules and a"
                f" {CATALOG_SIZE}-product catalog fetched; one lane after another"
            ),
            details={"codes_made_s": round(made, 3), "seconds": round(took, 3)},
        )
    ]
