"""What the sandbox keeps under DATA, and its first start.

``DATA/`` holds:

- ``ledger.sqlite`` (+ ``-wal``/``-shm``): the books;
- ``signing-key.pem``: the Ed25519 signing key (0600);
- ``catalog/``: the signed catalog bodies, one per version or delta;
- ``sandbox.json`` (0600): the URL, the signing public key, the demo terminals
  with their bearer tokens, the demo merchants' admin tokens with their stores
  (``merchant_admins``) and the demo households with what each holds;
- ``lane-<terminal_id>.toml`` (0600): a ready client configuration per demo
  terminal (the lane config format shared by the client), trusting the
  sandbox's key and keeping its store beside it (a relative path).

The first start makes the books, the key and the demo world; every start
rewrites ``sandbox.json`` and the lane files (the URL may change) and keeps
everything else. The catalog size and seed are fixed by the first start.

Imports the standard library, the pure domain and the sandbox's modules.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pos_client.domain.contract import purse_to_wire
from pos_client.errors import ConfigError

from .books import Books, HouseholdRow, PurseRow, TerminalRow, Tx
from .catalog import Catalog, PricedProduct
from .clock import to_rfc3339
from .demo import TERMINALS, build_households
from .files import make_private_dir, write_private
from .fleet_demo import merchant_admins
from .keys import SigningIdentity
from .wallets import load_purses, visible

DB_FILE = "ledger.sqlite"
INFO_FILE = "sandbox.json"
CATALOG_DIR = "catalog"
DEFAULT_CATALOG_SIZE = 3000
DEFAULT_SEED = 1


@dataclass(frozen=True, slots=True)
class Settings:
    catalog_size: int
    seed: int
    created_at: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def settle_settings(
    tx: Tx, *, catalog_size: int | None, seed: int | None, now: datetime
) -> tuple[Settings, bool]:
    """The DATA's settings (made now on the first start) and whether this is the first start."""
    created = tx.meta("created_at")
    if created is None:
        settings = Settings(
            catalog_size=DEFAULT_CATALOG_SIZE if catalog_size is None else catalog_size,
            seed=DEFAULT_SEED if seed is None else seed,
            created_at=to_rfc3339(now),
        )
        tx.set_meta("schema_version", "1")
        tx.set_meta("created_at", settings.created_at)
        tx.set_meta("catalog_size", str(settings.catalog_size))
        tx.set_meta("seed", str(settings.seed))
        return settings, True
    settings = Settings(
        catalog_size=int(tx.meta("catalog_size") or DEFAULT_CATALOG_SIZE),
        seed=int(tx.meta("seed") or DEFAULT_SEED),
        created_at=created,
    )
    if catalog_size is not None and catalog_size != settings.catalog_size:
        raise ConfigError(
            f"this DATA directory was made with a catalog of {settings.catalog_size} products;"
            " leave --catalog-size out or use another directory",
            key="catalog_size",
        )
    if seed is not None and seed != settings.seed:
        raise ConfigError(
            f"this DATA directory was made with seed {settings.seed};"
            " leave --seed out or use another directory",
            key="seed",
        )
    return settings, False


def create_demo_world(tx: Tx, *, settings: Settings, now: datetime) -> None:
    """Terminals (with fresh bearer tokens) and households with their purses."""
    tokens: dict[str, str] = {}
    for terminal in TERMINALS:
        token = "tok_" + secrets.token_urlsafe(24)
        tokens[terminal.terminal_id] = token
        tx.add_terminal(
            TerminalRow(
                terminal.terminal_id, terminal.city, terminal.merchant_id, terminal.shop_name
            ),
            token_sha256=token_hash(token),
        )
    # The books keep terminal tokens as hashes; the plain tokens are kept for
    # writing sandbox.json and the lane files again on the next start.
    tx.set_meta("terminal_tokens", json.dumps(tokens))
    for household in build_households(settings.seed, now):
        tx.add_household(
            HouseholdRow(
                ref=household.ref,
                national_id=household.national_id,
                key=household.key,
                display_name=household.display_name,
                household_size=household.household_size,
                city=household.city,
                blocked=household.blocked,
                offline_allowance_rial=household.offline_allowance_rial,
            )
        )
        tx.set_meta(f"household_description:{household.key}", household.description)
        for order, demo_purse in enumerate(household.purses):
            tx.add_purse(
                PurseRow(
                    id=demo_purse.purse.id,
                    household_ref=household.ref,
                    ord=order,
                    doc=purse_to_wire(demo_purse.purse),
                    carry_over_to=demo_purse.carry_over_to,
                    carried_over=False,
                )
            )


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def lane_config(*, terminal: TerminalRow, token: str, url: str, signer: SigningIdentity) -> str:
    """The lane configuration (TOML) for one demo terminal, ready to use."""
    tid = terminal.id
    return "\n".join(
        [
            "# Made by `pos-client sandbox` for a demo terminal; rewritten on every sandbox start.",
            "[terminal]",
            f"id = {_toml_string(tid)}",
            f"city = {_toml_string(terminal.city)}",
            f"shop_name = {_toml_string(terminal.shop_name)}",
            "",
            "[ledger]",
            f"url = {_toml_string(url)}",
            f"token = {_toml_string(token)}",
            "connect_timeout_ms = 3000",
            "read_timeout_ms = 10000",
            "[ledger.trusted_keys]",
            f"{_toml_string(signer.kid)} = {_toml_string(signer.public_key_b64)}",
            "",
            "[store]",
            f"path = {_toml_string(f'lane-{tid}.sqlite')}",
            "",
            "[offline]",
            "enabled = true",
            "max_rial_per_transaction = 5000000",
            "max_rial_per_beneficiary_per_day = 5000000",
            "max_outstanding_rial = 50000000",
            "max_hours_since_contact = 24",
            "",
            "[ui]",
            'language = "fa"',
            'currency = "toman"',
            'rtl = "app"',
            "",
            "[devices]",
            f"scanners = [{_toml_string(f'virtual://lane-{tid}')}]",
            'printer = "dummy://"',
            'scale = ""',
            "",
        ]
    )


def _product_wire(priced: PricedProduct) -> dict[str, Any]:
    p = priced.product
    return {
        "gtin": p.gtin,
        "name_fa": p.name_fa,
        "name_en": p.name_en,
        "category": p.category,
        "unit": p.unit.value,
        "groups": list(p.groups),
        "max_unit_price_rial": p.max_unit_price_rial,
        "price_rial": priced.price_rial,
    }


def info_document(
    tx: Tx,
    *,
    data_dir: Path,
    url: str,
    signer: SigningIdentity,
    settings: Settings,
    catalog: Catalog,
    now: datetime,
) -> dict[str, Any]:
    """The content of ``sandbox.json``."""
    tokens: Mapping[str, str] = json.loads(tx.meta("terminal_tokens") or "{}")
    terminals = []
    for terminal_id, token in tokens.items():
        row = tx.terminal_by_token(token_hash(token))
        if row is None:
            continue
        terminals.append(
            {
                "terminal_id": row.id,
                "token": token,
                "city": row.city,
                "merchant_id": row.merchant_id,
                "shop_name": row.shop_name,
                "config": str(data_dir / f"lane-{terminal_id}.toml"),
            }
        )
    households = []
    for h in tx.households():
        households.append(
            {
                "key": h.key,
                "description": tx.meta(f"household_description:{h.key}") or "",
                "national_id": h.national_id,
                "ref": h.ref,
                "display_name": h.display_name,
                "household_size": h.household_size,
                "city": h.city,
                "blocked": h.blocked,
                "offline_allowance_rial": h.offline_allowance_rial,
                "purses": [purse_to_wire(p) for p in visible(load_purses(tx, h.ref, now=now))],
            }
        )
    return {
        "url": url,
        "data_dir": str(data_dir),
        "books": str(data_dir / DB_FILE),
        "created_at": settings.created_at,
        "signing_key": signer.wire(),
        "catalog": {
            "size": settings.catalog_size,
            "seed": settings.seed,
            "version": catalog.current(tx)[1],
        },
        "terminals": terminals,
        "merchant_admins": merchant_admins(tx),
        "households": households,
        "sample_products": [_product_wire(p) for p in catalog.samples(tx)],
    }


def write_files(
    data_dir: Path,
    *,
    info: dict[str, Any],
    terminals: Sequence[tuple[TerminalRow, str]],
    signer: SigningIdentity,
) -> None:
    """Write ``sandbox.json`` and one lane file per demo terminal (all 0600)."""
    make_private_dir(data_dir)
    text = json.dumps(info, ensure_ascii=False, indent=2) + "\n"
    write_private(data_dir / INFO_FILE, text.encode("utf-8"))
    for terminal, token in terminals:
        config = lane_config(terminal=terminal, token=token, url=info["url"], signer=signer)
        write_private(data_dir / f"lane-{terminal.id}.toml", config.encode("utf-8"))


def terminals_with_tokens(tx: Tx) -> list[tuple[TerminalRow, str]]:
    tokens: Mapping[str, str] = json.loads(tx.meta("terminal_tokens") or "{}")
    result = []
    for token in tokens.values():
        row = tx.terminal_by_token(token_hash(token))
        if row is not None:
            result.append((row, token))
    return result


def open_books(data_dir: Path) -> Books:
    """The books of ``data_dir`` (the file made 0600 before SQLite opens it)."""
    make_private_dir(data_dir)
    path = data_dir / DB_FILE
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return Books(path)
