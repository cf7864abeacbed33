"""Bad input gets a problem document with a clear code: never a 500, never a changed balance."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pos_client.sandbox.server import RunningSandbox, start_sandbox
from tests.sandbox.support import new_id, purses, simple_spend, today

JSON_HEADERS = {"Content-Type": "application/json"}


def _cases(
    sb: RunningSandbox, client: httpx.Client
) -> list[tuple[str, str, dict[str, str], bytes, int, str]]:
    """(method, path, headers, body, status, code) for one good redemption body's variants."""
    good = simple_spend(sb, client, amount=100_000)
    rid = good["id"]
    key = {"Idempotency-Key": rid, **JSON_HEADERS}
    nid = sb.household("kalabarg")["national_id"]

    def variant(**changes: Any) -> bytes:
        return json.dumps({**good, **changes}).encode()

    def line_variant(**changes: Any) -> bytes:
        return variant(lines=[{**good["lines"][0], **changes}])

    def alloc_variant(**changes: Any) -> bytes:
        return variant(allocations=[{**good["allocations"][0], **changes}])

    r = "/v1/redemptions"
    w = "/v1/wallet-inquiries"
    return [
        ("POST", r, key, b"{", 400, "invalid_request"),
        ("POST", r, key, b"", 400, "invalid_request"),
        ("POST", r, key, b"[]", 400, "invalid_request"),
        ("POST", r, key, b"null", 400, "invalid_request"),
        ("POST", r, key, b"\xff\xfe{}", 400, "invalid_request"),
        ("POST", r, key, b'{"id": NaN}', 400, "invalid_request"),
        ("POST", r, key, b'{"id": "a", "id": "b"}', 400, "invalid_request"),
        ("POST", r, key, b"[" * 100_000 + b"]" * 100_000, 400, "invalid_request"),
        ("POST", r, key, b'{"id": "\\ud800"}', 400, "invalid_request"),
        ("POST", r, key, variant(extra=1), 400, "invalid_request"),
        ("POST", r, key, variant(id=rid.upper()), 400, "invalid_request"),
        ("POST", r, key, variant(id=12), 400, "invalid_request"),
        ("POST", r, key, variant(mode="later"), 400, "invalid_request"),
        ("POST", r, key, variant(created_at="2026-11-23 10:00"), 400, "invalid_request"),
        ("POST", r, key, variant(created_at="2026-11-23T10:00:00"), 400, "invalid_request"),
        ("POST", r, key, variant(lines=[]), 400, "invalid_request"),
        ("POST", r, key, variant(allocations=[]), 400, "invalid_request"),
        ("POST", r, key, variant(lines="rice"), 400, "invalid_request"),
        ("POST", r, key, variant(beneficiary={}), 400, "invalid_request"),
        (
            "POST",
            r,
            key,
            variant(beneficiary={"national_id": nid, "token": "x"}),
            400,
            "invalid_request",
        ),
        ("POST", r, key, variant(beneficiary={"national_id": 1234567890}), 400, "invalid_request"),
        ("POST", r, key, variant(beneficiary={"nid": nid}), 400, "invalid_request"),
        ("POST", r, key, variant(otp={"challenge_id": "x"}), 400, "invalid_request"),
        ("POST", r, key, line_variant(quantity_milli=1000.0), 400, "invalid_request"),
        ("POST", r, key, line_variant(quantity_milli=True), 400, "invalid_request"),
        ("POST", r, key, line_variant(quantity_milli="1000"), 400, "invalid_request"),
        ("POST", r, key, line_variant(quantity_milli=0), 400, "invalid_request"),
        (
            "POST",
            r,
            key,
            line_variant(quantity_milli=1500, amount_rial=21_750_000),
            400,
            "invalid_request",
        ),
        ("POST", r, key, line_variant(quantity_milli=-1000), 400, "invalid_request"),
        ("POST", r, key, line_variant(unit_price_rial=10**30), 400, "invalid_request"),
        ("POST", r, key, line_variant(gtin="626000000001"), 400, "invalid_request"),
        ("POST", r, key, line_variant(gtin="6260000000018"), 400, "invalid_request"),
        ("POST", r, key, line_variant(gtin="62600000000190"), 400, "invalid_request"),
        ("POST", r, key, line_variant(gtin="۶۲۶۰۰۰۰۰۰۰۰۱۹"), 400, "invalid_request"),
        ("POST", r, key, line_variant(quantity_mili=1000), 400, "invalid_request"),
        ("POST", r, key, line_variant(amount_rial=1), 400, "invalid_request"),
        ("POST", r, key, alloc_variant(line=5), 400, "invalid_request"),
        ("POST", r, key, alloc_variant(amount_rial=-1), 400, "invalid_request"),
        ("POST", r, key, alloc_variant(amount_rial=0), 400, "invalid_request"),
        ("POST", r, key, alloc_variant(purse_id=""), 400, "invalid_request"),
        ("POST", r, key, alloc_variant(note="x"), 400, "invalid_request"),
        ("POST", r, {"Idempotency-Key": rid}, variant(), 415, "unsupported_media_type"),
        (
            "POST",
            r,
            {"Idempotency-Key": rid, "Content-Type": "text/plain"},
            variant(),
            415,
            "unsupported_media_type",
        ),
        ("POST", r, key, b'{"pad": "' + b"x" * (1 << 20) + b'"}', 413, "payload_too_large"),
        (
            "POST",
            r,
            key,
            variant(beneficiary={"national_id": "۰" + nid[1:]}),
            422,
            "invalid_national_id",
        ),
        (
            "POST",
            w,
            JSON_HEADERS,
            json.dumps({"national_id": nid, "x": 1}).encode(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            w,
            JSON_HEADERS,
            json.dumps({"national_id": int(nid)}).encode(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            w,
            JSON_HEADERS,
            json.dumps(
                {"national_id": nid.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))}
            ).encode(),
            422,
            "invalid_national_id",
        ),
        ("POST", w, JSON_HEADERS, json.dumps({"token": 5}).encode(), 400, "invalid_request"),
        (
            "POST",
            w,
            JSON_HEADERS,
            json.dumps({"purchase_code": 12345678}).encode(),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/otp-challenges",
            JSON_HEADERS,
            b'{"national_id": null}',
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/redemptions/batch",
            JSON_HEADERS,
            b'{"redemptions": {}}',
            400,
            "invalid_request",
        ),
        ("GET", "/v1/rules?x=1", {}, b"", 400, "invalid_request"),
        ("GET", "/v1/catalog?since=", {}, b"", 400, "invalid_request"),
        ("GET", "/v1/nowhere", {}, b"", 404, "not_found"),
        ("PUT", "/v1/redemptions", key, variant(), 405, "method_not_allowed"),
        ("DELETE", f"/v1/redemptions/{rid}", {}, b"", 405, "method_not_allowed"),
        ("GET", "/v1/redemptions/batch", {}, b"", 405, "method_not_allowed"),
        ("GET", "/v1/catalog?since=%FF", {}, b"", 400, "invalid_request"),
    ]


def test_bad_input_table(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    with sandbox.client() as client:
        before = purses(client, nid)
        cases = _cases(sandbox, client)
        for method, path, headers, body, status, code in cases:
            response = client.request(method, path, headers=headers, content=body)
            assert response.status_code == status, (path, body[-200:], response.text[:200])
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["code"] == code, (body[:80], problem)
            assert problem["status"] == status
            assert problem["type"].endswith(code) and problem["title"] and problem["detail"]
        assert purses(client, nid) == before
        assert client.get(f"/v1/settlements/{today(sandbox)}").json()["count"] == 0


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with start_sandbox(tmp_path_factory.mktemp("fuzz"), catalog_size=60) as sb:
        yield sb


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
)
FIELDS = [
    "id",
    "terminal_id",
    "created_at",
    "mode",
    "beneficiary",
    "rules_version",
    "lines",
    "allocations",
    "otp",
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mutations=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, min_size=1, max_size=3),
    drop=st.lists(st.sampled_from(FIELDS), max_size=2),
)
def test_fuzzed_redemptions_never_fail_the_server(
    shared_sandbox: RunningSandbox, mutations: dict[str, Any], drop: list[str]
) -> None:
    sb = shared_sandbox
    nid = sb.household("kalabarg")["national_id"]
    with sb.client() as client:
        before = purses(client, nid)
        body = simple_spend(sb, client, amount=100_000)
        body.update(mutations)
        for name in drop:
            body.pop(name, None)
        rid = body.get("id")
        if not isinstance(rid, str) or not rid.isascii() or not rid.isprintable():
            rid = new_id()
        response = client.post(
            "/v1/redemptions",
            content=json.dumps(body).encode(),
            headers={"Idempotency-Key": rid, **JSON_HEADERS},
        )
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            assert purses(client, nid) == before
        else:
            # Whatever got through is a proper answer to a proper redemption.
            assert response.json()["status"] in ("approved", "partially_approved", "declined")
