"""The merchant admin token: kept hashed, refused on terminal endpoints, shown in sandbox.json."""

from __future__ import annotations

import hashlib
import sqlite3

from pos_client.sandbox.server import RunningSandbox


def test_sandbox_json_names_an_admin_token_per_demo_merchant(sandbox: RunningSandbox) -> None:
    admins = {a["merchant_id"]: a for a in sandbox.info["merchant_admins"]}
    assert set(admins) == {"M-0001", "M-0002"}
    assert [s["store_id"] for s in admins["M-0001"]["stores"]] == ["S-001", "S-002"]
    assert [s["store_id"] for s in admins["M-0002"]["stores"]] == ["S-101"]
    token = admins["M-0001"]["token"]
    assert token.startswith("adm_") and len(token) > 30


def test_the_books_keep_admin_tokens_only_as_hashes(sandbox: RunningSandbox) -> None:
    token = sandbox.admin_token("M-0001")
    conn = sqlite3.connect(sandbox.data_dir / "ledger.sqlite")
    try:
        rows = conn.execute("SELECT token_sha256, merchant_id FROM admin_tokens").fetchall()
    finally:
        conn.close()
    assert (hashlib.sha256(token.encode()).hexdigest(), "M-0001") in rows
    assert all(token not in row for row in rows)


def test_an_admin_token_on_a_terminal_endpoint_is_forbidden(sandbox: RunningSandbox) -> None:
    with sandbox.admin_client() as client:
        for path in ("/v1/rules", "/v1/catalog", "/v1/settlements/2026-11-23"):
            response = client.get(path)
            assert response.status_code == 403, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "forbidden"
