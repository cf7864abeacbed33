"""Rules and catalog refresh: signatures checked before trust, deltas, refusals, big catalogs."""

from __future__ import annotations

import json
import os
import sqlite3
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pos_client.adapters.store import SqliteStore
from pos_client.domain.contract import dump_json, rule_set_to_wire
from pos_client.domain.models import RuleSet, SigningKey
from pos_client.domain.signing import public_key_bytes, sign_document
from pos_client.ports import SignedDocument, SystemClock
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.refresh import DocumentRefused, RefreshService, RulesBook
from tests.support.fakes import DocumentLedger
from tests.support.lane import RICE_10KG, lane, lane_config


class Tamper(httpx.AsyncBaseTransport):
    """A man in the middle: real HTTP to the sandbox, one byte changed in chosen answers."""

    def __init__(self, path: str) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.path = path
        self.active = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not self.active or request.url.path != self.path:
            return response
        body = await response.aread()
        changed = (
            body.replace(b"rasht", b"rashT", 1)
            if b"rasht" in body
            else body.replace(b'"version":"', b'"version":"x', 1)
        )
        assert changed != body
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=changed)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_tampered_rules_are_refused_and_the_last_good_ones_kept(
    sandbox: RunningSandbox,
) -> None:
    tamper = Tamper("/v1/rules")
    async with lane(sandbox, transport=tamper) as app:
        good = app.rules.current()
        assert good is not None
        tamper.active = True
        app.rules._etag = None  # ask again for the whole document
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_rules()
        assert caught.value.code == "signature_invalid"
        assert app.rules.current() == good
        path = app.store.path
    # The cached copy is verified again when loaded: tampered on disk, it is not trusted.
    conn = sqlite3.connect(path)
    body = conn.execute("SELECT body FROM rules").fetchone()[0]
    conn.execute(
        "UPDATE rules SET body = ?", (bytes(body).replace(b'"version":"', b'"version":"y', 1),)
    )
    conn.commit()
    conn.close()
    async with lane(sandbox, sync=False) as app:
        assert app.rules.current() is None


async def test_rules_signed_by_an_unknown_key_are_refused(sandbox: RunningSandbox) -> None:
    from dataclasses import replace

    config = lane_config(sandbox)
    stranger = public_key_bytes(Ed25519PrivateKey.generate())
    config = replace(config, ledger=replace(config.ledger, trusted_keys={"other": stranger}))
    async with lane(sandbox, config=config, sync=False) as app:
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_rules()
        assert caught.value.code == "signature_unknown_key"
        assert app.rules.current() is None


async def test_the_rules_book_tells_when_the_rules_it_holds_were_fetched(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox, sync=False) as app:
        assert app.rules.fetched_at() is None
        before = app.clock.now()
        await app.refresh.sync_rules()
        fetched = app.rules.fetched_at()
        assert fetched is not None and before <= fetched <= app.clock.now()


async def test_an_unchanged_rule_set_is_not_fetched_again(sandbox: RunningSandbox) -> None:
    async with lane(sandbox) as app:
        again = await app.refresh.sync_rules()
        assert not again.changed and again.version == app.rules.current().version  # type: ignore[union-attr]


async def test_a_catalog_delta_and_a_tampered_catalog(sandbox: RunningSandbox) -> None:
    tamper = Tamper("/v1/catalog")
    async with lane(sandbox, transport=tamper) as app:
        version, _, count = app.store.catalog_state()
        assert count == sandbox.info["catalog"]["size"]
        new_version = sandbox.revise_catalog(changes=6)
        delta = await app.refresh.sync_catalog()
        assert delta.changed and not delta.full and delta.version == new_version
        assert delta.upserted + delta.deleted == 6
        sandbox.revise_catalog(changes=6)
        tamper.active = True
        with pytest.raises(DocumentRefused) as caught:
            await app.refresh.sync_catalog()
        assert caught.value.code == "signature_invalid"
        assert app.store.catalog_state()[0] == new_version  # the last good one
        assert app.store.product(RICE_10KG) is not None
        assert not list(app.store.path.parent.glob(".catalog-*"))  # no spool left behind
        assert version != new_version


# --------------------------------------------------------------------------- with a fake ledger


NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def write_catalog(path: Path, version: str, count: int) -> Path:
    with path.open("wb") as out:
        out.write(dump_json({"version": version, "full": True}) + b"\n")
        for i in range(count):
            product = {
                "gtin": f"{6260000000000 + i:013d}",
                "name_fa": f"کالای آزمایشی شماره {i}",
                "category": "rice",
                "unit": "piece",
                "groups": [],
                "max_unit_price_rial": 1_000_000,
                "deleted": False,
            }
            out.write(dump_json(product) + b"\n")
    return path


def signed_rules(key: Ed25519PrivateKey, kid: str, announce: list[SigningKey]) -> SignedDocument:
    rules = RuleSet(
        version="r-1",
        issued_at=NOW,
        valid_until=NOW + timedelta(days=2),
        signing_keys=tuple(announce),
        categories=(),
        programs=(),
        catalog_version="c-1",
        hot_list=frozenset(),
    )
    body = dump_json(rule_set_to_wire(rules))
    return SignedDocument(
        body=body, signature=sign_document(body, kid=kid, private_key=key), etag=None
    )


def service(
    tmp_path: Path, fake: DocumentLedger, keys: dict[str, bytes]
) -> tuple[RefreshService, SqliteStore]:
    store = SqliteStore.open(tmp_path / "lane.sqlite")
    book = RulesBook(store=store, config_keys=keys)
    return (
        RefreshService(ledger=fake, store=store, clock=SystemClock(), rules=book),  # type: ignore[arg-type]
        store,
    )


async def test_a_full_catalog_dropping_more_than_half_is_refused(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    fake = DocumentLedger(key, "k1")
    refresh, store = service(tmp_path, fake, {"k1": public_key_bytes(key)})
    try:
        fake.set_catalog(write_catalog(tmp_path / "c1.ndjson", "c-1", 1000))
        assert (await refresh.sync_catalog()).total == 1000
        fake.set_catalog(write_catalog(tmp_path / "c2.ndjson", "c-2", 499))
        with pytest.raises(DocumentRefused) as caught:
            await refresh.sync_catalog()
        assert caught.value.code == "catalog_refused"
        assert store.catalog_state() == ("c-1", None, 1000)
        fake.set_catalog(write_catalog(tmp_path / "c3.ndjson", "c-3", 500))
        assert (await refresh.sync_catalog()).total == 500  # exactly half is kept: fine
    finally:
        store.close()


async def test_keys_announced_by_verified_rules_are_trusted_afterwards(tmp_path: Path) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    fake = DocumentLedger(old, "k1")
    refresh, store = service(tmp_path, fake, {"k1": public_key_bytes(old)})
    try:
        fake.set_catalog(write_catalog(tmp_path / "c.ndjson", "c-1", 10), key=new, kid="k2")
        with pytest.raises(DocumentRefused):
            await refresh.sync_catalog()  # k2 is not trusted yet
        announce = [SigningKey("k2", "Ed25519", public_key_bytes(new))]
        fake.rules = signed_rules(old, "k1", announce)
        await refresh.sync_rules()
        assert "k2" in refresh.rules.trusted_keys()
        assert (await refresh.sync_catalog()).total == 10
        # A rule set may never replace a key the terminal holds.
        fake.rules = signed_rules(old, "k1", [SigningKey("k1", "Ed25519", public_key_bytes(new))])
        with pytest.raises(DocumentRefused) as caught:
            await refresh.sync_rules()
        assert caught.value.code == "signing_key_conflict"
    finally:
        store.close()


async def test_a_big_catalog_streams_without_being_held_in_memory(tmp_path: Path) -> None:
    count = 50_000
    key = Ed25519PrivateKey.generate()
    fake = DocumentLedger(key, "k1")
    fake.set_catalog(write_catalog(tmp_path / "big.ndjson", "c-big", count))
    size = os.path.getsize(tmp_path / "big.ndjson")
    refresh, store = service(tmp_path, fake, {"k1": public_key_bytes(key)})
    phases: set[str] = set()
    try:
        tracemalloc.start()
        result = await refresh.sync_catalog(lambda p: phases.add(p.phase))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result.total == count and phases == {"download", "load"}
        assert peak < size / 3, (peak, size)  # a bounded batch, not the document
    finally:
        store.close()


def test_the_fake_catalog_is_what_the_contract_says(tmp_path: Path) -> None:
    from pos_client.domain.contract import parse_catalog

    document = parse_catalog(write_catalog(tmp_path / "c.ndjson", "c-1", 3).read_bytes())
    assert document.full and len(document.products) == 3
    assert json.loads((tmp_path / "c.ndjson").read_text().splitlines()[0]) == {
        "version": "c-1",
        "full": True,
    }
