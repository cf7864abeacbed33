"""KB1 beneficiary QR tokens (pos_client.domain.tokens)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.errors import TokenError
from pos_client.domain.national_id import is_valid_national_id, national_id_check_digit
from pos_client.domain.signing import (
    b64url_decode,
    b64url_encode,
    load_private_key,
    public_key_bytes,
    sign_bytes,
)
from pos_client.domain.tokens import (
    MAX_TOKEN_CHARS,
    TokenClaims,
    looks_like_token,
    parse_token,
    sign_token,
    verify_token,
)

KEY = load_private_key(bytes(range(32)))
OTHER_KEY = load_private_key(bytes(range(1, 33)))
KEYS = {"k1": public_key_bytes(KEY)}
ISSUED = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
EXPIRES = ISSUED + timedelta(minutes=5)
INSIDE = ISSUED + timedelta(minutes=1)


def make_national_id(first_nine: str) -> str:
    return first_nine + str(national_id_check_digit(first_nine))


NID = make_national_id("049937089")
assert is_valid_national_id(NID)

CLAIMS = TokenClaims(
    v=1,
    kid="k1",
    national_id=NID,
    jti="0193a9e4-7b1c-7cc0-a8f2-3f5e0c1d2b4a",
    issued_at=ISSUED,
    expires_at=EXPIRES,
    offline_allowance_rial=3_000_000,
)


def good_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "v": 1,
        "kid": "k1",
        "nid": NID,
        "jti": CLAIMS.jti,
        "iat": int(ISSUED.timestamp()),
        "exp": int(EXPIRES.timestamp()),
        "off": 3_000_000,
    }
    payload.update(changes)
    return payload


def forge(payload: dict[str, Any] | bytes, *, key: Ed25519PrivateKey = KEY) -> str:
    """A correctly signed token around any payload (to test payload checks)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signed = "KB1." + b64url_encode(raw)
    return signed + "." + b64url_encode(sign_bytes(signed.encode("ascii"), private_key=key))


def assert_refused(text: str, reason: str, *, now: datetime = INSIDE) -> TokenError:
    with pytest.raises(TokenError) as excinfo:
        verify_token(text, keys=KEYS, now=now)
    error = excinfo.value
    assert error.reason == reason
    assert error.code == reason
    # Never the token nor the national ID in what may be shown or logged.
    for shown in (str(error), error.message, repr(error)):
        assert NID not in shown
        if len(text) > 10:
            assert text not in shown
            assert text.split(".")[-1] not in shown
    return error


# --------------------------------------------------------------------------- round trips


def test_sign_then_verify() -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    assert token.startswith("KB1.")
    assert looks_like_token(token)
    assert verify_token(token, keys=KEYS, now=INSIDE) == CLAIMS
    assert parse_token(token) == CLAIMS


def test_payload_is_the_contract_json() -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    prefix, payload_part, signature_part = token.split(".")
    assert prefix == "KB1"
    assert "=" not in payload_part and "=" not in signature_part
    payload = json.loads(b64url_decode(payload_part))
    assert list(payload) == ["v", "kid", "nid", "jti", "iat", "exp", "off"]
    assert payload == good_payload()
    # The signature is over the ASCII bytes "KB1.<payload>".
    assert b64url_decode(signature_part) == sign_bytes(
        f"KB1.{payload_part}".encode("ascii"), private_key=KEY
    )


def test_token_made_elsewhere_is_accepted() -> None:
    # Any producer following the contract, with its own JSON spacing and key order.
    raw = json.dumps(dict(reversed(list(good_payload().items()))), indent=1).encode()
    assert verify_token(forge(raw), keys=KEYS, now=INSIDE) == CLAIMS


def test_unknown_payload_fields_are_tolerated() -> None:
    token = forge(good_payload(city="rasht", extra={"a": [1, 2]}))
    assert verify_token(token, keys=KEYS, now=INSIDE) == CLAIMS


def test_claims_repr_hides_the_national_id() -> None:
    assert NID not in repr(CLAIMS)
    assert NID not in str(CLAIMS)


nine_digits = st.from_regex(r"[0-9]{9}", fullmatch=True)
valid_nids = nine_digits.map(make_national_id).filter(is_valid_national_id)


@settings(max_examples=80)
@given(
    nid=valid_nids,
    jti=st.from_regex(r"[!-~]{1,128}", fullmatch=True),
    kid=st.from_regex(r"[A-Za-z0-9._~-]{1,64}", fullmatch=True),
    iat=st.integers(min_value=0, max_value=4_000_000_000),
    lifetime=st.integers(min_value=1, max_value=10_000_000),
    off=st.integers(min_value=0, max_value=2**63 - 1),
)
def test_round_trip_any_claims(
    nid: str, jti: str, kid: str, iat: int, lifetime: int, off: int
) -> None:
    claims = TokenClaims(
        v=1,
        kid=kid,
        national_id=nid,
        jti=jti,
        issued_at=datetime.fromtimestamp(iat, tz=UTC),
        expires_at=datetime.fromtimestamp(iat + lifetime, tz=UTC),
        offline_allowance_rial=off,
    )
    token = sign_token(claims, private_key=KEY)
    assert len(token) <= MAX_TOKEN_CHARS
    assert parse_token(token) == claims
    now = claims.issued_at
    assert verify_token(token, keys={kid: public_key_bytes(KEY)}, now=now) == claims


def test_sign_token_accepts_any_offset_and_gives_utc() -> None:
    tehran = timezone(timedelta(hours=3, minutes=30))
    claims = replace(
        CLAIMS, issued_at=ISSUED.astimezone(tehran), expires_at=EXPIRES.astimezone(tehran)
    )
    parsed = parse_token(sign_token(claims, private_key=KEY))
    assert parsed.issued_at == ISSUED and parsed.issued_at.utcoffset() == timedelta(0)


# --------------------------------------------------------------------------- malformed


def _malformed_texts() -> list[str]:
    good = sign_token(CLAIMS, private_key=KEY)
    _prefix, payload_part, signature_part = good.split(".")
    return [
        "",
        "KB1",
        "KB1..",
        f"KB2.{payload_part}.{signature_part}",
        f"kb1.{payload_part}.{signature_part}",
        f"{payload_part}.{signature_part}",
        f"KB1.{payload_part}",
        f"KB1.{payload_part}.{signature_part}.x",
        f"KB1.{payload_part}=.{signature_part}",
        f"KB1.{payload_part}.{signature_part}==",
        f"KB1.{payload_part}.{signature_part[:-4]}",  # 61 bytes
        f"KB1.{payload_part} .{signature_part}",
        f"KB1.{payload_part}.{signature_part}\n",
        f"KB1.{payload_part}.{signature_part}" + "A" * MAX_TOKEN_CHARS,  # too long
        "KB1.۱۲۳.۴۵۶",
        f"KB1.{payload_part[:-1]}.{signature_part}",  # payload cut: bad base64 or JSON
    ]


@pytest.mark.parametrize("index", range(len(_malformed_texts())))
def test_malformed_token_text(index: int) -> None:
    text = _malformed_texts()[index]
    assert_refused(text, "token_malformed")
    with pytest.raises(TokenError) as excinfo:
        parse_token(text)
    assert excinfo.value.reason == "token_malformed"


def test_non_text_is_malformed() -> None:
    with pytest.raises(TokenError) as excinfo:
        parse_token(b"KB1.a.b")  # type: ignore[arg-type]
    assert excinfo.value.reason == "token_malformed"


BAD_NID_CHECK = NID[:9] + str((int(NID[9]) + 1) % 10)
PERSIAN_NID = NID.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))

MALFORMED_PAYLOADS: list[dict[str, Any] | bytes] = [
    b"not json",
    b"[1, 2, 3]",
    b'"KB1"',
    b"\xff\xfe{}",  # not UTF-8
    b'{"v":1,"v":1,"kid":"k1"}',  # duplicate key
    json.dumps(good_payload()).replace('"off": 3000000', '"off": NaN').encode(),
    {k: v for k, v in good_payload().items() if k != "nid"},
    {k: v for k, v in good_payload().items() if k != "exp"},
    {k: v for k, v in good_payload().items() if k != "v"},
    good_payload(v=2),
    good_payload(v=True),
    good_payload(v=1.0),
    good_payload(v="1"),
    good_payload(kid=""),
    good_payload(kid=1),
    good_payload(kid="k;1"),
    good_payload(nid=BAD_NID_CHECK),
    good_payload(nid=PERSIAN_NID),
    good_payload(nid=NID[1:]),  # 9 digits: a person may drop a zero, a token may not
    good_payload(nid=int(NID)),
    good_payload(nid="1111111111"),
    good_payload(nid=None),
    good_payload(jti=""),
    good_payload(jti="has space"),
    good_payload(jti="x" * 129),
    good_payload(jti=17),
    good_payload(iat=float(int(ISSUED.timestamp()))),
    good_payload(iat=True),
    good_payload(iat=-1),
    good_payload(iat=str(int(ISSUED.timestamp()))),
    good_payload(exp=10**20),
    good_payload(exp=int(ISSUED.timestamp())),  # not after iat
    good_payload(exp=int(ISSUED.timestamp()) - 1),
    good_payload(off=-1),
    good_payload(off=1.5),
    good_payload(off=False),
    good_payload(off=None),
    good_payload(off=2**63),
]


@pytest.mark.parametrize("index", range(len(MALFORMED_PAYLOADS)))
def test_malformed_payload_even_when_signed(index: int) -> None:
    token = forge(MALFORMED_PAYLOADS[index])
    assert_refused(token, "token_malformed")


def test_sign_token_refuses_claims_a_reader_would_refuse() -> None:
    bad_claims = [
        replace(CLAIMS, v=2),
        replace(CLAIMS, kid="k 1"),
        replace(CLAIMS, national_id=BAD_NID_CHECK),
        replace(CLAIMS, jti=""),
        replace(CLAIMS, offline_allowance_rial=-5),
        replace(CLAIMS, expires_at=ISSUED),
        replace(CLAIMS, issued_at=ISSUED.replace(tzinfo=None)),
        replace(CLAIMS, issued_at=ISSUED + timedelta(microseconds=1)),
    ]
    for claims in bad_claims:
        with pytest.raises(TokenError) as excinfo:
            sign_token(claims, private_key=KEY)
        assert excinfo.value.reason == "token_malformed"
        assert NID not in str(excinfo.value)


# --------------------------------------------------------------------------- keys and signatures


def test_unknown_key() -> None:
    token = sign_token(replace(CLAIMS, kid="k9"), private_key=KEY)
    assert_refused(token, "token_unknown_key")


def test_signed_by_another_key() -> None:
    token = sign_token(CLAIMS, private_key=OTHER_KEY)
    assert_refused(token, "token_invalid")


def test_tampered_payload() -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    _, _payload_part, signature_part = token.split(".")
    richer = b64url_encode(json.dumps(good_payload(off=999_000_000)).encode())
    assert_refused(f"KB1.{richer}.{signature_part}", "token_invalid")
    other_person = make_national_id("123456789")
    assert is_valid_national_id(other_person)
    moved = b64url_encode(json.dumps(good_payload(nid=other_person)).encode())
    assert_refused(f"KB1.{moved}.{signature_part}", "token_invalid")


@settings(max_examples=60)
@given(position=st.integers(min_value=0, max_value=63), bit=st.integers(min_value=0, max_value=7))
def test_tampered_signature(position: int, bit: int) -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    _prefix, payload_part, signature_part = token.split(".")
    signature = bytearray(b64url_decode(signature_part))
    signature[position] ^= 1 << bit
    assert_refused(f"KB1.{payload_part}.{b64url_encode(bytes(signature))}", "token_invalid")


def test_unusable_trusted_key_bytes_mean_invalid() -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    with pytest.raises(TokenError) as excinfo:
        verify_token(token, keys={"k1": b"short"}, now=INSIDE)
    assert excinfo.value.reason == "token_invalid"


def test_forged_token_is_invalid_before_expired() -> None:
    token = sign_token(CLAIMS, private_key=OTHER_KEY)
    assert_refused(token, "token_invalid", now=EXPIRES + timedelta(days=30))


# --------------------------------------------------------------------------- time


def test_expiry_boundaries_with_leeway() -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    leeway = timedelta(seconds=60)
    last_good = EXPIRES + leeway - timedelta(microseconds=1)
    assert verify_token(token, keys=KEYS, now=last_good) == CLAIMS
    assert_refused(token, "token_expired", now=EXPIRES + leeway)
    assert_refused(token, "token_expired", now=EXPIRES + timedelta(days=1))
    with pytest.raises(TokenError) as excinfo:
        verify_token(token, keys=KEYS, now=EXPIRES, leeway_seconds=0)
    assert excinfo.value.reason == "token_expired"


def test_not_yet_valid_boundaries_with_leeway() -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    leeway = timedelta(seconds=60)
    assert verify_token(token, keys=KEYS, now=ISSUED - leeway) == CLAIMS
    assert_refused(token, "token_not_yet_valid", now=ISSUED - leeway - timedelta(microseconds=1))
    assert_refused(token, "token_not_yet_valid", now=ISSUED - timedelta(hours=2))
    with pytest.raises(TokenError) as excinfo:
        verify_token(token, keys=KEYS, now=ISSUED - timedelta(seconds=1), leeway_seconds=0)
    assert excinfo.value.reason == "token_not_yet_valid"


def test_now_in_another_offset_is_the_same_instant() -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    tehran = timezone(timedelta(hours=3, minutes=30))
    assert verify_token(token, keys=KEYS, now=INSIDE.astimezone(tehran)) == CLAIMS
    assert_refused(token, "token_expired", now=(EXPIRES + timedelta(minutes=2)).astimezone(tehran))


def test_naive_now_is_a_programming_error() -> None:
    token = sign_token(CLAIMS, private_key=KEY)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_token(token, keys=KEYS, now=INSIDE.replace(tzinfo=None))


def test_looks_like_token() -> None:
    assert looks_like_token("KB1.x.y")
    assert not looks_like_token("0499370899")
    assert not looks_like_token("KB1")
    assert not looks_like_token("12345678")
