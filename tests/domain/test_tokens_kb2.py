"""KB2 beneficiary QR tokens: the KB1 members plus a signed snapshot of purses."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.errors import TokenError
from pos_client.domain.signing import b64url_decode, b64url_encode, sign_bytes
from pos_client.domain.tokens import (
    MAX_PAYLOAD_BYTES,
    MAX_TOKEN_CHARS,
    TokenClaims,
    TokenEntitlement,
    TokenPurse,
    looks_like_token,
    parse_token,
    sign_token,
    verify_token,
    verify_token_signature,
)
from tests.domain.test_tokens import CLAIMS, EXPIRES, INSIDE, ISSUED, KEY, KEYS, NID, OTHER_KEY

PURSE_EXP = ISSUED + timedelta(days=30)
AMOUNT = TokenPurse(
    id="pu_1", program="kalabarg", expires_at=PURSE_EXP, city=None, off_rial=3_000_000
)
QUANTITY = TokenPurse(
    id="pu_2",
    program="yasna",
    expires_at=PURSE_EXP,
    city="rasht",
    entitlements=(TokenEntitlement(group="diaper-s3", off_milli=1000),),
)
CLAIMS2 = replace(CLAIMS, v=2, purses=(AMOUNT, QUANTITY))


def purse_json(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "pu_1",
        "program": "kalabarg",
        "off": 3_000_000,
        "city": None,
        "exp": int(PURSE_EXP.timestamp()),
    }
    item.update(changes)
    return {k: v for k, v in item.items() if v is not _DROP}


_DROP = object()


def payload2(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "v": 2,
        "kid": "k1",
        "nid": NID,
        "jti": CLAIMS.jti,
        "iat": int(ISSUED.timestamp()),
        "exp": int(EXPIRES.timestamp()),
        "off": 3_000_000,
        "purses": [purse_json()],
    }
    payload.update(changes)
    return payload


def forge(
    payload: dict[str, Any] | bytes, *, tag: str = "KB2", key: Ed25519PrivateKey = KEY
) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signed = f"{tag}." + b64url_encode(raw)
    return signed + "." + b64url_encode(sign_bytes(signed.encode("ascii"), private_key=key))


def refused(text: str, reason: str = "token_malformed") -> TokenError:
    with pytest.raises(TokenError) as excinfo:
        verify_token(text, keys=KEYS, now=INSIDE)
    assert excinfo.value.reason == reason
    assert NID not in str(excinfo.value)
    return excinfo.value


def test_sign_then_verify_kb2() -> None:
    token = sign_token(CLAIMS2, private_key=KEY)
    assert token.startswith("KB2.")
    assert looks_like_token(token)
    assert verify_token(token, keys=KEYS, now=INSIDE) == CLAIMS2
    assert parse_token(token) == CLAIMS2
    assert verify_token_signature(token, keys=KEYS).purses == (AMOUNT, QUANTITY)


def test_kb2_payload_is_the_contract_json() -> None:
    token = sign_token(CLAIMS2, private_key=KEY)
    payload = json.loads(b64url_decode(token.split(".")[1]))
    assert payload["v"] == 2
    assert payload["purses"] == [
        {"id": "pu_1", "program": "kalabarg", "off": 3_000_000,
         "exp": int(PURSE_EXP.timestamp())},  # no city: written as absent, read as null
        {"id": "pu_2", "program": "yasna", "ent": [{"group": "diaper-s3", "off_milli": 1000}],
         "city": "rasht", "exp": int(PURSE_EXP.timestamp())},
    ]  # fmt: skip
    # The signature covers "KB2.<payload>": the same bytes under a KB1 tag do not verify.
    assert len(payload) == 8


def test_kb1_still_has_no_purses() -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    assert token.startswith("KB1.")
    assert verify_token(token, keys=KEYS, now=INSIDE).purses == ()


def test_four_purses_stay_under_the_contract_size() -> None:
    amounts = [
        replace(AMOUNT, id=f"pu_{i + 3}", program=f"prog{i}", city="rasht", off_rial=99_999_999)
        for i in range(3)
    ]
    purses = (*amounts, QUANTITY)
    token = sign_token(replace(CLAIMS2, purses=purses), private_key=KEY)
    assert len(b64url_decode(token.split(".")[1])) < 600


def test_tag_and_version_must_agree() -> None:
    kb1_payload = {k: v for k, v in payload2(v=1).items() if k != "purses"}
    # A KB1 tag on a payload saying v=2, or carrying purses.
    error = refused(forge(payload2(), tag="KB1"))
    assert "v=2" in error.message
    refused(forge(payload2(v=1), tag="KB1"))
    # A KB2 tag on a payload saying v=1 (with or without purses).
    refused(forge(payload2(v=1)))
    refused(forge(kb1_payload))
    # A KB2 without purses at all.
    refused(forge({k: v for k, v in payload2().items() if k != "purses"}))
    # A genuine KB1 signature moved under a KB2 tag does not verify.
    kb1 = sign_token(CLAIMS, private_key=KEY)
    relabelled = "KB2." + ".".join(kb1.split(".")[1:])
    refused(relabelled)


def test_kb2_signed_by_another_key_or_tampered() -> None:
    refused(forge(payload2(), key=OTHER_KEY), "token_invalid")
    token = sign_token(CLAIMS2, private_key=KEY)
    tag, body, sig = token.split(".")
    payload = json.loads(b64url_decode(body))
    payload["purses"][0]["off"] = 300_000_000  # a richer snapshot
    tampered = f"{tag}.{b64url_encode(json.dumps(payload).encode())}.{sig}"
    refused(tampered, "token_invalid")


def test_kb2_with_empty_purses_is_read_but_not_written() -> None:
    claims = verify_token(forge(payload2(purses=[])), keys=KEYS, now=INSIDE)
    assert claims.v == 2
    assert claims.purses == ()
    with pytest.raises(TokenError) as excinfo:
        sign_token(replace(CLAIMS, v=2), private_key=KEY)
    assert excinfo.value.reason == "token_malformed"


def test_oversized_payload_is_refused_before_it_is_read() -> None:
    big = payload2(pad="x" * (MAX_PAYLOAD_BYTES + 10))
    error = refused(forge(big))
    assert "too large" in error.message
    # Just under the limit is read (unknown members are tolerated).
    raw = json.dumps(payload2()).encode()
    fill = MAX_PAYLOAD_BYTES - len(raw) - len(', "pad": ""')
    fitting = payload2(pad="x" * fill)
    assert len(json.dumps(fitting).encode()) == MAX_PAYLOAD_BYTES
    assert verify_token(forge(fitting), keys=KEYS, now=INSIDE).purses == (AMOUNT,)
    # A text over the longest token is refused whatever its version.
    refused("KB2." + "A" * MAX_TOKEN_CHARS + "." + "B" * 86)


BAD_PURSES: list[Any] = [
    "pu_1",
    [purse_json(), purse_json()],  # the same purse id twice
    [purse_json(), purse_json(program="yasna")],  # still the same id
    ["pu_1"],
    [purse_json(id="")],
    [purse_json(id=" pu")],
    [purse_json(id=7)],
    [purse_json(id="x" * 65)],
    [purse_json(program=None)],
    [purse_json(program="")],
    [purse_json(off=-1)],
    [purse_json(off=10**16)],
    [purse_json(off=2**63)],
    [purse_json(off=1.5)],
    [purse_json(off=True)],
    [purse_json(off="3000000")],
    [purse_json(off=_DROP)],  # neither off nor ent
    [purse_json(ent=[{"group": "diaper-s3", "off_milli": 1000}])],  # both
    [purse_json(off=_DROP, ent=[])],
    [purse_json(off=_DROP, ent=[{"group": "diaper-s3"}])],
    [purse_json(off=_DROP, ent=[{"group": "diaper-s3", "off_milli": -1}])],
    [purse_json(off=_DROP, ent=[{"group": "g", "off_milli": 1}, {"group": "g", "off_milli": 2}])],
    [purse_json(off=_DROP, ent=[{"off_milli": 1}])],
    [purse_json(off=_DROP, ent=["diaper-s3"])],
    [purse_json(exp=_DROP)],
    [purse_json(exp=-1)],
    [purse_json(exp=10**20)],
    [purse_json(exp=1.5)],
    [purse_json(exp="2026-12-01")],
    [purse_json(city=5)],
    [purse_json(city=" rasht")],
    [purse_json(id=f"pu_{i}") for i in range(17)],  # too many purses
]


@pytest.mark.parametrize("index", range(len(BAD_PURSES)))
def test_bad_purses_are_malformed_even_when_signed(index: int) -> None:
    refused(forge(payload2(purses=BAD_PURSES[index])))


def test_empty_city_is_no_city_and_unknown_members_are_tolerated() -> None:
    token = forge(payload2(purses=[purse_json(city="", note="x")]))
    assert verify_token(token, keys=KEYS, now=INSIDE).purses == (AMOUNT,)


def test_sign_token_refuses_kb2_claims_a_reader_would_refuse() -> None:
    bad = [
        replace(CLAIMS, purses=(AMOUNT,)),  # a KB1 with purses
        replace(CLAIMS, v=3, purses=(AMOUNT,)),
        replace(CLAIMS2, purses=(AMOUNT, AMOUNT)),
        replace(CLAIMS2, purses=(replace(AMOUNT, off_rial=-1),)),
        replace(CLAIMS2, purses=(replace(AMOUNT, expires_at=PURSE_EXP.replace(tzinfo=None)),)),
        replace(CLAIMS2, purses=(replace(QUANTITY, entitlements=()),)),
        replace(CLAIMS2, purses=(replace(AMOUNT, entitlements=QUANTITY.entitlements),)),
    ]
    for claims in bad:
        with pytest.raises(TokenError) as excinfo:
            sign_token(claims, private_key=KEY)
        assert excinfo.value.reason == "token_malformed"


def test_expired_kb2_is_expired() -> None:
    token = sign_token(CLAIMS2, private_key=KEY)
    with pytest.raises(TokenError) as excinfo:
        verify_token(token, keys=KEYS, now=EXPIRES + timedelta(minutes=2))
    assert excinfo.value.reason == "token_expired"


_ids = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)


@settings(max_examples=60)
@given(
    offs=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=4),
    program=_ids,
    city=st.none() | _ids,
    days=st.integers(min_value=0, max_value=3650),
)
def test_round_trip_any_kb2(offs: list[int], program: str, city: str | None, days: int) -> None:
    exp = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days)
    purses = tuple(
        TokenPurse(id=f"pu_{i}", program=program, expires_at=exp, city=city, off_rial=off)
        for i, off in enumerate(offs)
    )
    claims = replace(CLAIMS2, purses=purses)
    assert parse_token(sign_token(claims, private_key=KEY)) == claims


def test_claims_repr_hides_the_national_id() -> None:
    assert NID not in repr(CLAIMS2)
    assert isinstance(CLAIMS2, TokenClaims)
