"""Health, the signed rule set and the signed NDJSON catalog with deltas."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from pos_client.domain.contract import parse_catalog, parse_rule_set
from pos_client.domain.errors import ContractError
from pos_client.domain.signing import b64url_decode, verify_document
from pos_client.sandbox.products import gtin_check_digit
from pos_client.sandbox.server import RunningSandbox


def _keys(sb: RunningSandbox) -> dict[str, bytes]:
    key = sb.info["signing_key"]
    return {key["kid"]: b64url_decode(key["public_key"])}


def test_health_needs_no_token(sandbox: RunningSandbox) -> None:
    response = httpx.get(sandbox.url + "v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["time"].endswith("+03:30")


AUTH_PATHS = ["/v1/rules", "/v1/catalog", "/v1/settlements/2026-11-23", "/v1/redemptions/x"]
BAD_AUTHORIZATION = [
    None,
    "Bearer",
    "Bearer tok_wrong",
    "Basic dXNlcjpwYXNz",
    "tok_x",
    "Bearer  tok_x",
]


def test_documents_need_a_terminal_token(sandbox: RunningSandbox) -> None:
    for path in AUTH_PATHS:
        for authorization in BAD_AUTHORIZATION:
            headers = {} if authorization is None else {"Authorization": authorization}
            response = httpx.get(sandbox.url + path.lstrip("/"), headers=headers)
            assert response.status_code == 401, (path, authorization)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["code"] == "unauthorized"


def test_rules_are_signed_and_cached_by_etag(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        response = client.get("/v1/rules")
        assert response.status_code == 200
        kid = verify_document(
            response.content, response.headers["x-signature"], trusted_keys=_keys(sandbox)
        )
        rules = parse_rule_set(response.json())
        assert kid == sandbox.info["signing_key"]["kid"]
        assert [k.kid for k in rules.signing_keys] == [kid]
        assert rules.valid_until - rules.issued_at == timedelta(days=2)
        assert response.headers["etag"] == f'"{rules.version}"'
        cached = client.get("/v1/rules", headers={"If-None-Match": response.headers["etag"]})
        assert cached.status_code == 304 and cached.content == b""
        other = client.get("/v1/rules", headers={"If-None-Match": '"r-old"'})
        assert other.status_code == 200 and other.content == response.content
        with pytest.raises(ContractError):
            verify_document(
                response.content + b" ",
                response.headers["x-signature"],
                trusted_keys=_keys(sandbox),
            )


def test_rules_are_renewed_when_a_day_has_passed(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        first = parse_rule_set(client.get("/v1/rules").json())
        sandbox.advance_clock(25 * 3600)
        second = parse_rule_set(client.get("/v1/rules").json())
    assert second.version != first.version
    assert second.issued_at > first.issued_at


def _catalog(client: httpx.Client, **params: str) -> httpx.Response:
    response = client.get("/v1/catalog", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return response


def test_the_full_catalog_is_signed_ndjson_of_valid_gtins(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        rules = client.get("/v1/rules").json()
        response = _catalog(client)
    verify_document(response.content, response.headers["x-signature"], trusted_keys=_keys(sandbox))
    document = parse_catalog(response.content)
    assert document.full is True
    assert document.version == rules["catalog"]["version"]
    header = json.loads(response.content.split(b"\n", 1)[0])
    assert header == {"version": document.version, "full": True}
    products = document.products
    assert 2900 <= len(products) <= 3100
    for p in products:
        assert len(p.gtin) == 13 and p.gtin.startswith("626")
        assert gtin_check_digit(p.gtin[:12]) == int(p.gtin[12])
        assert not p.deleted
        assert any("\u0600" <= ch <= "\u06ff" for ch in p.name_fa)
        assert p.max_unit_price_rial is not None and p.max_unit_price_rial > 0
    categories = {c["id"] for c in rules["categories"]}
    assert {p.category for p in products} <= categories
    assert products[0].gtin == "6260000000019"  # the contract's example rice


def test_catalog_deltas_and_etags(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        full = _catalog(client)
        version = parse_catalog(full.content).version
        assert version == "c-000002"
        delta = _catalog(client, since="c-000001")
        verify_document(delta.content, delta.headers["x-signature"], trusted_keys=_keys(sandbox))
        changes = parse_catalog(delta.content)
        assert changes.full is False and changes.version == version
        assert any(p.deleted for p in changes.products)
        assert any(not p.deleted for p in changes.products)
        full_gtins = {p.gtin for p in parse_catalog(full.content).products}
        for p in changes.products:
            assert (p.gtin in full_gtins) != p.deleted
        # Nothing new since the current version: a delta of no products.
        empty = parse_catalog(_catalog(client, since=version).content)
        assert empty.full is False and empty.products == ()
        # A version the ledger cannot give a delta from: the full list.
        unknown = _catalog(client, since="c-999999")
        assert unknown.content == full.content
        cached = client.get("/v1/catalog", headers={"If-None-Match": full.headers["etag"]})
        assert cached.status_code == 304
        cached_delta = client.get(
            "/v1/catalog",
            params={"since": "c-000001"},
            headers={"If-None-Match": delta.headers["etag"]},
        )
        assert cached_delta.status_code == 304
        assert client.get("/v1/catalog", params={"sinse": "x"}).json()["code"] == "invalid_request"

        # A new catalog version: the rules announce it, the delta carries the change.
        new_version = sandbox.revise_catalog(changes=4)
        assert client.get("/v1/rules").json()["catalog"]["version"] == new_version
        step = parse_catalog(_catalog(client, since=version).content)
        assert step.version == new_version and 1 <= len(step.products) <= 4
        assert parse_catalog(_catalog(client).content).version == new_version


def test_a_large_catalog_is_streamed_from_disk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pos_client.sandbox.server import start_sandbox

    with start_sandbox(tmp_path / "big", catalog_size=40_000) as sb, sb.client() as client:
        lines = 0
        with client.stream("GET", "/v1/catalog") as response:
            assert response.status_code == 200
            for _ in response.iter_lines():
                lines += 1
        assert lines >= 40_000
        assert (sb.data_dir / "catalog" / "c-000002.ndjson").stat().st_size > 5_000_000
