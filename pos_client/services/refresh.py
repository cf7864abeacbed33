"""Rules and catalog refresh: signed documents from the ledger, checked before anything is trusted.

- :class:`RulesBook` holds the verified rule set and the trusted signing keys:
  those in the lane's config, plus exactly those the newest verified rule set
  announces (``signing_keys``): a key no longer announced is withdrawn. Cached
  rules are kept as their signed bytes and are verified again whenever they are
  loaded. A rule set older than the one in force is refused (a replayed body).
- :class:`RefreshService` fetches with ``If-None-Match`` (a ``304`` changes
  nothing), checks the Ed25519 ``X-Signature`` over the exact body bytes,
  and only then parses and stores. A catalog is streamed to a private spool
  file, verified there (memory-mapped, never read into memory whole), and
  streamed into SQLite in one transaction; a full catalog that would drop more
  than half the products is refused and the last good one kept; one that drops
  more than a fifth is taken with a warning (logged, returned, and kept in the
  store's meta for ``doctor``). A catalog older than the one in force is refused.

Imports the standard library, ``cryptography``, the domain, the ports and the
project's errors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mmap
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from cryptography.exceptions import InvalidSignature

from pos_client.domain.contract import (
    load_json,
    parse_catalog_header,
    parse_product,
    parse_rule_set,
)
from pos_client.domain.errors import ContractError
from pos_client.domain.freshness import catalog_is_older, rule_set_is_older
from pos_client.domain.models import Product, RuleSet
from pos_client.domain.signing import (
    b64url_decode,
    b64url_encode,
    keys_in_force,
    load_public_key,
    parse_signature_header,
)
from pos_client.errors import DocumentRefused, StoreError
from pos_client.ports import Clock, Ledger

if TYPE_CHECKING:
    from pos_client.services.terminal_config import ConfigSync

__all__ = [
    "CatalogProgress",
    "CatalogSync",
    "CatalogWarning",
    "DocumentRefused",
    "RefreshService",
    "RulesBook",
    "RulesSync",
    "last_catalog_warning",
]

log = logging.getLogger(__name__)


#: Store meta: what the lane needs to trust its cached rule set again after a
#: restart (the keys that signed it) and the newest rule set it has verified
#: (a replayed older one is refused even if the cached copy is lost).
RULES_TRUST_META = "rules_trust"
#: Store meta: the last signed catalog that dropped a large share of the
#: products (shown by ``rules sync``; for ``doctor`` to show).
CATALOG_WARNING_META = "catalog_warning"


class _RulesStore(Protocol):
    def load_rules(self) -> tuple[bytes, str, str | None, datetime] | None: ...

    def save_rules(
        self, *, version: str, body: bytes, signature: str, etag: str | None, at: datetime
    ) -> None: ...

    def learned_keys(self) -> dict[str, bytes]: ...

    def learn_keys(self, keys: Mapping[str, bytes], *, at: datetime) -> None: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


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


@dataclass(frozen=True, slots=True)
class _Trust:
    """The persisted record of the newest verified rule set (see :data:`RULES_TRUST_META`)."""

    version: str
    issued_at: datetime
    signers: dict[str, bytes]

    def to_meta(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "issued_at": self.issued_at.isoformat(),
                "signers": {kid: b64url_encode(raw) for kid, raw in self.signers.items()},
            },
            sort_keys=True,
        )

    @classmethod
    def from_meta(cls, text: str | None) -> _Trust | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            issued_at = datetime.fromisoformat(data["issued_at"])
            if issued_at.tzinfo is None:
                raise ValueError("naive time")
            signers = {str(k): b64url_decode(v) for k, v in dict(data["signers"]).items()}
            return cls(version=str(data["version"]), issued_at=issued_at, signers=signers)
        except (ValueError, TypeError, KeyError, AttributeError, ContractError):
            log.warning("the record of the rule set in force cannot be read; it is ignored")
            return None


class RulesBook:
    """The verified rule set in force and the keys this terminal trusts.

    Trusted: the keys of the lane's config, always, plus the ``signing_keys``
    of the newest verified rule set, and nothing else. A key the ledger no
    longer announces is withdrawn with the rule set that stops announcing it:
    documents and QR tokens signed by it are refused from then on, after a
    restart too (the trust is rebuilt from the cached rule set, verified again
    with the key that signed it). A rule set older than the one in force (by
    ``issued_at``, then version) is refused: a replayed body cannot bring back
    a withdrawn key or undo a hot-list entry.
    """

    def __init__(self, *, store: _RulesStore, config_keys: Mapping[str, bytes]) -> None:
        self._store = store
        self._config_keys = dict(config_keys)
        self._rules: RuleSet | None = None
        self._keys: dict[str, bytes] = dict(config_keys)
        self._signers: dict[str, bytes] = {}
        self._etag: str | None = None
        self._loaded = False

    def trusted_keys(self) -> dict[str, bytes]:
        """The configured keys plus those the rule set in force announces (a new dict)."""
        self.current()
        return dict(self._keys)

    def current(self) -> RuleSet | None:
        """The cached rule set, verified again when first loaded; None if none is trusted."""
        if not self._loaded:
            self._loaded = True
            cached = self._store.load_rules()
            if cached is not None:
                body, signature, etag, _ = cached
                trust = _Trust.from_meta(self._store.get_meta(RULES_TRUST_META))
                # The keys that signed the cached copy; a lane from before this
                # record was kept checks it with the keys it had learnt.
                verifiers = dict(trust.signers) if trust else dict(self._store.learned_keys())
                verifiers.update(self._config_keys)
                try:
                    kid = verify_signature(body, signature, verifiers)
                    rules = self._parse(body)
                    keys = keys_in_force(self._config_keys, rules.signing_keys)
                except DocumentRefused as exc:
                    log.warning("the cached rule set is not trusted: %s", exc)
                except ContractError as exc:
                    log.warning("the cached rule set is not trusted: %s", exc)
                else:
                    self._rules = rules
                    self._keys = keys
                    self._signers = {kid: verifiers[kid]}
                    self._etag = etag
        return self._rules

    @property
    def etag(self) -> str | None:
        self.current()
        return self._etag

    def fetched_at(self) -> datetime | None:
        """When the rule set held was fetched from the ledger (None: none is held)."""
        stored = self._store.load_rules()
        return None if stored is None else stored[3]

    @staticmethod
    def _parse(body: bytes) -> RuleSet:
        try:
            return parse_rule_set(load_json(body))
        except ContractError as exc:
            raise DocumentRefused(
                f"the rule set is malformed: {exc.message}", code="malformed"
            ) from None

    def _refuse_if_older(self, rules: RuleSet) -> None:
        floors: list[tuple[datetime, str]] = []
        if self._rules is not None:
            floors.append((self._rules.issued_at, self._rules.version))
        trust = _Trust.from_meta(self._store.get_meta(RULES_TRUST_META))
        if trust is not None:
            floors.append((trust.issued_at, trust.version))
        for issued_at, version in floors:
            if rule_set_is_older(
                rules.issued_at, rules.version, held_issued_at=issued_at, held_version=version
            ):
                raise DocumentRefused(
                    f"the rule set {rules.version} (issued {rules.issued_at.isoformat()}) is"
                    f" older than the one in force, {version} (issued {issued_at.isoformat()}):"
                    " refused, the rule set in force is kept",
                    code="rollback",
                )

    def accept(
        self, body: bytes, signature: str | None, *, etag: str | None, at: datetime
    ) -> RuleSet:
        """Verify, parse and keep a rule set from the ledger; trust exactly the keys it announces.

        Refused (:class:`DocumentRefused`, nothing changed): a signature by a
        key not trusted now, a malformed body, a rule set older than the one
        in force (``rollback``), a key id announced with other bytes than a
        trusted one (``signing_key_conflict``).
        """
        held = self.trusted_keys()
        kid = verify_signature(body, signature, held)
        rules = self._parse(body)
        self._refuse_if_older(rules)
        try:
            keys = keys_in_force(self._config_keys, rules.signing_keys, held=held)
        except ContractError as exc:
            raise DocumentRefused(exc.message, code=exc.reason) from None
        assert signature is not None
        signer = {kid: held[kid]}
        # Written before the rule set itself: the previous signer stays in the
        # record, so the cached copy can be checked whichever write came last.
        self._store.set_meta(
            RULES_TRUST_META,
            _Trust(
                version=rules.version,
                issued_at=rules.issued_at,
                signers={**self._signers, **signer},
            ).to_meta(),
        )
        learned = self._store.learned_keys()
        new_keys = {k: v for k, v in keys.items() if k not in learned}
        if new_keys:
            self._store.learn_keys(new_keys, at=at)  # the history of announced keys
        self._store.save_rules(
            version=rules.version, body=body, signature=signature, etag=etag, at=at
        )
        withdrawn = sorted(set(held) - set(keys))
        if withdrawn:
            log.info("signing keys no longer trusted: %s", ", ".join(withdrawn))
        self._rules = rules
        self._keys = keys
        self._signers = signer
        self._etag = etag
        self._loaded = True
        return rules


@dataclass(frozen=True, slots=True)
class RulesSync:
    changed: bool
    version: str | None
    valid_until: str | None
    #: The terminal config fetched with the rules (None: the lane fetches none).
    config: ConfigSync | None = None


@dataclass(frozen=True, slots=True)
class CatalogProgress:
    """``phase``: ``download`` (bytes) or ``load`` (products); ``total`` may be unknown."""

    phase: str
    done: int
    total: int | None = None


@dataclass(frozen=True, slots=True)
class CatalogSync:
    """What a catalog fetch did; ``warning``: a large drop of products, taken but to be told."""

    changed: bool
    version: str | None
    full: bool = False
    upserted: int = 0
    deleted: int = 0
    total: int = 0
    warning: CatalogWarning | None = None


#: A signed catalog that drops more than this share of the products held is
#: taken with a warning (more than ``1 - min_keep_fraction`` is refused).
WARN_DROP_FRACTION = 0.2


@dataclass(frozen=True, slots=True)
class CatalogWarning:
    """A signed catalog that dropped ``dropped`` of the ``before`` products held."""

    version: str
    dropped: int
    before: int
    at: datetime

    @property
    def percent(self) -> int:
        return self.dropped * 100 // self.before if self.before else 0

    @property
    def message(self) -> str:
        return (
            f"the catalog {self.version} dropped {self.dropped} of {self.before} products"
            f" ({self.percent} %): it is signed and was taken, but check with the programme"
            " that so many products were meant to go"
        )

    def to_meta(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "dropped": self.dropped,
                "before": self.before,
                "at": self.at.isoformat(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_meta(cls, text: str | None) -> CatalogWarning | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                version=str(data["version"]),
                dropped=int(data["dropped"]),
                before=int(data["before"]),
                at=datetime.fromisoformat(data["at"]),
            )
        except (ValueError, TypeError, KeyError):
            return None


def catalog_drop_warning(
    *, version: str, dropped: int, before: int, at: datetime, fraction: float = WARN_DROP_FRACTION
) -> CatalogWarning | None:
    """A warning when ``dropped`` is more than ``fraction`` of the ``before`` products held."""
    if before <= 0 or dropped <= before * fraction:
        return None
    return CatalogWarning(version=version, dropped=min(dropped, before), before=before, at=at)


def last_catalog_warning(store: _MetaStore) -> CatalogWarning | None:
    """The warning of the last catalog that dropped a large share of the products, if any.

    It stays until a later full catalog is taken without such a drop (for
    ``doctor``: ``last_catalog_warning(store)`` on the open store).
    """
    return CatalogWarning.from_meta(store.get_meta(CATALOG_WARNING_META))


class _MetaStore(Protocol):
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class _CatalogStore(_MetaStore, Protocol):
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
        warn_drop_fraction: float = WARN_DROP_FRACTION,
        spool_dir: Path | None = None,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.clock = clock
        self.rules = rules
        self.min_keep_fraction = min_keep_fraction
        self.warn_drop_fraction = warn_drop_fraction
        self.spool_dir = spool_dir or Path(store.path).parent
        #: Fetched with the rules when set (the lane's terminal config, see ``compose``).
        self.config: Callable[[], Awaitable[ConfigSync]] | None = None

    def catalog_count(self) -> int:
        """How many products the lane's catalog holds (0: none fetched yet)."""
        return self.store.catalog_state()[2]

    async def sync_rules(self) -> RulesSync:
        """Fetch the rule set (``If-None-Match``); a refused one leaves the last good one."""
        current = self.rules.current()
        document = await self.ledger.get_rules(etag=self.rules.etag if current else None)
        if document is None:
            assert current is not None
            config = await self.config() if self.config is not None else None
            return RulesSync(False, current.version, current.valid_until.isoformat(), config)
        rules = self.rules.accept(
            document.body, document.signature, etag=document.etag, at=self.clock.now()
        )
        config = await self.config() if self.config is not None else None
        return RulesSync(True, rules.version, rules.valid_until.isoformat(), config)

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
                self._refuse_if_older(new_version, held=version)

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
        deleted = getattr(result, "deleted", 0)
        warning = catalog_drop_warning(
            version=new_version,
            dropped=deleted,
            before=count,
            at=self.clock.now(),
            fraction=self.warn_drop_fraction,
        )
        if warning is not None:
            log.warning("%s", warning.message)
            self.store.set_meta(CATALOG_WARNING_META, warning.to_meta())
        elif full:
            self.store.set_meta(CATALOG_WARNING_META, "")
        return CatalogSync(
            True,
            new_version,
            full=full,
            upserted=getattr(result, "upserted", 0),
            deleted=deleted,
            total=getattr(result, "total", 0),
            warning=warning,
        )

    def _refuse_if_older(self, version: str, *, held: str | None) -> None:
        """Refuse a catalog older than the one held or the one the rule set in force names."""
        rules = self.rules.current()
        floor = catalog_is_older(
            version, floors=(held, rules.catalog_version if rules is not None else None)
        )
        if floor is not None:
            raise DocumentRefused(
                f"the catalog {version} is older than {floor}, the one in force:"
                " refused, the last good catalog is kept",
                code="rollback",
            )
