"""The catalog file (approved products by GTIN) and the shop's prices and scale items.

The catalog lives in a file of its own (``<store stem>.catalog.sqlite``), so
that loading a million products never makes a sale wait for the disk; prices
and scale items are the shop's own, kept in the lane store.

Product names are data: they are cleaned (:mod:`pos_client.domain.text`) when a
catalog is loaded and when a product is read.

Imports the standard library, the domain, the project's errors and the sibling ``db`` module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pos_client.adapters.sqlite.db import Db, utc
from pos_client.domain.models import Product, Unit
from pos_client.domain.text import safe_text
from pos_client.errors import CatalogRefused

__all__ = ["CatalogLoad", "CatalogRefused", "CatalogTables"]

#: Products written per ``executemany`` while a catalog loads.
_BATCH = 5000


@dataclass(frozen=True, slots=True)
class CatalogLoad:
    version: str
    full: bool
    upserted: int
    deleted: int
    total: int


class CatalogTables:
    """Catalog, prices and scale items (a part of ``SqliteStore``)."""

    _db: Db
    _cat: Db

    def price(self, gtin: str) -> int | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT unit_price_rial FROM prices WHERE gtin = ?", (gtin,)
            ).fetchone()
        return None if row is None else int(row[0])

    def import_prices(
        self,
        rows: Iterable[tuple[str, int, str | None]],
        *,
        at: datetime,
    ) -> int:
        """Upsert ``(gtin, unit_price_rial, scale lookup key or None)`` rows in one transaction."""
        now = utc(at)
        count = 0
        with self._db.write() as conn:
            for gtin, price, lookup in rows:
                conn.execute(
                    "INSERT INTO prices(gtin, unit_price_rial, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(gtin) DO UPDATE SET unit_price_rial = excluded.unit_price_rial,"
                    " updated_at = excluded.updated_at",
                    (gtin, price, now),
                )
                if lookup:
                    conn.execute(
                        "INSERT INTO scale_items(lookup_key, gtin) VALUES (?, ?)"
                        " ON CONFLICT(lookup_key) DO UPDATE SET gtin = excluded.gtin",
                        (lookup, gtin),
                    )
                count += 1
        return count

    def scale_item(self, lookup_key: str) -> str | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT gtin FROM scale_items WHERE lookup_key = ?", (lookup_key,)
            ).fetchone()
        return None if row is None else str(row[0])

    def product(self, gtin: str) -> Product | None:
        with self._cat.read() as conn:
            row = conn.execute(
                "SELECT gtin, name_fa, name_en, category, unit, groups, max_unit_price_rial"
                " FROM products WHERE gtin = ?",
                (gtin,),
            ).fetchone()
        if row is None:
            return None
        return Product(
            gtin=row[0],
            name_fa=safe_text(row[1]),
            name_en=safe_text(row[2]),
            category=row[3],
            unit=Unit(row[4]),
            groups=tuple(json.loads(row[5])),
            max_unit_price_rial=row[6],
        )

    def catalog_state(self) -> tuple[str | None, str | None, int]:
        """``(version, etag, product count)`` of the catalog held."""
        with self._cat.read() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            count = int(conn.execute("SELECT COUNT(*) FROM products").fetchone()[0])
        return meta.get("version"), meta.get("etag") or None, count

    def load_catalog(
        self,
        *,
        version: str,
        full: bool,
        products: Iterable[Product],
        etag: str | None,
        progress: Callable[[int], None] | None = None,
        min_keep_fraction: float = 0.5,
    ) -> CatalogLoad:
        """Stream ``products`` into the catalog in ONE transaction (never all in memory).

        Runs on its own connection, so lookups go on (seeing the old catalog)
        while it loads. Names are stored through :func:`~pos_client.domain.text.safe_text`
        (no control or bidi-override characters, at most ``MAX_NAME_CHARS``), and
        read through it again, so rows stored before it are safe too. A full
        catalog replaces what is held; one that would keep fewer than
        ``min_keep_fraction`` of the rows held is refused (:class:`CatalogRefused`)
        and the last good catalog stays. A delta upserts and deletes. Anything
        raised while reading ``products`` rolls the whole load back.
        """
        upserted = deleted = 0
        with self._cat.write_elsewhere() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            generation = int(meta.get("generation", "0")) + 1
            before = int(conn.execute("SELECT COUNT(*) FROM products").fetchone()[0])
            upserts: list[tuple[Any, ...]] = []
            deletes: list[tuple[str]] = []

            def flush() -> None:
                if upserts:
                    conn.executemany(
                        "INSERT INTO products(gtin, name_fa, name_en, category, unit, groups,"
                        " max_unit_price_rial, generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT(gtin) DO UPDATE SET name_fa = excluded.name_fa,"
                        " name_en = excluded.name_en, category = excluded.category,"
                        " unit = excluded.unit, groups = excluded.groups,"
                        " max_unit_price_rial = excluded.max_unit_price_rial,"
                        " generation = excluded.generation",
                        upserts,
                    )
                    upserts.clear()
                if deletes:
                    conn.executemany("DELETE FROM products WHERE gtin = ?", deletes)
                    deletes.clear()

            # The same few group lists come back a million times: each is written out once.
            group_texts: dict[tuple[str, ...], str] = {}
            for product in products:
                if product.deleted:
                    if not full:
                        deletes.append((product.gtin,))
                        deleted += 1
                else:
                    groups = group_texts.get(product.groups)
                    if groups is None:
                        groups = json.dumps(list(product.groups))
                        if len(group_texts) < 1000:
                            group_texts[product.groups] = groups
                    upserts.append(
                        (
                            product.gtin,
                            safe_text(product.name_fa),
                            safe_text(product.name_en),
                            product.category,
                            product.unit.value,
                            groups,
                            product.max_unit_price_rial,
                            generation,
                        )
                    )
                    upserted += 1
                if len(upserts) + len(deletes) >= _BATCH:
                    flush()
                    if progress is not None:
                        progress(upserted + deleted)
            flush()
            if full:
                kept = int(
                    conn.execute(
                        "SELECT COUNT(*) FROM products WHERE generation = ?", (generation,)
                    ).fetchone()[0]
                )
                if before and kept < before * min_keep_fraction:
                    raise CatalogRefused(
                        f"the new catalog {version} would keep {kept} of {before} products;"
                        " refused, the last good catalog is kept"
                    )
                deleted = int(
                    conn.execute(
                        "DELETE FROM products WHERE generation <> ?", (generation,)
                    ).rowcount
                )
            for key, value in (
                ("version", version),
                ("etag", etag or ""),
                ("generation", str(generation)),
            ):
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
            total = int(conn.execute("SELECT COUNT(*) FROM products").fetchone()[0])
        if progress is not None:
            progress(upserted + deleted)
        return CatalogLoad(
            version=version, full=full, upserted=upserted, deleted=deleted, total=total
        )
