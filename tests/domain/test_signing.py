"""Ed25519 document signatures, base64url and key trust (pos_client.domain.signing)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.errors import ContractError
from pos_client.domain.models import SigningKey
from pos_client.domain.signing import (
    b64url_decode,
    b64url_encode,
    extend_trusted_keys,
    keys_in_force,
    load_private_key,
    load_public_key,
    parse_signature_header,
    private_key_bytes,
    public_key_bytes,
    sign_bytes,
    sign_document,
    verify_bytes,
    verify_document,
)

BODY = '{"version":"r-1","categories":[{"id":"rice","name_fa":"برنج"}]}'.encode()


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def other_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def trusted(key: Ed25519PrivateKey, kid: str = "k1") -> dict[str, bytes]:
    return {kid: public_key_bytes(key)}


# --------------------------------------------------------------------------- base64url


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_b64url_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert b64url_decode(text) == data
    # Same bytes as the standard library's padded form.
    assert base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) == data


@pytest.mark.parametrize(
    "text",
    [
        "YQ==",  # padding
        "YQ=",
        "a+b/",  # standard alphabet, not URL-safe
        "YW Jj",  # whitespace
        "YWJj\n",
        "Y",  # impossible length
        "YWJjZ",
        "YR",  # non-canonical: stray bits in the last character (canonical is "YQ")
        "YWF",  # canonical is "YWE"
        "۱۲۳۴",  # not ASCII
        "YW\u200cJj",
    ],
)
def test_b64url_decode_refuses_bad_text(text: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        b64url_decode(text)
    assert excinfo.value.reason == "malformed"
    assert text not in excinfo.value.message or text == ""


def test_b64url_decode_refuses_non_text() -> None:
    with pytest.raises(ContractError) as excinfo:
        b64url_decode(b"YWJj")  # type: ignore[arg-type]
    assert excinfo.value.reason == "malformed"


def test_b64url_empty() -> None:
    assert b64url_encode(b"") == ""
    assert b64url_decode("") == b""


# --------------------------------------------------------------------------- keys


def test_key_bytes_round_trip(key: Ed25519PrivateKey) -> None:
    raw_public = public_key_bytes(key)
    raw_private = private_key_bytes(key)
    assert len(raw_public) == 32 and len(raw_private) == 32
    again = load_private_key(raw_private)
    assert public_key_bytes(again) == raw_public
    loaded = load_public_key(raw_public)
    signature = sign_bytes(b"abc", private_key=again)
    loaded.verify(signature, b"abc")  # raises if wrong


@pytest.mark.parametrize("raw", [b"", b"\x01" * 31, b"\x01" * 33, b"\x00" * 64])
def test_load_public_key_refuses_wrong_length(raw: bytes) -> None:
    with pytest.raises(ContractError) as excinfo:
        load_public_key(raw)
    assert excinfo.value.reason == "invalid_public_key"


def test_load_public_key_refuses_non_bytes() -> None:
    with pytest.raises(ContractError) as excinfo:
        load_public_key("k" * 32)  # type: ignore[arg-type]
    assert excinfo.value.reason == "invalid_public_key"


@pytest.mark.parametrize("raw", [b"", b"\x01" * 31, b"\x01" * 33])
def test_load_private_key_refuses_wrong_length(raw: bytes) -> None:
    with pytest.raises(ContractError) as excinfo:
        load_private_key(raw)
    assert excinfo.value.reason == "invalid_private_key"


def test_verify_bytes(key: Ed25519PrivateKey, other_key: Ed25519PrivateKey) -> None:
    signature = sign_bytes(BODY, private_key=key)
    assert len(signature) == 64
    assert verify_bytes(BODY, signature, public_key=public_key_bytes(key))
    assert not verify_bytes(BODY + b" ", signature, public_key=public_key_bytes(key))
    assert not verify_bytes(BODY, signature, public_key=public_key_bytes(other_key))
    assert not verify_bytes(BODY, signature[:-1], public_key=public_key_bytes(key))


# --------------------------------------------------------------------------- X-Signature


def test_sign_and_verify_document(key: Ed25519PrivateKey) -> None:
    header = sign_document(BODY, kid="k1", private_key=key)
    assert header.startswith("kid=k1;sig=")
    assert verify_document(BODY, header, trusted_keys=trusted(key)) == "k1"


@settings(max_examples=50)
@given(body=st.binary(max_size=500), kid=st.from_regex(r"[A-Za-z0-9._~-]{1,64}", fullmatch=True))
def test_sign_verify_round_trip_any_body_and_kid(body: bytes, kid: str) -> None:
    key = load_private_key(b"\x07" * 32)
    header = sign_document(body, kid=kid, private_key=key)
    assert parse_signature_header(header) == (kid, sign_bytes(body, private_key=key))
    assert verify_document(body, header, trusted_keys={kid: public_key_bytes(key)}) == kid


def test_header_parameters_in_any_order_with_spaces(key: Ed25519PrivateKey) -> None:
    header = sign_document(BODY, kid="k1", private_key=key)
    kid_part, sig_part = header.split(";")
    for variant in (
        f"{sig_part};{kid_part}",
        f" {kid_part} ; {sig_part} ",
        f"{kid_part}; {sig_part}",
    ):
        assert verify_document(BODY, variant, trusted_keys=trusted(key)) == "k1"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_signature(key: Ed25519PrivateKey, header: str | None) -> None:
    with pytest.raises(ContractError) as excinfo:
        verify_document(BODY, header, trusted_keys=trusted(key))
    assert excinfo.value.reason == "signature_missing"


def _malformed_headers(good_sig: str) -> list[str]:
    return [
        "k1",
        f"sig={good_sig}",  # no kid
        "kid=k1",  # no sig
        f"kid=k1;sig={good_sig};kid=k1",  # duplicate
        f"kid=k1;sig={good_sig};alg=Ed25519",  # unknown parameter
        f"kid=k1;sig={good_sig}==",  # padded
        f"kid=k1;sig={good_sig[:-2]}",  # too short
        f"kid=k1;sig={good_sig}AAAA",  # too long
        f"kid=k1;sig={good_sig.replace('-', '+').replace('_', '/')}x",  # wrong alphabet
        f"kid=;sig={good_sig}",  # empty kid
        f"kid=k 1;sig={good_sig}",  # bad kid
        f"kid=ک۱;sig={good_sig}",  # not ASCII
        f"kid=k1,sig={good_sig}",  # wrong separator
        "kid=k1;sig=" + "A" * 600,  # absurdly long
    ]


def test_malformed_signatures(key: Ed25519PrivateKey) -> None:
    good_sig = sign_document(BODY, kid="k1", private_key=key).split("sig=")[1]
    for header in _malformed_headers(good_sig):
        with pytest.raises(ContractError) as excinfo:
            verify_document(BODY, header, trusted_keys=trusted(key))
        assert excinfo.value.reason == "signature_malformed", header


def test_unknown_key(key: Ed25519PrivateKey) -> None:
    header = sign_document(BODY, kid="k2", private_key=key)
    with pytest.raises(ContractError) as excinfo:
        verify_document(BODY, header, trusted_keys=trusted(key, "k1"))
    assert excinfo.value.reason == "signature_unknown_key"


def test_wrong_key_under_a_trusted_kid(
    key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    header = sign_document(BODY, kid="k1", private_key=other_key)
    with pytest.raises(ContractError) as excinfo:
        verify_document(BODY, header, trusted_keys=trusted(key, "k1"))
    assert excinfo.value.reason == "signature_invalid"


def test_tampered_body(key: Ed25519PrivateKey) -> None:
    header = sign_document(BODY, kid="k1", private_key=key)
    for tampered in (BODY + b"\n", BODY[:-1], BODY.replace(b"rice", b"rica"), b""):
        with pytest.raises(ContractError) as excinfo:
            verify_document(tampered, header, trusted_keys=trusted(key))
        assert excinfo.value.reason == "signature_invalid"


@settings(max_examples=60)
@given(position=st.integers(min_value=0, max_value=63), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_signature_bit_is_refused(position: int, bit: int) -> None:
    key = load_private_key(b"\x05" * 32)
    signature = bytearray(sign_bytes(BODY, private_key=key))
    signature[position] ^= 1 << bit
    header = f"kid=k1;sig={b64url_encode(bytes(signature))}"
    with pytest.raises(ContractError) as excinfo:
        verify_document(BODY, header, trusted_keys=trusted(key))
    assert excinfo.value.reason == "signature_invalid"


def test_trusted_key_bytes_unusable(key: Ed25519PrivateKey) -> None:
    header = sign_document(BODY, kid="k1", private_key=key)
    with pytest.raises(ContractError) as excinfo:
        verify_document(BODY, header, trusted_keys={"k1": b"short"})
    assert excinfo.value.reason == "invalid_public_key"


@pytest.mark.parametrize("kid", ["", "k;1", "k=1", "k 1", "ک", "x" * 65])
def test_sign_document_refuses_bad_kid(key: Ed25519PrivateKey, kid: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        sign_document(BODY, kid=kid, private_key=key)
    assert excinfo.value.reason == "invalid_kid"


# --------------------------------------------------------------------------- trust


def test_extend_trusted_keys_adds_new_keys(
    key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    start = trusted(key, "k1")
    announced = [
        SigningKey(kid="k1", alg="Ed25519", public_key=public_key_bytes(key)),  # same: fine
        SigningKey(kid="k2", alg="Ed25519", public_key=public_key_bytes(other_key)),
    ]
    result = extend_trusted_keys(start, announced)
    assert result == {"k1": public_key_bytes(key), "k2": public_key_bytes(other_key)}
    assert start == {"k1": public_key_bytes(key)}  # the input is left alone
    # A document signed by the new key now verifies.
    header = sign_document(BODY, kid="k2", private_key=other_key)
    assert verify_document(BODY, header, trusted_keys=result) == "k2"


def test_extend_trusted_keys_ignores_other_algorithms(key: Ed25519PrivateKey) -> None:
    announced = [SigningKey(kid="p1", alg="ML-DSA-65", public_key=b"\x01" * 1952)]
    assert extend_trusted_keys(trusted(key), announced) == trusted(key)


def test_extend_trusted_keys_refuses_conflict(
    key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    start = trusted(key, "k1")
    announced = [SigningKey(kid="k1", alg="Ed25519", public_key=public_key_bytes(other_key))]
    with pytest.raises(ContractError) as excinfo:
        extend_trusted_keys(start, announced)
    assert excinfo.value.reason == "signing_key_conflict"
    assert start == trusted(key, "k1")


def test_extend_trusted_keys_refuses_conflict_within_announcement(
    key: Ed25519PrivateKey, other_key: Ed25519PrivateKey
) -> None:
    announced = [
        SigningKey(kid="k2", alg="Ed25519", public_key=public_key_bytes(key)),
        SigningKey(kid="k2", alg="Ed25519", public_key=public_key_bytes(other_key)),
    ]
    with pytest.raises(ContractError) as excinfo:
        extend_trusted_keys({}, announced)
    assert excinfo.value.reason == "signing_key_conflict"


def test_extend_trusted_keys_refuses_bad_key(key: Ed25519PrivateKey) -> None:
    with pytest.raises(ContractError) as excinfo:
        extend_trusted_keys({}, [SigningKey(kid="k2", alg="Ed25519", public_key=b"\x01" * 31)])
    assert excinfo.value.reason == "invalid_public_key"
    with pytest.raises(ContractError) as excinfo:
        extend_trusted_keys(
            {}, [SigningKey(kid="k;2", alg="Ed25519", public_key=public_key_bytes(key))]
        )
    assert excinfo.value.reason == "invalid_kid"


def test_keys_in_force_are_the_configured_ones_and_those_announced_now() -> None:
    k1, k2, k3 = (public_key_bytes(Ed25519PrivateKey.generate()) for _ in range(3))
    held = {"k1": k1, "k2": k2}
    now = keys_in_force({"k1": k1}, [SigningKey("k3", "Ed25519", k3)], held=held)
    assert now == {"k1": k1, "k3": k3}  # k2 is no longer announced: withdrawn
    assert held == {"k1": k1, "k2": k2}  # left as it was
    # A configured key stays trusted even when no rule set announces it.
    assert keys_in_force({"k1": k1}, []) == {"k1": k1}


def test_keys_in_force_refuse_new_bytes_behind_a_trusted_key_id() -> None:
    k1, k2, other = (public_key_bytes(Ed25519PrivateKey.generate()) for _ in range(3))
    with pytest.raises(ContractError) as caught:
        keys_in_force({"k1": k1}, [SigningKey("k2", "Ed25519", other)], held={"k1": k1, "k2": k2})
    assert caught.value.reason == "signing_key_conflict"
    with pytest.raises(ContractError) as caught:
        keys_in_force({"k1": k1}, [SigningKey("k1", "Ed25519", other)])
    assert caught.value.reason == "signing_key_conflict"
