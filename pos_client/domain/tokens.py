"""The beneficiary QR token ``KB1.<payload>.<signature>``: reading, checking, making.

As ``ledger-api.md`` defines it: both parts are unpadded base64url; ``payload``
is the JSON object ``{"v":1,"kid":"k1","nid":"<national id>","jti":"<token id>",
"iat":<unix>,"exp":<unix>,"off":<offline allowance, rial>}`` and ``signature``
is Ed25519 over the ASCII bytes ``KB1.<payload>`` by a rules signing key.

Every refusal is a :class:`~pos_client.domain.errors.TokenError` whose
``reason`` is one of ``token_malformed``, ``token_unknown_key``,
``token_invalid`` (the signature does not match), ``token_expired`` and
``token_not_yet_valid``. Messages never hold the token or the national ID, and
neither does the ``repr`` of :class:`TokenClaims` (its national ID is left out).

Pure: imports the standard library, ``cryptography`` (through
:mod:`pos_client.domain.signing`) and the domain only; "now" is passed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pos_client.domain.errors import ContractError, InvalidNationalId, TokenError
from pos_client.domain.national_id import normalize_national_id
from pos_client.domain.signing import (
    SIGNATURE_BYTES,
    b64url_decode,
    b64url_encode,
    is_valid_kid,
    sign_bytes,
    verify_bytes,
)

__all__ = [
    "MAX_TOKEN_CHARS",
    "TOKEN_PREFIX",
    "TOKEN_VERSION",
    "TokenClaims",
    "check_token_time",
    "looks_like_token",
    "parse_token",
    "sign_token",
    "verify_token",
    "verify_token_signature",
]

TOKEN_PREFIX = "KB1"  # noqa: S105 - a format tag, not a secret
TOKEN_VERSION = 1
#: Longest token text accepted (a real one is about 250 characters).
MAX_TOKEN_CHARS = 2048
#: Longest token id (``jti``) accepted.
MAX_JTI_CHARS = 128
#: Unix times a token may carry: 1970-01-01 up to 9999-12-31T23:59:59Z.
_MAX_UNIX = 253_402_300_799
#: A token id: printable ASCII without spaces.
_JTI = re.compile(rf"[!-~]{{1,{MAX_JTI_CHARS}}}")
_NID = re.compile(r"[0-9]{10}")
_REQUIRED = ("v", "kid", "nid", "jti", "iat", "exp", "off")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a KB1 token says. Times are timezone-aware (UTC), whole seconds."""

    v: int
    kid: str
    national_id: str = field(repr=False)  # never shown: see mask_national_id
    jti: str
    issued_at: datetime
    expires_at: datetime
    offline_allowance_rial: int


def looks_like_token(text: str) -> bool:
    """Whether ``text`` is meant as a KB1 token (starts ``KB1.``); says nothing of validity."""
    return isinstance(text, str) and text.startswith(TOKEN_PREFIX + ".")


def _malformed(what: str) -> TokenError:
    return TokenError("token_malformed", f"the token is malformed: {what}")


def _split(text: object) -> tuple[str, str, bytes]:
    """``(signed part, payload part, signature bytes)`` of a token's text."""
    if not isinstance(text, str):
        raise _malformed("not text")
    if len(text) > MAX_TOKEN_CHARS:
        raise _malformed("too long")
    if not text.isascii():
        raise _malformed("not ASCII")
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise _malformed(f"not {TOKEN_PREFIX}.<payload>.<signature>")
    _, payload_part, signature_part = parts
    if not payload_part or not signature_part:
        raise _malformed("an empty part")
    try:
        signature = b64url_decode(signature_part)
    except ContractError:
        raise _malformed("the signature is not base64url") from None
    if len(signature) != SIGNATURE_BYTES:
        raise _malformed("the signature is not 64 bytes")
    return f"{TOKEN_PREFIX}.{payload_part}", payload_part, signature


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _strict_int(payload: Mapping[str, Any], key: str, *, low: int, high: int) -> int:
    value = payload[key]
    if type(value) is not int:
        raise _malformed(f"{key} is not an integer")
    if not low <= value <= high:
        raise _malformed(f"{key} is out of range")
    return value


def _claims_from_payload(payload_part: str) -> TokenClaims:
    try:
        raw = b64url_decode(payload_part)
    except ContractError:
        raise _malformed("the payload is not base64url") from None
    try:
        payload = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_unique_object,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _malformed("the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise _malformed("the payload is not a JSON object")
    missing = [key for key in _REQUIRED if key not in payload]
    if missing:
        raise _malformed("missing " + ", ".join(missing))

    version = _strict_int(payload, "v", low=TOKEN_VERSION, high=TOKEN_VERSION)
    kid = payload["kid"]
    if not is_valid_kid(kid):
        raise _malformed("kid is not a key id")
    jti = payload["jti"]
    if not isinstance(jti, str) or _JTI.fullmatch(jti) is None:
        raise _malformed("jti is not a token id")
    nid = payload["nid"]
    if not isinstance(nid, str) or _NID.fullmatch(nid) is None:
        raise _malformed("nid is not 10 ASCII digits")
    try:
        national_id = normalize_national_id(nid)
    except InvalidNationalId as exc:
        raise _malformed(f"nid is not a valid national ID ({exc.reason})") from None
    iat = _strict_int(payload, "iat", low=0, high=_MAX_UNIX)
    exp = _strict_int(payload, "exp", low=0, high=_MAX_UNIX)
    if exp <= iat:
        raise _malformed("exp is not after iat")
    off = _strict_int(payload, "off", low=0, high=2**63 - 1)
    return TokenClaims(
        v=version,
        kid=kid,
        national_id=national_id,
        jti=jti,
        issued_at=datetime.fromtimestamp(iat, tz=UTC),
        expires_at=datetime.fromtimestamp(exp, tz=UTC),
        offline_allowance_rial=off,
    )


def parse_token(text: str) -> TokenClaims:
    """The claims of a token whose shape and payload are right; the signature is NOT checked.

    Raises ``TokenError("token_malformed")``. Use :func:`verify_token` before
    trusting anything a token says.
    """
    _, payload_part, _ = _split(text)
    return _claims_from_payload(payload_part)


def verify_token_signature(text: str, *, keys: Mapping[str, bytes]) -> TokenClaims:
    """The claims of a well-formed token signed by one of ``keys``; its time is NOT checked.

    What a lane checks online, where the ledger is the judge of a token's time
    (see :func:`check_token_time`). ``keys`` maps key ids to raw 32-byte Ed25519
    public keys (the trusted rules signing keys). Checks, in order: shape and
    payload (``token_malformed``), the key id (``token_unknown_key``), the
    signature (``token_invalid``).
    """
    signed, payload_part, signature = _split(text)
    claims = _claims_from_payload(payload_part)
    public_key = keys.get(claims.kid)
    if public_key is None:
        raise TokenError("token_unknown_key", "the token is signed by a key this terminal lacks")
    try:
        valid = verify_bytes(signed.encode("ascii"), signature, public_key=public_key)
    except ContractError:
        valid = False
    if not valid:
        raise TokenError("token_invalid", "the token's signature does not match")
    return claims


def check_token_time(claims: TokenClaims, *, now: datetime, leeway_seconds: int = 60) -> None:
    """Refuse a token outside its time window at ``now``, with ``leeway_seconds`` either way.

    Expired when ``now >= exp + leeway`` (``token_expired``), not yet valid when
    ``iat > now + leeway`` (``token_not_yet_valid``). ``now`` must be
    timezone-aware and the judge's time (the ledger's, or the lane's corrected by
    its measured offset).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if leeway_seconds < 0:
        raise ValueError("leeway_seconds must not be negative")
    leeway = timedelta(seconds=leeway_seconds)
    if now >= claims.expires_at + leeway:
        raise TokenError("token_expired", "the token has expired")
    if claims.issued_at > now + leeway:
        raise TokenError("token_not_yet_valid", "the token is not valid yet")


def verify_token(
    text: str,
    *,
    keys: Mapping[str, bytes],
    now: datetime,
    leeway_seconds: int = 60,
) -> TokenClaims:
    """The claims of a well-formed token signed by one of ``keys``, valid at ``now``.

    :func:`verify_token_signature`, then :func:`check_token_time` (the time
    last). ``now`` must be timezone-aware.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if leeway_seconds < 0:
        raise ValueError("leeway_seconds must not be negative")
    claims = verify_token_signature(text, keys=keys)
    check_token_time(claims, now=now, leeway_seconds=leeway_seconds)
    return claims


def _unix(moment: datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _malformed(f"{name} is not timezone-aware")
    if moment.microsecond:
        raise _malformed(f"{name} is not a whole second")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400 + delta.seconds


def sign_token(claims: TokenClaims, *, private_key: Ed25519PrivateKey) -> str:
    """The token text for ``claims`` signed by ``private_key`` (for the sandbox and tests).

    The payload is compact JSON with the keys in the contract's order. Claims
    that :func:`parse_token` would refuse raise ``TokenError("token_malformed")``.
    """
    payload = {
        "v": claims.v,
        "kid": claims.kid,
        "nid": claims.national_id,
        "jti": claims.jti,
        "iat": _unix(claims.issued_at, "issued_at"),
        "exp": _unix(claims.expires_at, "expires_at"),
        "off": claims.offline_allowance_rial,
    }
    try:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise _malformed("claims cannot be written as JSON") from None
    signed = f"{TOKEN_PREFIX}.{b64url_encode(body.encode('utf-8'))}"
    text = f"{signed}.{b64url_encode(sign_bytes(signed.encode('ascii'), private_key=private_key))}"
    parse_token(text)  # the same checks a reader makes: never issue what is refused
    return text
