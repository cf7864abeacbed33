"""The beneficiary QR tokens ``KB1.<payload>.<signature>`` and ``KB2...``: read, check, make.

As ``ledger-api.md`` defines it: both parts are unpadded base64url; ``payload``
is the JSON object ``{"v":1,"kid":"k1","nid":"<national id>","jti":"<token id>",
"iat":<unix>,"exp":<unix>,"off":<offline allowance, rial>}`` and ``signature``
is Ed25519 over the ASCII bytes ``KB1.<payload>`` by a rules signing key.

A KB2 token (``KB2.<payload>.<signature>``, signed the same way over
``KB2.<payload>``) carries the same members with ``"v":2`` plus ``purses``: the
signed snapshot of what the household may spend offline, each purse ``{"id",
"program", "off"}`` (an amount purse, Rials) or ``{"id", "program", "ent":
[{"group", "off_milli"}]}`` (a quantity purse), with ``city`` (null or text)
and ``exp`` (unix). The tag, the payload's ``v`` and the presence of
``purses`` must agree: a KB1 text saying ``v`` 2 or carrying purses, or a KB2
saying ``v`` 1, is malformed. A KB2 payload over :data:`MAX_PAYLOAD_BYTES` is
refused before it is read.

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
from typing import Any, TypeGuard

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
    "MAX_PAYLOAD_BYTES",
    "MAX_TOKEN_CHARS",
    "MAX_TOKEN_PURSES",
    "TOKEN_PREFIX",
    "TOKEN_PREFIXES",
    "TOKEN_VERSION",
    "TokenClaims",
    "TokenEntitlement",
    "TokenPurse",
    "check_token_time",
    "looks_like_token",
    "parse_token",
    "sign_token",
    "verify_token",
    "verify_token_signature",
]

TOKEN_PREFIX = "KB1"  # noqa: S105 - a format tag, not a secret
TOKEN_VERSION = 1
#: The tag of each token version.
TOKEN_PREFIXES: Mapping[int, str] = {1: "KB1", 2: "KB2"}
_VERSION_OF_PREFIX = {prefix: version for version, prefix in TOKEN_PREFIXES.items()}
#: Longest token text accepted (a real KB1 is about 250 characters, a KB2 with
#: four purses about 650).
MAX_TOKEN_CHARS = 2048
#: Largest decoded payload accepted (the contract keeps a KB2 payload under 600 bytes).
MAX_PAYLOAD_BYTES = 1024
#: Most purses a KB2 token may carry.
MAX_TOKEN_PURSES = 16
#: Most entitlement groups one quantity purse of a token may carry.
MAX_PURSE_ENTITLEMENTS = 16
#: Largest offline amount of a purse (Rials) or quantity (thousandths) accepted:
#: far above any programme limit, far below where arithmetic would overflow.
MAX_OFFLINE_RIAL = 10**15
_MAX_ID_CHARS = 64


def _is_id(value: object) -> TypeGuard[str]:
    """An id in a token (purse, programme, group, city): 1-64 printable characters, unpadded."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_ID_CHARS
        and value == value.strip()
        and value.isprintable()
    )


#: Longest token id (``jti``) accepted.
MAX_JTI_CHARS = 128
#: Unix times a token may carry: 1970-01-01 up to 9999-12-31T23:59:59Z.
_MAX_UNIX = 253_402_300_799
#: A token id: printable ASCII without spaces.
_JTI = re.compile(rf"[!-~]{{1,{MAX_JTI_CHARS}}}")
_NID = re.compile(r"[0-9]{10}")
_REQUIRED = ("v", "kid", "nid", "jti", "iat", "exp", "off")


@dataclass(frozen=True, slots=True)
class TokenEntitlement:
    """One entitlement group of a quantity purse in a KB2 token: what it may take offline."""

    group: str
    off_milli: int


@dataclass(frozen=True, slots=True)
class TokenPurse:
    """One purse of a KB2 token's snapshot.

    An amount purse has ``off_rial`` (what it may pay offline) and no
    entitlements; a quantity purse has ``entitlements`` and ``off_rial`` None.
    """

    id: str
    program: str
    expires_at: datetime
    city: str | None = None
    off_rial: int | None = None
    entitlements: tuple[TokenEntitlement, ...] = ()

    @property
    def is_quantity(self) -> bool:
        return self.off_rial is None


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a KB1 or KB2 token says. Times are timezone-aware (UTC), whole seconds.

    ``purses`` is the KB2 snapshot (empty for KB1).
    """

    v: int
    kid: str
    national_id: str = field(repr=False)  # never shown: see mask_national_id
    jti: str
    issued_at: datetime
    expires_at: datetime
    offline_allowance_rial: int
    purses: tuple[TokenPurse, ...] = ()


def looks_like_token(text: str) -> bool:
    """Whether ``text`` is meant as a token (``KB1.`` or ``KB2.``); says nothing of validity."""
    return isinstance(text, str) and any(text.startswith(p + ".") for p in TOKEN_PREFIXES.values())


def _malformed(what: str) -> TokenError:
    return TokenError("token_malformed", f"the token is malformed: {what}")


def _split(text: object) -> tuple[str, str, bytes, int]:
    """``(signed part, payload part, signature bytes, version)`` of a token's text."""
    if not isinstance(text, str):
        raise _malformed("not text")
    if len(text) > MAX_TOKEN_CHARS:
        raise _malformed("too long")
    if not text.isascii():
        raise _malformed("not ASCII")
    parts = text.split(".")
    if len(parts) != 3 or parts[0] not in _VERSION_OF_PREFIX:
        raise _malformed("not KB1.<payload>.<signature> nor KB2.<payload>.<signature>")
    prefix, payload_part, signature_part = parts
    if not payload_part or not signature_part:
        raise _malformed("an empty part")
    try:
        signature = b64url_decode(signature_part)
    except ContractError:
        raise _malformed("the signature is not base64url") from None
    if len(signature) != SIGNATURE_BYTES:
        raise _malformed("the signature is not 64 bytes")
    return f"{prefix}.{payload_part}", payload_part, signature, _VERSION_OF_PREFIX[prefix]


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


def _unix_time(value: object, what: str) -> datetime:
    if type(value) is not int:
        raise _malformed(f"{what} is not an integer")
    if not 0 <= value <= _MAX_UNIX:
        raise _malformed(f"{what} is out of range")
    return datetime.fromtimestamp(value, tz=UTC)


def _offline_amount(value: object, what: str) -> int:
    if type(value) is not int:
        raise _malformed(f"{what} is not an integer")
    if not 0 <= value <= MAX_OFFLINE_RIAL:
        raise _malformed(f"{what} is negative or too large")
    return value


def _entitlements(value: object, where: str) -> tuple[TokenEntitlement, ...]:
    if not isinstance(value, list) or not value:
        raise _malformed(f"{where} ent is not a list of groups")
    if len(value) > MAX_PURSE_ENTITLEMENTS:
        raise _malformed(f"{where} has too many groups")
    result: list[TokenEntitlement] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, dict):
            raise _malformed(f"{where} has a group that is not an object")
        group = item.get("group")
        if not _is_id(group):
            raise _malformed(f"{where} has a group without a valid name")
        if group in seen:
            raise _malformed(f"{where} names a group twice")
        seen.add(group)
        if "off_milli" not in item:
            raise _malformed(f"{where} has a group without off_milli")
        off = _offline_amount(item["off_milli"], f"{where} off_milli")
        result.append(TokenEntitlement(group=group, off_milli=off))
    return tuple(result)


def _purse(value: object, index: int) -> TokenPurse:
    where = f"purse {index + 1}"
    if not isinstance(value, dict):
        raise _malformed(f"{where} is not an object")
    purse_id = value.get("id")
    if not _is_id(purse_id):
        raise _malformed(f"{where} has no valid id")
    program = value.get("program")
    if not _is_id(program):
        raise _malformed(f"{where} has no valid program")
    if "exp" not in value:
        raise _malformed(f"{where} has no exp")
    expires_at = _unix_time(value["exp"], f"{where} exp")
    city = value.get("city")
    if city == "":
        city = None
    if city is not None and not _is_id(city):
        raise _malformed(f"{where} city is not null nor a city")
    has_off, has_ent = "off" in value, "ent" in value
    if has_off == has_ent:
        raise _malformed(f"{where} must carry exactly one of off and ent")
    if has_off:
        return TokenPurse(
            id=purse_id,
            program=program,
            expires_at=expires_at,
            city=city,
            off_rial=_offline_amount(value["off"], f"{where} off"),
        )
    return TokenPurse(
        id=purse_id,
        program=program,
        expires_at=expires_at,
        city=city,
        entitlements=_entitlements(value["ent"], where),
    )


def _purses(value: object) -> tuple[TokenPurse, ...]:
    if not isinstance(value, list):
        raise _malformed("purses is not a list")
    if len(value) > MAX_TOKEN_PURSES:
        raise _malformed("too many purses")
    purses = tuple(_purse(item, index) for index, item in enumerate(value))
    ids = [purse.id for purse in purses]
    if len(set(ids)) != len(ids):
        raise _malformed("a purse id appears twice")
    return purses


def _claims_from_payload(payload_part: str, version: int) -> TokenClaims:
    if version != TOKEN_VERSION and len(payload_part) > (MAX_PAYLOAD_BYTES * 4 + 2) // 3:
        raise _malformed("the payload is too large")
    try:
        raw = b64url_decode(payload_part)
    except ContractError:
        raise _malformed("the payload is not base64url") from None
    if version != TOKEN_VERSION and len(raw) > MAX_PAYLOAD_BYTES:
        raise _malformed("the payload is too large")
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

    said = _strict_int(payload, "v", low=1, high=max(TOKEN_PREFIXES))
    if said != version:
        raise _malformed(f"a {TOKEN_PREFIXES[version]} token whose payload says v={said}")
    if version == TOKEN_VERSION and "purses" in payload:
        raise _malformed("a KB1 token carries purses")
    if version != TOKEN_VERSION and "purses" not in payload:
        raise _malformed("missing purses")
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
    purses = _purses(payload["purses"]) if version != TOKEN_VERSION else ()
    return TokenClaims(
        v=version,
        kid=kid,
        national_id=national_id,
        jti=jti,
        issued_at=datetime.fromtimestamp(iat, tz=UTC),
        expires_at=datetime.fromtimestamp(exp, tz=UTC),
        offline_allowance_rial=off,
        purses=purses,
    )


def parse_token(text: str) -> TokenClaims:
    """The claims of a token whose shape and payload are right; the signature is NOT checked.

    Raises ``TokenError("token_malformed")``. Use :func:`verify_token` before
    trusting anything a token says.
    """
    _, payload_part, _, version = _split(text)
    return _claims_from_payload(payload_part, version)


def verify_token_signature(text: str, *, keys: Mapping[str, bytes]) -> TokenClaims:
    """The claims of a well-formed token signed by one of ``keys``; its time is NOT checked.

    What a lane checks online, where the ledger is the judge of a token's time
    (see :func:`check_token_time`). ``keys`` maps key ids to raw 32-byte Ed25519
    public keys (the trusted rules signing keys). Checks, in order: shape and
    payload (``token_malformed``), the key id (``token_unknown_key``), the
    signature (``token_invalid``).
    """
    signed, payload_part, signature, version = _split(text)
    claims = _claims_from_payload(payload_part, version)
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


def _purse_json(purse: TokenPurse) -> dict[str, Any]:
    item: dict[str, Any] = {"id": purse.id, "program": purse.program}
    if purse.off_rial is not None:
        if purse.entitlements:
            raise _malformed(f"purse {purse.id} has both off and entitlements")
        item["off"] = purse.off_rial
    else:
        item["ent"] = [{"group": e.group, "off_milli": e.off_milli} for e in purse.entitlements]
    if purse.city is not None:  # absent is null: a shorter payload, a smaller QR code
        item["city"] = purse.city
    item["exp"] = _unix(purse.expires_at, "a purse's expires_at")
    return item


def sign_token(claims: TokenClaims, *, private_key: Ed25519PrivateKey) -> str:
    """The token text for ``claims`` signed by ``private_key`` (for the sandbox and tests).

    The payload is compact JSON with the keys in the contract's order; a KB2
    token when ``claims.v`` is 2 (with its purses, at least one), else KB1. Claims that
    :func:`parse_token` would refuse raise ``TokenError("token_malformed")``.
    """
    prefix = TOKEN_PREFIXES.get(claims.v)
    if prefix is None:
        raise _malformed("v is not a token version")
    if claims.v == TOKEN_VERSION and claims.purses:
        raise _malformed("a KB1 token cannot carry purses")
    if claims.v != TOKEN_VERSION and not claims.purses:
        # Readers take a KB2 without purses (nothing to spend offline); a writer
        # with nothing to snapshot issues a KB1.
        raise _malformed("a KB2 token carries at least one purse")
    payload: dict[str, Any] = {
        "v": claims.v,
        "kid": claims.kid,
        "nid": claims.national_id,
        "jti": claims.jti,
        "iat": _unix(claims.issued_at, "issued_at"),
        "exp": _unix(claims.expires_at, "expires_at"),
        "off": claims.offline_allowance_rial,
    }
    if claims.v != TOKEN_VERSION:
        payload["purses"] = [_purse_json(purse) for purse in claims.purses]
    try:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise _malformed("claims cannot be written as JSON") from None
    signed = f"{prefix}.{b64url_encode(body.encode('utf-8'))}"
    text = f"{signed}.{b64url_encode(sign_bytes(signed.encode('ascii'), private_key=private_key))}"
    parse_token(text)  # the same checks a reader makes: never issue what is refused
    return text
