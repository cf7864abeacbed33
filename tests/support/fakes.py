"""The tests' one set of fakes: clocks, ledgers and rule books for unit tests of the core.

Tests of what the user meets run against the real parts (the sandbox ledger on
loopback, a real SQLite file, the Textual app under Pilot); these stand in only
where a unit test of a service needs a port it does not exercise.
"""

from __future__ import annotations

import asyncio
import mmap
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pos_client.domain.models import RuleSet, Wallet
from pos_client.domain.redemption import BatchItemResult, Identity
from pos_client.domain.signing import b64url_encode
from pos_client.ports import CatalogDownload, SignedDocument, SystemClock

# --------------------------------------------------------------------------- clocks


class QuickClock(SystemClock):
    """The real clock whose pauses are cut short (backoff is tested by its arithmetic)."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(min(max(seconds, 0.0), 0.01))


class ShiftedClock(QuickClock):
    """The real clock moved by ``offset`` (a test's injected clock)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        super().__init__()
        self.offset = offset

    def now(self) -> datetime:
        return super().now() + self.offset


class StoppedClock:
    """A clock standing at ``at``."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        return None


# --------------------------------------------------------------------------- rule books


class FixedRules:
    """A rule book holding one rule set and trusting no signing key."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules

    def current(self) -> RuleSet:
        return self.rules

    def trusted_keys(self) -> Mapping[str, bytes]:
        return {}


# --------------------------------------------------------------------------- ledgers


class WalletLedger:
    """A ledger that answers every wallet inquiry with ``wallet`` (and nothing else)."""

    def __init__(self, wallet: Wallet) -> None:
        self.wallet = wallet

    async def inquire_wallet(self, identity: Identity) -> Wallet:
        return self.wallet


class BatchLedger:
    """A ledger answering each batch item from ``answers`` by its redemption id."""

    def __init__(self, answers: dict[str, BatchItemResult]) -> None:
        self.answers = answers
        self.batches = 0

    async def submit_batch(self, items: Sequence[tuple[str, bytes]]) -> list[BatchItemResult]:
        self.batches += 1
        return [self.answers[rid] for rid, _ in items]


class DocumentLedger:
    """Serves signed documents made here (a unit-level fake of the ledger's documents)."""

    def __init__(self, key: Ed25519PrivateKey, kid: str) -> None:
        self.key, self.kid = key, kid
        self.rules: SignedDocument | None = None
        self.catalog_file: Path | None = None
        self.catalog_signature: str | None = None

    async def get_rules(self, *, etag: str | None = None) -> SignedDocument | None:
        return self.rules

    def set_catalog(
        self, path: Path, *, key: Ed25519PrivateKey | None = None, kid: str = ""
    ) -> None:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
            signature = (key or self.key).sign(m)  # type: ignore[arg-type]
        self.catalog_file = path
        self.catalog_signature = f"kid={kid or self.kid};sig={b64url_encode(signature)}"

    async def download_catalog(
        self,
        sink: BinaryIO,
        *,
        since: str | None = None,
        etag: str | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> CatalogDownload | None:
        assert self.catalog_file is not None
        size = 0
        with self.catalog_file.open("rb") as source:
            while chunk := source.read(1 << 20):
                sink.write(chunk)
                size += len(chunk)
                if progress:
                    progress(size, None)
        return CatalogDownload(size=size, signature=self.catalog_signature, etag=None)
