"""The signed catalog: versions, full lists and deltas as NDJSON files on disk.

A catalog version is the generated products (:mod:`.products`, by index, from
the seed) overlaid with the revisions kept in the books (changed caps, new
products, deletions). ``GET /v1/catalog`` serves, for a version, either the
full list or the delta since an earlier version; each body is written once to
``DATA/catalog/`` and signed over its exact bytes, then streamed from the file,
so a catalog of a million products never sits in memory.

Imports the standard library, the pure domain and the sandbox's own modules.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pos_client.domain.contract import parse_product, product_to_wire
from pos_client.domain.models import Product

from .books import Books, Tx
from .files import make_private_dir, open_private_temp, write_private
from .keys import SigningIdentity
from .products import ANCHOR_COUNT, MAX_INDEX, gtin_for_index, index_for_gtin, make_product

CATALOG_DIR = "catalog"
NDJSON = "application/x-ndjson"


def version_name(seq: int) -> str:
    return f"c-{seq:06d}"


@dataclass(frozen=True, slots=True)
class CatalogBody:
    """A signed catalog body on disk, ready to stream."""

    path: Path
    signature: str
    etag: str
    version: str
    full: bool


@dataclass(frozen=True, slots=True)
class PricedProduct:
    product: Product
    price_rial: int  # the shelf price a demo shop asks (not part of the catalog)


def _line(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class Catalog:
    """The catalog of one sandbox: ``size`` generated products, revisions in the books."""

    def __init__(
        self, *, books: Books, directory: Path, size: int, seed: int, signer: SigningIdentity
    ) -> None:
        if not ANCHOR_COUNT <= size <= MAX_INDEX // 2:
            raise ValueError(
                f"the catalog size must be between {ANCHOR_COUNT} and {MAX_INDEX // 2}"
            )
        self._books = books
        self._dir = directory
        self.size = size
        self.seed = seed
        self._signer = signer
        self._lock = threading.Lock()

    # ------------------------------------------------------------ versions

    def current(self, tx: Tx) -> tuple[int, str]:
        versions = tx.catalog_versions()
        if not versions:
            raise RuntimeError("the catalog has no version yet")
        return versions[-1]

    def initialise(self, tx: Tx, *, now: datetime) -> None:
        """On the first start: version 1 (as generated) and version 2 (a first revision)."""
        if tx.catalog_versions():
            return
        tx.add_catalog_version(1, version_name(1), at=now)
        self._revise(tx, seq=2, now=now, changes=6)

    def revise(self, *, now: datetime, changes: int = 6) -> str:
        """Make a new catalog version with ``changes`` deterministic changes; its name."""
        with self._books.write() as tx:
            seq = self.current(tx)[0] + 1
            self._revise(tx, seq=seq, now=now, changes=changes)
        self.prepare()
        return version_name(seq)

    def _revise(self, tx: Tx, *, seq: int, now: datetime, changes: int) -> None:
        tx.add_catalog_version(seq, version_name(seq), at=now)
        added = self._added_count(tx, upto=seq - 1)
        touched: set[str] = set()
        # A revision changes or removes only generated products past the anchors (the
        # demo's sample products stay as they are); a catalog of the anchors alone
        # (the smallest size) has none, so each of its changes adds a product instead.
        changeable = self.size - ANCHOR_COUNT
        for n in range(max(1, changes)):
            digest = hashlib.blake2b(f"{self.seed}:rev:{seq}:{n}".encode(), digest_size=8).digest()
            kind = n % 3 if changeable > 0 else 2
            if kind == 2:  # a new product, after the generated ones
                index = self.size + added + 1
                added += 1
                made = make_product(
                    ANCHOR_COUNT + 1 + int.from_bytes(digest[:4]) % 10_000, self.seed
                )
                product = replace(made.product, gtin=gtin_for_index(index))
                tx.add_catalog_change(seq, product.gtin, product_to_wire(product), made.price_rial)
                continue
            index = ANCHOR_COUNT + 1 + int.from_bytes(digest[:4]) % changeable
            gtin = gtin_for_index(index)
            priced = self._lookup(tx, gtin, upto=seq - 1)
            if priced is None or priced.product.deleted or gtin in touched:
                continue
            touched.add(gtin)
            if kind == 0:  # the programme raises a price cap by 5 to 15 percent
                cap = priced.product.max_unit_price_rial or priced.price_rial
                raised = cap + cap * (5 + digest[4] % 11) // 100
                product = replace(priced.product, max_unit_price_rial=raised // 1000 * 1000)
            else:  # the product leaves the approved list
                product = replace(priced.product, deleted=True)
            tx.add_catalog_change(seq, product.gtin, product_to_wire(product), priced.price_rial)

    def _added_count(self, tx: Tx, *, upto: int) -> int:
        changed = tx.catalog_changes(after=0, upto=upto)
        return sum(1 for _, gtin, _, _ in changed if (index_for_gtin(gtin) or 0) > self.size)

    # ------------------------------------------------------------ products

    def _lookup(self, tx: Tx, gtin: str, *, upto: int) -> PricedProduct | None:
        index = index_for_gtin(gtin)
        if index is None:
            return None
        changed = tx.catalog_change_for(gtin, upto=upto)
        if changed is not None:
            doc, price = changed
            return PricedProduct(parse_product(doc), price)
        if index > self.size:
            return None
        made = make_product(index, self.seed)
        return PricedProduct(made.product, made.price_rial)

    def lookup(self, tx: Tx, gtin: str) -> Product | None:
        """The product with ``gtin`` in the current version (``None``: not in the catalog)."""
        priced = self._lookup(tx, gtin, upto=self.current(tx)[0])
        if priced is None or priced.product.deleted:
            return None
        return priced.product

    def samples(self, tx: Tx) -> list[PricedProduct]:
        """The anchor products (one per template) as they stand, with a shelf price."""
        upto = self.current(tx)[0]
        result = []
        for index in range(1, ANCHOR_COUNT + 1):
            priced = self._lookup(tx, gtin_for_index(index), upto=upto)
            if priced is not None and not priced.product.deleted:
                result.append(priced)
        return result

    # ------------------------------------------------------------ bodies

    def _full_lines(self, tx: Tx, *, seq: int) -> Iterator[bytes]:
        yield _line({"version": version_name(seq), "full": True})
        changed = {gtin: doc for _, gtin, doc, _ in tx.catalog_changes(after=0, upto=seq)}
        for index in range(1, self.size + 1):
            gtin = gtin_for_index(index)
            doc = changed.pop(gtin, None)
            if doc is None:
                yield _line(product_to_wire(make_product(index, self.seed).product))
            elif not doc.get("deleted"):
                yield _line(product_to_wire(parse_product(doc)))
        for gtin in sorted(changed):  # products added by revisions
            if not changed[gtin].get("deleted"):
                yield _line(product_to_wire(parse_product(changed[gtin])))

    def _delta_lines(self, tx: Tx, *, since: int, seq: int) -> Iterator[bytes]:
        yield _line({"version": version_name(seq), "full": False})
        for _, _, doc, _ in tx.catalog_changes(after=since, upto=seq):
            yield _line(product_to_wire(parse_product(doc)))

    def _write(self, path: Path, lines: Iterator[bytes]) -> str:
        make_private_dir(path.parent)
        tmp, fd = open_private_temp(path)
        try:
            with os.fdopen(fd, "wb", buffering=1 << 20) as handle:
                for line in lines:
                    handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            signature = self._signer.sign_file(tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        write_private(path.with_name(path.name + ".sig"), signature.encode("ascii"))
        return signature

    def _body(self, name: str, etag: str, version: str, full: bool, make: Any) -> CatalogBody:
        path = self._dir / f"{name}.ndjson"
        sig_path = path.with_name(path.name + ".sig")
        with self._lock:
            if path.exists() and sig_path.exists():
                signature = sig_path.read_text(encoding="ascii")
            else:
                signature = make(path)
        return CatalogBody(path=path, signature=signature, etag=etag, version=version, full=full)

    def body(self, since: str | None) -> CatalogBody:
        """The signed body for a request: the delta since ``since`` if known, else the full list."""
        with self._books.read() as tx:
            versions = dict((v, s) for s, v in tx.catalog_versions())
            seq = max(versions.values())
            version = version_name(seq)
            since_seq = versions.get(since) if since is not None else None
            if since_seq is None or since_seq > seq:
                tag = f'"{version}"'
                return self._body(
                    version,
                    tag,
                    version,
                    True,
                    lambda p: self._write(p, self._full_lines(tx, seq=seq)),
                )
            name = f"{version_name(since_seq)}..{version}"
            return self._body(
                name,
                f'"{name}"',
                version,
                False,
                lambda p: self._write(p, self._delta_lines(tx, since=since_seq, seq=seq)),
            )

    def prepare(self) -> None:
        """Write (and sign) the current full list now, so that no request waits for it."""
        self.body(None)
