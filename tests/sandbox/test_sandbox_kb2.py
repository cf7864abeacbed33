"""KB2 tokens in the sandbox: minted from the purses as they stand, accepted like KB1."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from pos_client.cli import main
from pos_client.domain.signing import b64url_decode
from pos_client.domain.tokens import parse_token, verify_token
from pos_client.sandbox.server import RunningSandbox
from tests.sandbox.support import (
    line,
    post,
    product,
    purse_id,
    purses,
    redemption,
    rules_version,
    sandbox_now,
)

PER_SALE = 5_000_000  # the demo rule set's offline limits for Kalabarg


def _keys(sb: RunningSandbox) -> dict[str, bytes]:
    key = sb.info["signing_key"]
    return {key["kid"]: b64url_decode(key["public_key"])}


def _sale(
    sb: RunningSandbox,
    client: httpx.Client,
    token: str,
    amount: int,
    *,
    household: str = "kalabarg",
    mode: str = "online",
) -> dict[str, Any]:
    p = product(sb, category="oil")
    pieces = amount // p["price_rial"] + 1
    return redemption(
        beneficiary={"token": token},
        lines=[line(p, quantity_milli=pieces * 1000)],
        allocations=[
            {"line": 0, "purse_id": purse_id(sb, household, "kalabarg"), "amount_rial": amount}
        ],
        rules=rules_version(client),
        mode=mode,
        created_at=sandbox_now(sb).replace(microsecond=0).isoformat(),
    )


def test_a_kb2_token_carries_the_offline_purses_as_they_stand(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    token = sandbox.mint_token(nid, version=2)
    assert token.startswith("KB2.")
    claims = verify_token(token, keys=_keys(sandbox), now=sandbox_now(sandbox))
    assert claims.v == 2
    with sandbox.client() as client:
        now_purses = purses(client, nid)
    # Tranche 7 only: tranche 8 is not valid yet, donor credit allows no offline approval.
    (snapshot,) = claims.purses
    assert snapshot.id == purse_id(sandbox, "kalabarg", "kalabarg")
    assert snapshot.program == "kalabarg"
    balance = now_purses[snapshot.id]["balance_rial"]
    assert snapshot.off_rial == min(balance, PER_SALE)
    assert len(b64url_decode(token.split(".")[1])) < 600


def test_off_is_never_above_the_balance(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("low_balance")["national_id"]
    with sandbox.client() as client:
        kb1 = sandbox.mint_token(nid)
        spent = post(client, _sale(sandbox, client, kb1, 300_000, household="low_balance"))
        assert spent.json()["status"] == "approved"
        left = purses(client, nid)
    claims = parse_token(sandbox.mint_token(nid, version=2))
    (snapshot,) = claims.purses
    assert snapshot.off_rial == left[snapshot.id]["balance_rial"] == 200_000


def test_kb2_inquiry_and_single_use(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    token = sandbox.mint_token(nid, version=2)
    with sandbox.client() as client:
        by_token = client.post("/v1/wallet-inquiries", json={"token": token})
        assert by_token.status_code == 200, by_token.text
        assert by_token.json()["requires_otp"] is False
        assert {p["id"] for p in by_token.json()["purses"]} == set(purses(client, nid))
        first = post(client, _sale(sandbox, client, token, 1_000_000))
        assert first.json()["status"] == "approved"
        second = post(client, _sale(sandbox, client, token, 1_000_000))
        assert second.status_code == 201
        assert second.json()["status"] == "declined"
        assert second.json()["reason"] == "token_used"
        used = client.post("/v1/wallet-inquiries", json={"token": token})
        assert used.status_code == 422 and used.json()["code"] == "token_used"


def test_kb2_offline_redemption_is_rechecked_like_a_token(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("large")["national_id"]
    with sandbox.client() as client:
        ok = _sale(sandbox, client, sandbox.mint_token(nid, version=2), 1_000_000,
                   household="large", mode="offline")  # fmt: skip
        assert post(client, ok).json()["status"] == "approved"
        over = _sale(sandbox, client, sandbox.mint_token(nid, version=2), PER_SALE + 1,
                     household="large", mode="offline")  # fmt: skip
        body = post(client, over).json()
        assert body["status"] == "declined" and body["reason"] == "offline_not_allowed"


def test_kb2_minting_refusals(sandbox: RunningSandbox) -> None:
    unknown = "0499370899"
    assert unknown not in {h["national_id"] for h in sandbox.info["households"]}
    with httpx.Client(base_url=sandbox.url) as admin:
        missing = admin.post("/sandbox/tokens", json={"national_id": unknown, "version": 2})
        assert missing.status_code == 404
        assert missing.json()["code"] == "beneficiary_not_found"
        bad = admin.post("/sandbox/tokens", json={"national_id": unknown, "version": 3})
        assert bad.status_code == 400
        # KB1 stays mintable for any valid ID.
        assert admin.post("/sandbox/tokens", json={"national_id": unknown}).status_code == 201
        nid = sandbox.household("low_balance")["national_id"]
        with sandbox.client() as client:
            spent = post(client, _sale(sandbox, client, sandbox.mint_token(nid), 500_000,
                                       household="low_balance"))  # fmt: skip
            assert spent.json()["status"] == "approved"
        empty = admin.post("/sandbox/tokens", json={"national_id": nid, "version": 2})
        assert empty.status_code == 409
        assert empty.json()["code"] == "nothing_offline"


def test_cli_token_v2(sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    nid = sandbox.household("yasna")["national_id"]
    assert main(["sandbox", "token", nid, "--v2", "--no-qr", "--data", str(sandbox.data_dir)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    claims = verify_token(token, keys=_keys(sandbox), now=datetime.now().astimezone())
    assert claims.v == 2
    assert [p.program for p in claims.purses] == ["kalabarg"]  # Yasna allows no offline
    with sandbox.client() as client:
        assert client.post("/v1/wallet-inquiries", json={"token": token}).status_code == 200
    low = sandbox.household("low_balance")["national_id"]
    with sandbox.client() as client:
        spent = post(client, _sale(sandbox, client, sandbox.mint_token(low), 500_000,
                                   household="low_balance"))  # fmt: skip
        assert spent.json()["status"] == "approved"
    capsys.readouterr()
    code = main(["sandbox", "token", low, "--v2", "--no-qr", "--data", str(sandbox.data_dir)])
    assert code == 1
    assert "nothing this household holds may be spent offline" in capsys.readouterr().err
