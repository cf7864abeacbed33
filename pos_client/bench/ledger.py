"""A sandbox ledger for the benchmark: its own process on loopback, and what the figures need.

:func:`ledger_process` starts :mod:`pos_client.bench.ledger_child` (the
sandbox in a separate interpreter, as a real ledger is a separate machine)
and yields a :class:`LedgerProcess`: its URL, its ``sandbox.json``, the lane
configs it wrote, and helpers that make the redemptions the figures send:
KB1 tokens signed with the sandbox's own key (read from its DATA folder, as
``pos-client sandbox token`` does) and redemption bodies for the demo
household kept for load tests (``large``).

Imports the standard library, httpx, the domain, the services' id and date
helpers and the sandbox's key loader.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from pos_client.domain.models import Allocation, BasketLine
from pos_client.domain.redemption import Identity, RedemptionDraft, redemption_body
from pos_client.domain.tokens import TokenClaims, sign_token
from pos_client.sandbox.keys import SigningIdentity, load_or_create
from pos_client.services.redemptions import new_redemption_id

__all__ = ["LedgerProcess", "Sale", "ledger_process"]

#: The demo household with credit enough for any load (see pos_client.sandbox.demo).
LOAD_HOUSEHOLD = "large"
START_TIMEOUT = 180.0
#: What each load sale takes from the household's credit (the rest it pays itself), so
#: that tens of thousands of sales fit in its balance.
COVER_PER_SALE = 100_000
#: What each offline load sale takes: the ledger holds one terminal to the programme's
#: offline limit per household and day (5,000,000 Rials), and a full run forwards
#: 11,000 offline sales of the load household from one terminal in one day.
COVER_PER_OFFLINE_SALE = 400


@dataclass(frozen=True, slots=True)
class Sale:
    """A redemption ready to send: its id, its exact body, what it covers."""

    id: str
    body: bytes
    covered_rial: int
    token_jti: str


@dataclass
class LedgerProcess:
    """A running sandbox ledger in a child process."""

    url: str
    data_dir: Path
    info: dict[str, Any]
    signer: SigningIdentity
    process: subprocess.Popen[bytes] = field(repr=False)
    _rules_version: str | None = field(default=None, repr=False)

    def config_path(self, terminal_id: str = "T-0001") -> Path:
        return self.data_dir / f"lane-{terminal_id}.toml"

    def terminal_token(self, terminal_id: str = "T-0001") -> str:
        for terminal in self.info["terminals"]:
            if terminal["terminal_id"] == terminal_id:
                return str(terminal["token"])
        raise KeyError(terminal_id)

    def household(self, key: str = LOAD_HOUSEHOLD) -> dict[str, Any]:
        for household in self.info["households"]:
            if household["key"] == key:
                return dict(household)
        raise KeyError(key)

    def client(self, terminal_id: str = "T-0001") -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.terminal_token(terminal_id)}"},
            timeout=60.0,
        )

    def write_lane_config(
        self,
        path: Path,
        *,
        store_path: Path,
        scanners: tuple[str, ...] = (),
        terminal_id: str = "T-0001",
    ) -> Path:
        """A lane config for a demo terminal with its store at ``store_path`` (mode 0600)."""
        text = self.config_path(terminal_id).read_text(encoding="utf-8")
        text = re.sub(r'(?m)^path = ".*"$', lambda _: f"path = {json.dumps(str(store_path))}", text)
        text = re.sub(
            r"(?m)^scanners = \[.*\]$",
            lambda _: f"scanners = {json.dumps(list(scanners))}",
            text,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def rules_version(self) -> str:
        if self._rules_version is None:
            with self.client() as client:
                response = client.get("/v1/rules")
                response.raise_for_status()
                self._rules_version = str(response.json()["version"])
        return self._rules_version

    def mint_token(self, national_id: str, *, offline_allowance_rial: int = 0) -> TokenClaims:
        """Claims for a fresh single-use token (sign them with :meth:`sign`)."""
        now = datetime.now(UTC).replace(microsecond=0)
        return TokenClaims(
            v=1,
            kid=self.signer.kid,
            national_id=national_id,
            jti=str(uuid.uuid4()),
            issued_at=now,
            expires_at=now + timedelta(hours=24),
            offline_allowance_rial=offline_allowance_rial,
        )

    def token(self, key: str = LOAD_HOUSEHOLD) -> str:
        """A fresh signed KB1 token for a demo household."""
        household = self.household(key)
        claims = self.mint_token(
            household["national_id"],
            offline_allowance_rial=int(household["offline_allowance_rial"]),
        )
        return sign_token(claims, private_key=self.signer.private_key)

    def load_product(self) -> dict[str, Any]:
        """A sample product sold by the piece that the load household's credit covers."""
        purse = self._load_purse()
        wanted = set(purse["categories"])
        for product in self.info["sample_products"]:
            if product["unit"] != "piece" or product["groups"]:
                continue
            if product["category"] in wanted or _parent(product["category"]) in wanted:
                return dict(product)
        raise LookupError("no sample product the load household can buy")

    def _load_purse(self) -> dict[str, Any]:
        for purse in self.household()["purses"]:
            if purse["program"] == "kalabarg" and purse["kind"] == "amount":
                return dict(purse)
        raise LookupError("the load household has no amount purse")

    def sales(self, count: int, *, mode: str, terminal_id: str = "T-0001") -> list[Sale]:
        """``count`` redemptions by the load household, each with its own token."""
        household = self.household()
        purse = self._load_purse()
        product = self.load_product()
        rules = self.rules_version()
        price = int(product["price_rial"])
        covered = min(price, COVER_PER_OFFLINE_SALE if mode == "offline" else COVER_PER_SALE)
        line = BasketLine(
            gtin=product["gtin"],
            quantity_milli=1000,
            unit_price_rial=price,
            category=product["category"],
        )
        out = []
        for _ in range(count):
            claims = self.mint_token(
                household["national_id"],
                offline_allowance_rial=int(household["offline_allowance_rial"]),
            )
            token = sign_token(claims, private_key=self.signer.private_key)
            now = datetime.now(UTC)
            redemption_id = new_redemption_id(now)
            body = redemption_body(
                RedemptionDraft(
                    id=redemption_id,
                    terminal_id=terminal_id,
                    created_at=now,
                    mode=mode,
                    identity=Identity.token(token),
                    rules_version=rules,
                    lines=(line,),
                    allocations=(Allocation(0, purse["id"], covered),),
                )
            )
            out.append(
                Sale(id=redemption_id, body=body, covered_rial=covered, token_jti=claims.jti)
            )
        return out


def _parent(category: str) -> str | None:
    from pos_client.sandbox.demo import CATEGORIES

    for c in CATEGORIES:
        if c.id == category:
            return c.parent
    return None


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        if not selector.select(timeout):
            raise RuntimeError("the sandbox ledger did not start in time")
        return process.stdout.readline()
    finally:
        selector.close()


@contextmanager
def ledger_process(
    data_dir: Path, *, catalog_size: int, terminals: int = 0
) -> Iterator[LedgerProcess]:
    """Run a sandbox ledger with ``catalog_size`` products in a child process
    (and ``terminals`` more terminals than the demo's, ``T-1001`` on)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / "ledger.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
            [
                sys.executable,
                "-m",
                "pos_client.bench.ledger_child",
                str(data_dir),
                str(catalog_size),
                str(terminals),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            line = _read_line(process, START_TIMEOUT)
            if not line:
                raise RuntimeError(
                    "the sandbox ledger stopped while starting: "
                    + log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                )
            url = json.loads(line)["url"]
            info = json.loads((data_dir / "sandbox.json").read_text(encoding="utf-8"))
            yield LedgerProcess(
                url=url,
                data_dir=data_dir,
                info=info,
                signer=load_or_create(data_dir),
                process=process,
            )
        finally:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
