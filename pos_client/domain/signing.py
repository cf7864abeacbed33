"""Ed25519 signatures over exact bytes, base64url, and which signing keys are trusted.

Signed documents from the ledger (the rule set, the catalog) carry the header
``X-Signature: kid=<kid>;sig=<base64url>``: an Ed25519 signature over the exact
body bytes by a key the terminal already trusts. This module makes and checks
that header value, encodes and decodes unpadded base64url, and decides which
keys a verified rule set may add to the trusted ones.

Every failure is a :class:`~pos_client.domain.errors.ContractError` whose
``reason`` is a stable word:

- ``malformed``: text that is not canonical unpadded base64url;
- ``signature_missing``, ``signature_malformed``, ``signature_unknown_key``,
  ``signature_invalid``: a document signature that is absent, unreadable, by a
  key not trusted, or wrong;
- ``invalid_public_key``, ``invalid_private_key``, ``invalid_kid``: key material
  or a key id that cannot be used;
- ``signing_key_conflict``: an announced key id already trusted with other bytes.

Which keys are trusted: those of the terminal's configuration, always, plus the
``signing_keys`` of the newest verified rule set, and no others
(:func:`keys_in_force`). A key the ledger stops announcing is withdrawn: a
rule set, catalog or QR token signed by it is refused from then on.

Pure: imports the standard library, ``cryptography`` and the domain's own
errors and models only; no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from pos_client.domain.errors import ContractError
from pos_client.domain.models import SigningKey

__all__ = [
    "ED25519_ALG",
    "KID_PATTERN",
    "PUBLIC_KEY_BYTES",
    "SIGNATURE_BYTES",
    "b64url_decode",
    "b64url_encode",
    "extend_trusted_keys",
    "is_valid_kid",
    "keys_in_force",
    "load_private_key",
    "load_public_key",
    "parse_signature_header",
    "private_key_bytes",
    "public_key_bytes",
    "sign_bytes",
    "sign_document",
    "verify_bytes",
    "verify_document",
]

ED25519_ALG = "Ed25519"
PUBLIC_KEY_BYTES = 32
PRIVATE_KEY_BYTES = 32
SIGNATURE_BYTES = 64

#: A key id: 1 to 64 characters of letters, digits and ``. _ ~ -`` (nothing that
#: could break the header's ``;`` and ``=`` syntax).
KID_PATTERN = re.compile(r"[A-Za-z0-9._~-]{1,64}")

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_MAX_HEADER_CHARS = 512


# --------------------------------------------------------------------------- base64url


def b64url_encode(data: bytes) -> str:
    """``data`` as base64url (RFC 4648 §5) without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, strictly.

    Refuses (``ContractError("malformed")``) padding, whitespace, characters
    outside the URL-safe alphabet, impossible lengths and non-canonical
    encodings (stray bits in the last character), so that one byte string has
    exactly one text form. The offending text is never put into the message.
    """
    if not isinstance(text, str) or not text.isascii() or _B64URL.fullmatch(text) is None:
        raise ContractError("malformed", "not base64url text")
    if len(text) % 4 == 1:
        raise ContractError("malformed", "base64url text of an impossible length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ContractError("malformed", "not base64url text") from None
    if b64url_encode(data) != text:
        raise ContractError("malformed", "base64url text is not canonical")
    return data


# --------------------------------------------------------------------------- keys


def is_valid_kid(kid: object) -> bool:
    """Whether ``kid`` is a usable key id (see :data:`KID_PATTERN`)."""
    return isinstance(kid, str) and KID_PATTERN.fullmatch(kid) is not None


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The raw 32 bytes of the public half of ``private_key``."""
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def private_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte seed of ``private_key`` (keep it secret)."""
    return private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from its raw 32 bytes (``ContractError("invalid_public_key")``)."""
    if not isinstance(raw, bytes | bytearray) or len(raw) != PUBLIC_KEY_BYTES:
        raise ContractError("invalid_public_key", "an Ed25519 public key is 32 bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(bytes(raw))
    except (ValueError, TypeError):
        raise ContractError("invalid_public_key", "not an Ed25519 public key") from None


def load_private_key(raw: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from its raw 32-byte seed.

    Unusable bytes raise ``ContractError("invalid_private_key")``.
    """
    if not isinstance(raw, bytes | bytearray) or len(raw) != PRIVATE_KEY_BYTES:
        raise ContractError("invalid_private_key", "an Ed25519 private key is 32 bytes")
    try:
        return Ed25519PrivateKey.from_private_bytes(bytes(raw))
    except (ValueError, TypeError):
        raise ContractError("invalid_private_key", "not an Ed25519 private key") from None


# --------------------------------------------------------------------------- raw signatures


def sign_bytes(data: bytes, *, private_key: Ed25519PrivateKey) -> bytes:
    """The 64-byte Ed25519 signature of exactly ``data``."""
    return private_key.sign(bytes(data))


def verify_bytes(data: bytes, signature: bytes, *, public_key: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``data`` by ``public_key``.

    ``public_key`` is the raw 32 bytes; unusable key bytes raise
    ``ContractError("invalid_public_key")``. A signature of the wrong length is
    simply not valid.
    """
    key = load_public_key(public_key)
    if len(signature) != SIGNATURE_BYTES:
        return False
    try:
        key.verify(bytes(signature), bytes(data))
    except InvalidSignature:
        return False
    return True


# --------------------------------------------------------------------------- X-Signature


def sign_document(body: bytes, *, kid: str, private_key: Ed25519PrivateKey) -> str:
    """The ``X-Signature`` header value for ``body``: ``kid=<kid>;sig=<base64url>``."""
    if not is_valid_kid(kid):
        raise ContractError("invalid_kid", "a key id is 1-64 letters, digits or . _ ~ -")
    signature = sign_bytes(body, private_key=private_key)
    return f"kid={kid};sig={b64url_encode(signature)}"


def parse_signature_header(header: str | None) -> tuple[str, bytes]:
    """Split an ``X-Signature`` value into ``(kid, signature bytes)``.

    Parameters are ``kid`` and ``sig``, each exactly once, in any order,
    separated by ``;`` with optional spaces around them. Raises
    ``ContractError`` with ``signature_missing`` or ``signature_malformed``.
    """
    if header is None or not isinstance(header, str) or not header.strip():
        raise ContractError("signature_missing", "the document carries no signature")
    if len(header) > _MAX_HEADER_CHARS or not header.isascii():
        raise ContractError("signature_malformed", "the signature header cannot be read")
    params: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        name = name.strip().lower()
        value = value.strip()
        if not sep or name not in ("kid", "sig") or name in params:
            raise ContractError("signature_malformed", "the signature header cannot be read")
        params[name] = value
    if set(params) != {"kid", "sig"}:
        raise ContractError("signature_malformed", "the signature header needs kid and sig")
    kid = params["kid"]
    if not is_valid_kid(kid):
        raise ContractError("signature_malformed", "the signature's key id cannot be read")
    try:
        signature = b64url_decode(params["sig"])
    except ContractError:
        raise ContractError("signature_malformed", "the signature is not base64url") from None
    if len(signature) != SIGNATURE_BYTES:
        raise ContractError("signature_malformed", "an Ed25519 signature is 64 bytes")
    return kid, signature


def verify_document(body: bytes, header: str | None, *, trusted_keys: Mapping[str, bytes]) -> str:
    """Check the ``X-Signature`` of ``body`` against the trusted keys; return its kid.

    ``trusted_keys`` maps key ids to raw 32-byte Ed25519 public keys. Raises
    ``ContractError`` with reason ``signature_missing``, ``signature_malformed``,
    ``signature_unknown_key`` or ``signature_invalid``.
    """
    kid, signature = parse_signature_header(header)
    raw = trusted_keys.get(kid)
    if raw is None:
        raise ContractError("signature_unknown_key", f"no trusted signing key {kid!r}")
    if not verify_bytes(body, signature, public_key=raw):
        raise ContractError("signature_invalid", "the document's signature does not match")
    return kid


# --------------------------------------------------------------------------- trust


def extend_trusted_keys(
    trusted: Mapping[str, bytes], announced: Sequence[SigningKey]
) -> dict[str, bytes]:
    """The trusted keys plus those a *verified* rule set announces.

    Only call this with the ``signing_keys`` of a rule set whose signature was
    checked against ``trusted``. Keys of another algorithm than Ed25519 are
    left out (the terminal cannot use them). An announced Ed25519 key must have
    a usable key id and 32 bytes (``ContractError("invalid_kid")`` /
    ``("invalid_public_key")``); a key id already trusted with different bytes
    is refused with ``ContractError("signing_key_conflict")`` so that a rule set
    can never replace a key the terminal holds. Nothing is ever removed. The
    result is a new dict; ``trusted`` is left as it was.
    """
    result = dict(trusted)
    for key in announced:
        if key.alg != ED25519_ALG:
            continue
        if not is_valid_kid(key.kid):
            raise ContractError("invalid_kid", "an announced signing key has an unusable id")
        load_public_key(key.public_key)
        known = result.get(key.kid)
        if known is not None and bytes(known) != bytes(key.public_key):
            raise ContractError(
                "signing_key_conflict",
                f"signing key {key.kid!r} is already trusted with other bytes",
            )
        result[key.kid] = bytes(key.public_key)
    return result


def keys_in_force(
    configured: Mapping[str, bytes],
    announced: Sequence[SigningKey],
    *,
    held: Mapping[str, bytes] | None = None,
) -> dict[str, bytes]:
    """The keys to trust once a *verified* rule set announcing ``announced`` is in force.

    Exactly the ``configured`` keys plus the usable Ed25519 keys announced: a
    key trusted before (in ``held``) that the new rule set no longer announces
    is withdrawn. An announced key id that ``held`` (the keys trusted so far)
    or ``configured`` already has with other bytes is refused with
    ``ContractError("signing_key_conflict")``, as :func:`extend_trusted_keys`
    does, so that a rule set cannot swap the bytes behind a trusted key id.
    """
    if held is not None:
        extend_trusted_keys(held, announced)
    return extend_trusted_keys(configured, announced)
