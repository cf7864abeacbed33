"""Wallet inquiries by national ID, token and purchase code; OTP challenges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pos_client.domain.contract import parse_wallet
from pos_client.domain.national_id import national_id_check_digit
from pos_client.domain.tokens import TokenClaims, sign_token
from pos_client.sandbox.server import RunningSandbox


def _inquire(client: httpx.Client, body: dict[str, str]) -> httpx.Response:
    return client.post("/v1/wallet-inquiries", json=body)


def _code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json"
    document = response.json()
    assert document["status"] == response.status_code
    assert {"type", "title", "status", "code", "detail"} <= set(document)
    return str(document["code"])


def test_inquiry_by_each_identity(sandbox: RunningSandbox) -> None:
    household = sandbox.household("kalabarg")
    nid = household["national_id"]
    with sandbox.client() as client:
        by_id = _inquire(client, {"national_id": nid})
        assert by_id.status_code == 200
        wallet = parse_wallet(by_id.json())
        assert wallet.requires_otp is True
        assert wallet.beneficiary.ref == household["ref"]
        assert wallet.offline_allowance_rial == household["offline_allowance_rial"]
        assert [p.id for p in wallet.purses] == [p["id"] for p in household["purses"]]

        token = sandbox.mint_token(nid)
        by_token = _inquire(client, {"token": token})
        assert by_token.status_code == 200
        assert by_token.json()["requires_otp"] is False
        assert by_token.json()["purses"] == by_id.json()["purses"]
        # An inquiry does not use the token up.
        assert _inquire(client, {"token": token}).status_code == 200

        code = sandbox.mint_purchase_code(nid)
        by_code = _inquire(client, {"purchase_code": code})
        assert by_code.status_code == 200 and by_code.json()["requires_otp"] is False


def _valid_unknown_national_id(sb: RunningSandbox) -> str:
    known = {h["national_id"] for h in sb.info["households"]}
    for n in range(123456780, 123456999):
        first = f"{n:09d}"
        candidate = first + str(national_id_check_digit(first))
        if candidate not in known:
            return candidate
    raise AssertionError("no unknown ID")


def test_inquiry_refusals(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    persian = nid.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    arabic = nid.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    bad_check = nid[:9] + str((int(nid[9]) + 1) % 10)
    stranger = Ed25519PrivateKey.generate()
    now = datetime.now(UTC).replace(microsecond=0)
    forged = sign_token(
        TokenClaims(
            1, sandbox.info["signing_key"]["kid"], nid, "jti-1", now, now + timedelta(hours=1), 0
        ),
        private_key=stranger,
    )
    unknown_kid = sign_token(
        TokenClaims(1, "k-other", nid, "jti-2", now, now + timedelta(hours=1), 0),
        private_key=stranger,
    )
    cases = [
        ({"national_id": persian}, 422, "invalid_national_id"),
        ({"national_id": arabic}, 422, "invalid_national_id"),
        ({"national_id": f"{nid[:3]}-{nid[3:]}"}, 422, "invalid_national_id"),
        ({"national_id": f" {nid}"}, 422, "invalid_national_id"),
        ({"national_id": bad_check}, 422, "invalid_national_id"),
        ({"national_id": "0000000000"}, 422, "invalid_national_id"),
        ({"national_id": _valid_unknown_national_id(sandbox)}, 404, "beneficiary_not_found"),
        ({"token": "KB1.not.a-token"}, 422, "token_invalid"),
        ({"token": forged}, 422, "token_invalid"),
        ({"token": unknown_kid}, 422, "token_invalid"),
        ({"purchase_code": "12345678"}, 422, "purchase_code_invalid"),
        ({"purchase_code": "1234567"}, 422, "purchase_code_invalid"),
        ({"purchase_code": "۱۲۳۴۵۶۷۸"}, 422, "purchase_code_invalid"),
        ({"national_id": sandbox.household("blocked")["national_id"]}, 403, "beneficiary_blocked"),
    ]
    with sandbox.client() as client:
        for body, status, code in cases:
            response = _inquire(client, body)
            assert (response.status_code, _code(response)) == (status, code), body


def test_expired_and_used_identities(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    with sandbox.client() as client:
        short = sandbox.mint_token(nid, ttl_seconds=1)
        code = sandbox.mint_purchase_code(nid)
        sandbox.advance_clock(3600)  # past the token's life and its leeway, past the code's
        response = _inquire(client, {"token": short})
        assert (response.status_code, _code(response)) == (422, "token_expired")
        response = _inquire(client, {"purchase_code": code})
        assert (response.status_code, _code(response)) == (422, "purchase_code_invalid")


def test_otp_challenges(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    with sandbox.client() as client:
        response = client.post("/v1/otp-challenges", json={"national_id": nid})
        assert response.status_code == 202
        challenge = response.json()
        assert set(challenge) == {"challenge_id", "expires_at"}
        code = sandbox.otp_code(challenge["challenge_id"])
        assert len(code) == 6 and code.isdigit()
        blocked = sandbox.household("blocked")["national_id"]
        refused = client.post("/v1/otp-challenges", json={"national_id": blocked})
        assert (refused.status_code, _code(refused)) == (403, "beneficiary_blocked")
        unknown = client.post("/v1/otp-challenges", json={"national_id": "0499370899"})
        assert (unknown.status_code, _code(unknown)) == (404, "beneficiary_not_found")
        persian = client.post(
            "/v1/otp-challenges",
            json={"national_id": nid.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))},
        )
        assert (persian.status_code, _code(persian)) == (422, "invalid_national_id")
    assert httpx.get(sandbox.url + "sandbox/otp-challenges/ch_none").status_code == 404


def test_otp_challenges_are_throttled_per_household(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("yasna")["national_id"]
    with sandbox.client() as client:
        statuses = [
            client.post("/v1/otp-challenges", json={"national_id": nid}).status_code
            for _ in range(10)
        ]
        assert statuses == [202] * 10
        throttled = client.post("/v1/otp-challenges", json={"national_id": nid})
        assert (throttled.status_code, _code(throttled)) == (429, "too_many_requests")
        assert int(throttled.headers["retry-after"]) >= 1
        sandbox.advance_clock(11 * 60)
        assert client.post("/v1/otp-challenges", json={"national_id": nid}).status_code == 202


@pytest.mark.parametrize("days", [11])
def test_a_tranche_carries_over_when_the_next_unlocks(sandbox: RunningSandbox, days: int) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    with sandbox.client() as client:
        before = _inquire(client, {"national_id": nid}).json()["purses"]
        t7, t8 = [p for p in before if p["program"] == "kalabarg"]
        sandbox.advance_clock(days * 86400)
        after = _inquire(client, {"national_id": nid}).json()["purses"]
    kalabarg = [p for p in after if p["program"] == "kalabarg"]
    assert [p["id"] for p in kalabarg] == [t8["id"]]
    assert kalabarg[0]["balance_rial"] == t7["balance_rial"] + t8["balance_rial"]
