"""The sandbox's terminal config: admins write layers, lanes read them signed, with ETag/304."""

from __future__ import annotations

import json

import httpx

from pos_client.domain.config_layers import merge, parse_config_document
from pos_client.domain.signing import b64url_decode
from pos_client.errors import DocumentRefused
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.refresh import verify_signature


def _admin(sandbox: RunningSandbox, merchant: str = "M-0001") -> httpx.Client:
    return sandbox.admin_client(merchant)


def _keys(sandbox: RunningSandbox) -> dict[str, bytes]:
    signer = sandbox.sandbox.signer
    return {signer.kid: b64url_decode(signer.public_key_b64)}


def test_a_chain_ceiling_reaches_the_lane_signed_with_a_new_version(
    sandbox: RunningSandbox,
) -> None:
    with sandbox.client("T-0001") as lane, _admin(sandbox) as admin:
        first = lane.get("v1/terminal-config")
        assert first.status_code == 200
        assert json.loads(first.content)["version"] == "tc-000000"
        etag = first.headers["etag"]
        assert lane.get("v1/terminal-config", headers={"If-None-Match": etag}).status_code == 304

        put = admin.put(
            "v1/config-layers/chain",
            json={
                "values": {"offline": {"max_rial_per_transaction": 3_000_000}},
                "ceilings": {"offline.max_rial_per_transaction": 3_000_000},
            },
        )
        assert put.status_code == 200, put.text
        assert put.json()["version"] == "tc-000001"
        store = admin.put(
            "v1/config-layers/stores/S-001", json={"values": {"ui": {"language": "en"}}}
        )
        assert store.json()["version"] == "tc-000002"

        second = lane.get("v1/terminal-config", headers={"If-None-Match": etag})
        assert second.status_code == 200
        verify_signature(second.content, second.headers["x-signature"], _keys(sandbox))
        doc = parse_config_document(json.loads(second.content))
        assert doc.version == "tc-000002"
        assert second.headers["etag"] == '"tc-000002"'
        effective = merge(doc.layers)
        assert effective["offline.max_rial_per_transaction"].value == 3_000_000
        assert effective["ui.language"].value == "en"
        tampered = second.content.replace(b"3000000", b"9000000")
        try:
            verify_signature(tampered, second.headers["x-signature"], _keys(sandbox))
        except DocumentRefused as exc:
            assert exc.code == "signature_invalid"
        else:
            raise AssertionError("a changed body must not verify")

        # another store's write leaves this lane's document as it was
        assert admin.put("v1/config-layers/stores/S-002", json={"values": {}}).status_code == 200
        etag = second.headers["etag"]
        assert lane.get("v1/terminal-config", headers={"If-None-Match": etag}).status_code == 304

    # the other merchant's lane sees none of it
    with sandbox.client("T-0003") as other:
        assert json.loads(other.get("v1/terminal-config").content)["version"] == "tc-000000"


def test_bad_keys_and_values_are_refused_naming_key_and_layer(sandbox: RunningSandbox) -> None:
    with _admin(sandbox) as admin:
        unknown = admin.put(
            "v1/config-layers/terminals/T-0001", json={"values": {"offline": {"max_rial": 1}}}
        )
        assert unknown.status_code == 422
        assert unknown.json()["code"] == "config_invalid"
        assert "offline.max_rial" in unknown.json()["detail"]
        assert "lane T-0001" in unknown.json()["detail"]
        bad = admin.put(
            "v1/config-layers/stores/S-001", json={"values": {"ui": {"language": "de"}}}
        )
        assert bad.status_code == 422
        assert "ui.language" in bad.json()["detail"] and "store S-001" in bad.json()["detail"]
        assert admin.put("v1/config-layers/chain", json={"vals": {}}).status_code == 400
        nulls = {"values": {}, "locks": None}
        assert admin.put("v1/config-layers/chain", json=nulls).status_code == 400
        # nothing was written
        assert admin.get("v1/config-layers/chain").json()["version"] == "tc-000000"


def test_another_merchants_store_or_terminal_is_not_found_and_tokens_keep_their_roles(
    sandbox: RunningSandbox,
) -> None:
    with _admin(sandbox, "M-0001") as admin:
        body = {"values": {"offline": {"enabled": False}}}
        assert admin.put("v1/config-layers/terminals/T-0003", json=body).status_code == 404
        assert admin.put("v1/config-layers/stores/S-101", json=body).status_code == 404
        assert admin.put("v1/config-layers/stores/S-999", json=body).status_code == 404
        assert admin.get("v1/terminal-config").status_code == 403
    with sandbox.client("T-0001") as lane:
        refused = lane.put("v1/config-layers/chain", json={"values": {}})
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
    with sandbox.client(None) as nobody:
        assert nobody.put("v1/config-layers/chain", json={"values": {}}).status_code == 401
