"""The sandbox ledger's Ed25519 signing key: made on the first start, kept in DATA.

The key signs the rule set, the catalog and the KB1 tokens the sandbox mints.
It lives in ``DATA/signing-key.pem`` (PKCS#8, mode 0600); its key id is derived
from the public key (``sbx-`` and 8 hex digits), so two sandboxes never hand
out the same ``kid`` for different keys.

Imports the standard library, ``cryptography`` and the pure domain only.
"""

from __future__ import annotations

import hashlib
import mmap
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from pos_client.domain.signing import (
    ED25519_ALG,
    b64url_encode,
    public_key_bytes,
    sign_document,
)
from pos_client.errors import ConfigError

from .files import write_private

KEY_FILE = "signing-key.pem"


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    kid: str
    private_key: Ed25519PrivateKey
    public_key: bytes  # raw 32 bytes

    @property
    def public_key_b64(self) -> str:
        return b64url_encode(self.public_key)

    def trusted_keys(self) -> dict[str, bytes]:
        return {self.kid: self.public_key}

    def wire(self) -> dict[str, str]:
        return {"kid": self.kid, "alg": ED25519_ALG, "public_key": self.public_key_b64}

    def sign(self, body: bytes) -> str:
        """The ``X-Signature`` header value for exactly ``body``."""
        return sign_document(body, kid=self.kid, private_key=self.private_key)

    def sign_file(self, path: Path) -> str:
        """The ``X-Signature`` header value for the bytes of ``path``.

        Signs the file through a read-only memory map, so a catalog of a million
        products is not copied into memory; the header has the same form as
        :func:`pos_client.domain.signing.sign_document` makes.
        """
        if path.stat().st_size == 0:
            return self.sign(b"")
        with (
            path.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm,
        ):
            signature = self.private_key.sign(mm)  # type: ignore[arg-type]
        return f"kid={self.kid};sig={b64url_encode(signature)}"


def _identity(private_key: Ed25519PrivateKey) -> SigningIdentity:
    public = public_key_bytes(private_key)
    kid = "sbx-" + hashlib.sha256(public).hexdigest()[:8]
    return SigningIdentity(kid=kid, private_key=private_key, public_key=public)


def load_or_create(data_dir: Path) -> SigningIdentity:
    """The signing key of ``data_dir``, made (and saved 0600) if there is none yet."""
    path = data_dir / KEY_FILE
    if path.exists():
        try:
            key = load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{path} is not a readable signing key", key=KEY_FILE) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path} is not an Ed25519 key", key=KEY_FILE)
        return _identity(key)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    write_private(path, pem)
    return _identity(key)
