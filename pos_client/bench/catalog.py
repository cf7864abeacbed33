"""Figure group: loading the approved catalog into the lane's store, and looking products up.

- Load: :meth:`RefreshService.sync_catalog` of a full catalog from the
  ledger on loopback (download to a spool file, Ed25519 check of the exact
  bytes, NDJSON parsed and validated line by line, streamed into SQLite in one
  transaction), in seconds, beside the limit: the same rows inserted by a bare
  ``executemany`` into a bare table of the same shape in one transaction.
  Goal: under 15 s for 1,000,000 products.
- Lookup: :meth:`SqliteStore.product` by GTIN, p99, beside a bare SQLite
  primary-key SELECT of the same columns on the same file, interleaved.
  Goal: within 2x.

Imports the standard library, sqlite3, the composition root, the config, the
store adapter and the benchmark's own modules.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from pos_client.compose import build_app
from pos_client.config import Config
from pos_client.sandbox.products import gtin_for_index
from pos_client.services.refresh import CatalogProgress

from .figures import Against, Figure, Goal, percentile
from .ledger import LedgerProcess

__all__ = ["load_and_lookup"]

GROUP = "catalog"
_COLUMNS = "gtin, name_fa, name_en, category, unit, groups, max_unit_price_rial, generation"
_INSERT = f"INSERT INTO products({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608


def _bare_load(source: Path, target: Path) -> tuple[float, int]:
    """Insert every row of ``source``'s catalog into a bare table; seconds for the insert."""
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE products (gtin TEXT PRIMARY KEY, name_fa TEXT NOT NULL,"
            " name_en TEXT NOT NULL, category TEXT NOT NULL, unit TEXT NOT NULL,"
            " groups TEXT NOT NULL, max_unit_price_rial INTEGER, generation INTEGER NOT NULL)"
            " WITHOUT ROWID"
        )
        reader = sqlite3.connect(f"file:{source.resolve().as_posix()}?mode=ro", uri=True)
        try:
            rows = reader.execute(f"SELECT {_COLUMNS} FROM products").fetchall()  # noqa: S608
        finally:
            reader.close()
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_INSERT, rows)
        conn.execute("COMMIT")
        return time.perf_counter() - start, len(rows)
    finally:
        conn.close()


async def load_and_lookup(
    ledger: LedgerProcess, config: Config, folder: Path, *, products: int, lookups: int
) -> list[Figure]:
    """Load the ledger's catalog into the lane at ``config`` (kept for the next figures)."""
    app = build_app(config)
    phases: dict[str, float] = {}
    try:
        await app.refresh.sync_rules()
        start = time.perf_counter()

        def progress(p: CatalogProgress) -> None:
            phases.setdefault(p.phase, time.perf_counter() - start)

        synced = await app.refresh.sync_catalog(progress)
        load_seconds = time.perf_counter() - start
        if synced.total != products:
            raise RuntimeError(f"the catalog holds {synced.total} products, not {products}")
        store = app.store
        bare_seconds, rows = _bare_load(store.catalog_path, folder / "bare-catalog.sqlite")

        rng = random.Random(5)
        keys = [gtin_for_index(rng.randint(1, products)) for _ in range(lookups)]
        bare = sqlite3.connect(f"file:{store.catalog_path.resolve().as_posix()}?mode=ro", uri=True)
        sql = (
            "SELECT gtin, name_fa, name_en, category, unit, groups, max_unit_price_rial"
            " FROM products WHERE gtin = ?"
        )
        ours: list[float] = []
        plain: list[float] = []
        found = 0
        try:
            for n, gtin in enumerate(keys):
                first_ours = n % 2 == 0
                for turn in (0, 1):
                    t0 = time.perf_counter()
                    if (turn == 0) == first_ours:
                        product = store.product(gtin)
                        ours.append(time.perf_counter() - t0)
                        found += product is not None
                    else:
                        bare.execute(sql, (gtin,)).fetchone()
                        plain.append(time.perf_counter() - t0)
        finally:
            bare.close()
        if found != lookups:
            raise RuntimeError("a catalog product was not found")
    finally:
        await app.aclose()
    us = [x * 1e6 for x in ours]
    bare_us = [x * 1e6 for x in plain]
    details: dict[str, Any] = {
        "products": products,
        "download_and_verify_s": phases.get("load"),
        "bare_rows": rows,
        "lookup_p50_us": percentile(us, 50),
        "bare_lookup_p50_us": percentile(bare_us, 50),
    }
    return [
        Figure(
            key="catalog_load_s",
            group=GROUP,
            name=f"Catalog load, {products:,} products (NDJSON → store)",
            value=load_seconds,
            unit="s",
            against=Against("limit", "bare executemany of the same rows", bare_seconds),
            goal=Goal("value_below", 15.0 * products / 1_000_000, _load_goal(products)),
            samples=1,
            note="sync_catalog from the ledger on loopback: download, signature, parse, insert",
            details=details,
        ),
        Figure(
            key="catalog_lookup_p99",
            group=GROUP,
            name="Catalog lookup by GTIN p99",
            value=percentile(us, 99),
            unit="µs",
            against=Against("limit", "bare SQLite primary-key SELECT p99", percentile(bare_us, 99)),
            goal=Goal("ratio_at_most", 2.0, "≤ 2x limit"),
            samples=lookups,
            note=f"SqliteStore.product over {products:,} products, interleaved with the bare one",
        ),
    ]


def _load_goal(products: int) -> str:
    if products == 1_000_000:
        return "< 15 s"
    return f"< {15.0 * products / 1_000_000:g} s (15 s per million)"
