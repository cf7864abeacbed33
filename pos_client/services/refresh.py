"""Rules and catalog refresh: signed documents from the ledger, checked before anything is trusted.

- :class:`RulesBook` holds the verified rule set and the trusted signing keys:
  those in the lane's config, plus those a verified rule set announces
  (``signing_keys``). Cached rules are kept as their signed bytes and are
  verified again whenever they are loaded.
- :class:`RefreshService` fetches with ``If-None-Match`` (a ``304`` changes
  nothing), checks the Ed25519 ``X-Signature`` over the exact body bytes,
  and only then parses and stores. A catalog is streamed to a private spool
  file, verified there (memory-mapped, never read into memory whole), and
  streamed into SQLite in one transaction; a full catalog that would drop more
  than half the products is refused and the last good one kept.

Imports the standard library, ``cryptography``, the domain, the ports and the
project's errors.
"""

from __future__ import annotations

import asyncio
import logging
import mmap
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidSignature

from pos_client.domain.contract import (
    load_json,
    parse_catalog_header,
    parse_product,
    parse_rule_set,
)
from pos_client.domain.errors import ContractError
from pos_client.domain.models import Product, RuleSet
from pos_client.domain.signing import extend_trusted_keys, load_public_key, parse_signature_header
from pos_client.errors import DocumentRefused, StoreError
from pos_client.ports import Clock, Ledger

__all__ = [
    "CatalogProgress",
    "CatalogSync",
    "DocumentRefused",
    "RefreshService",
    "RulesBook",
    "RulesSync",
]

log = logging.getLogger(__name__)


class _RulesStore(Protocol):
    def load_rules(self) -> tuple[bytes, str, str | None, datetime] | None: ...

    def save_rules(
        self, *, version: str, body: bytes, signature: str, etag: str | None, at: datetime
    ) -> None: ...

    def learned_keys(self) -> dict[str, bytes]: ...

    def learn_keys(self, keys: Mapping[str, bytes], *, at: datetime) -> None: ...


def verify_signature(body: bytes | mmap.mmap, header: str | None, keys: Mapping[str, bytes]) -> str:
    """Check an ``X-Signature`` over ``body`` (bytes or a memory map); return the key id."""
    try:
        kid, signature = parse_signature_header(header)
    except ContractError as exc:
        raise DocumentRefused(exc.message, code=exc.reason) from None
    raw = keys.get(kid)
    if raw is None:
        raise DocumentRefused(
            f"the document is signed by key {kid!r}, which this terminal does not trust",
            code="signature_unknown_key",
        )
    try:
        load_public_key(raw).verify(signature, body)  # type: ignore[arg-type]  # any buffer
    except InvalidSignature:
        raise DocumentRefused(
            "the document's signature does not match: refused, the last good one is kept",
            code="signature_invalid",
        ) from None
    return kid


class RulesBook:
    """The verified rule set in force and the keys this terminal trusts."""

    def __init__(self, *, store: _RulesStore, config_keys: Mapping[str, bytes]) -> None:
        self._store = store
        self._config_keys = dict(config_keys)
        self._rules: RuleSet | None = None
        self._etag: str | None = None
        self._loaded = False

    def trusted_keys(self) -> dict[str, bytes]:
        keys = dict(self._store.learned_keys())
        keys.update(self._config_keys)  # a key in the config always wins
        return keys

    def current(self) -> RuleSet | None:
        """The cached rule set, verified again when first loaded; None if none is trusted."""
        if not self._loaded:
            self._loaded = True
            cached = self._store.load_rules()
            if cached is not None:
                body, signature, etag, _ = cached
                try:
                    self._rules = self._verify(body, signature)
                    self._etag = etag
                except (DocumentRefused, ContractError) as exc:
                    log.warning("the cached rule set is not trusted: %s", exc)
        return self._rules

    @property
    def etag(self) -> str | None:
        self.current()
        return self._etag

    def fetched_at(self) -> datetime | None:
        """When the rule set held was fetched from the ledger (None: none is held)."""
        stored = self._store.load_rules()
        return None if stored is None else stored[3]

    def _verify(self, body: bytes, signature: str | None) -> RuleSet:
        verify_signature(body, signature, self.trusted_keys())
        try:
            return parse_rule_set(load_json(body))
        except ContractError as exc:
            raise DocumentRefused(
                f"the rule set is malformed: {exc.message}", code="malformed"
            ) from None

    def accept(
        self, body: bytes, signature: str | None, *, etag: str | None, at: datetime
    ) -> RuleSet:
        """Verify, parse and keep a rule set from the ledger; learn the keys it announces."""
        rules = self._verify(body, signature)
        try:
            extended = extend_trusted_keys(self.trusted_keys(), rules.signing_keys)
        except ContractError as exc:
            raise DocumentRefused(exc.message, code=exc.reason) from None
        new_keys = {k: v for k, v in extended.items() if k not in self.trusted_keys()}
        if new_keys:
            self._store.learn_keys(new_keys, at=at)
        assert signature is not None
        self._store.save_rules(
            version=rules.version, body=body, signature=signature, etag=etag, at=at
        )
        self._rules = rules
        self._etag = etag
        self._loaded = True
        return rules


@dataclass(frozen=True, slots=True)
class RulesSync:
    changed: bool
    version: str | None
    valid_until: str | None


@dataclass(frozen=True, slots=True)
class CatalogProgress:
    """``phase``: ``download`` (bytes) or ``load`` (products); ``total`` may be unknown."""

    phase: str
    done: int
    total: int | None = None


@dataclass(frozen=True, slots=True)
class CatalogSync:
    changed: bool
    version: str | None
    full: bool = False
    upserted: int = 0
    deleted: int = 0
    total: int = 0


class _CatalogStore(Protocol):
    path: Path

    def catalog_state(self) -> tuple[str | None, str | None, int]: ...

    def load_catalog(
        self,
        *,
        version: str,
        full: bool,
        products: Iterator[Product],
        etag: str | None,
        progress: Callable[[int], None] | None = None,
        min_keep_fraction: float = 0.5,
    ) -> object: ...


def _products(handle: BinaryIO, *, first_line: int) -> Iterator[Product]:
    """The product lines of a spooled catalog, one at a time."""
    number = first_line
    for raw in handle:
        number += 1
        if not raw.strip():
            continue
        try:
            yield parse_product(load_json(raw))
        except ContractError as exc:
            raise DocumentRefused(
                f"catalog line {number}: {exc.message}; refused, the last good catalog is kept",
                code="malformed",
            ) from None


class RefreshService:
    """Fetches the rule set and the catalog (``rules sync``; at start; in the background)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        store: _CatalogStore,
        clock: Clock,
        rules: RulesBook,
        min_keep_fraction: float = 0.5,
        spool_dir: Path | None = None,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.clock = clock
        self.rules = rules
        self.min_keep_fraction = min_keep_fraction
        self.spool_dir = spool_dir or Path(store.path).parent

    def catalog_count(self) -> int:
        """How many products the lane's catalog holds (0: none fetched yet)."""
        return self.store.catalog_state()[2]

    async def sync_rules(self) -> RulesSync:
        """Fetch the rule set (``If-None-Match``); a refused one leaves the last good one."""
        current = self.rules.current()
        document = await self.ledger.get_rules(etag=self.rules.etag if current else None)
        if document is None:
            assert current is not None
            return RulesSync(False, current.version, current.valid_until.isoformat())
        rules = self.rules.accept(
            document.body, document.signature, etag=document.etag, at=self.clock.now()
        )
        return RulesSync(True, rules.version, rules.valid_until.isoformat())

    async def sync_catalog(
        self, progress: Callable[[CatalogProgress], None] | None = None
    ) -> CatalogSync:
        """Fetch the catalog (a delta when one is held) and load it in one transaction."""
        version, etag, count = self.store.catalog_state()
        since = version if version and count else None
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".catalog-", suffix=".ndjson", dir=self.spool_dir)
        spool_path = Path(name)
        try:
            os.chmod(spool_path, 0o600)
            with os.fdopen(fd, "w+b") as spool:

                def on_bytes(done: int, total: int | None) -> None:
                    if progress is not None:
                        progress(CatalogProgress("download", done, total))

                download = await self.ledger.download_catalog(
                    spool, since=since, etag=etag if since else None, progress=on_bytes
                )
                if download is None:
                    return CatalogSync(False, version, total=count)
                spool.flush()
                os.fsync(spool.fileno())
                if download.size == 0:
                    raise DocumentRefused("the catalog is empty", code="malformed")
                with mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    verify_signature(mapped, download.signature, self.rules.trusted_keys())
                spool.seek(0)
                header_line = spool.readline()
                try:
                    new_version, full = parse_catalog_header(load_json(header_line))
                except ContractError as exc:
                    raise DocumentRefused(
                        f"catalog line 1: {exc.message}", code="malformed"
                    ) from None
                if not full and since is None:
                    raise DocumentRefused(
                        "a catalog delta came when the whole catalog was asked for",
                        code="malformed",
                    )

                def on_rows(done: int) -> None:
                    if progress is not None:
                        progress(CatalogProgress("load", done, None))

                def load() -> object:
                    return self.store.load_catalog(
                        version=new_version,
                        full=full,
                        products=_products(spool, first_line=1),
                        etag=download.etag,
                        progress=on_rows,
                        min_keep_fraction=self.min_keep_fraction,
                    )

                try:
                    result = await asyncio.to_thread(load)
                except StoreError as exc:
                    if exc.code == "catalog_refused":
                        raise DocumentRefused(exc.message, code="catalog_refused") from None
                    raise
        finally:
            spool_path.unlink(missing_ok=True)
        return CatalogSync(
            True,
            new_version,
            full=full,
            upserted=getattr(result, "upserted", 0),
            deleted=getattr(result, "deleted", 0),
            total=getattr(result, "total", 0),
        )
