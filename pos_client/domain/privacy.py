"""What the lane keeps of a household: a keyed hash, never the ID; no identity once a sale is final.

- :func:`household_key`: the lane's own key for a household (its offline
  totals per day, its cached wallet). HMAC-SHA256 under the lane's secret of
  the ID's SHA-256 (:func:`~pos_client.domain.national_id.national_id_hash`,
  the form the rules' ``hot_list`` uses). Without the secret, a key cannot be
  turned back into an ID by trying the 10^9 valid IDs, as a bare SHA-256 can.
  Keyed on the SHA-256 rather than on the ID itself so that a store holding
  the bare hashes of an older version is re-keyed exactly, without the IDs
  (:func:`rekey`).
- :func:`scrub_identity`: a redemption body with the household's identity
  (``beneficiary``'s national ID, QR token or purchase code) and the
  verification code replaced by :data:`REMOVED`. Only for a body that will
  never be sent again: the ledger compares a resent body byte for byte.

Pure: imports the standard library and the domain only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from pos_client.domain.national_id import national_id_hash

__all__ = ["REMOVED", "SECRET_BYTES", "household_key", "rekey", "scrub_identity"]

#: What stands in a scrubbed body where the identity was.
REMOVED = "removed"
#: The length of a lane's secret.
SECRET_BYTES = 32

#: The members of ``beneficiary`` that name a household.
_IDENTITY_MEMBERS = ("national_id", "token", "purchase_code")


def rekey(plain_hash: str, secret: bytes) -> str:
    """The lane's key for the household whose national ID has the SHA-256 ``plain_hash``."""
    if len(secret) < 16:
        raise ValueError("a lane's secret is at least 16 bytes")
    return hmac.new(secret, plain_hash.encode("ascii"), hashlib.sha256).hexdigest()


def household_key(national_id: str, secret: bytes) -> str:
    """The lane's key for the household of ``national_id`` (10 ASCII digits)."""
    return rekey(national_id_hash(national_id), secret)


def scrub_identity(body: bytes) -> bytes:
    """``body`` without the household's identity and verification code (see the module docstring).

    A body as the lane writes them (compact JSON, the identity a plain string)
    has its values replaced in place, every other byte kept; any other JSON
    object is read and written again. A body that is not a JSON object, or
    holds neither, comes back as it is.
    """
    fast, named = _BENEFICIARY.subn(_removed_beneficiary, body, count=1)
    fast, coded = _OTP_CODE.subn(_removed_code, fast, count=1)
    if (named or coded) and not _LEFT.search(fast):
        return fast
    return _scrub_document(body)


# The identity and the code as ``redemption_body`` writes them (no escapes inside).
_BENEFICIARY = re.compile(rb'"beneficiary":\{"(national_id|token|purchase_code)":"[^"\\]*"\}')
_OTP_CODE = re.compile(rb'("otp":\{"challenge_id":"[^"\\]*","code":)"[^"\\]*"\}')
# What would still name a household after the fast path: then the slow one decides.
_LEFT = re.compile(rb'"(national_id|token|purchase_code|code)":"(?!' + REMOVED.encode() + rb'")')


def _removed_beneficiary(match: re.Match[bytes]) -> bytes:
    return b'"beneficiary":{"' + match.group(1) + b'":"' + REMOVED.encode() + b'"}'


def _removed_code(match: re.Match[bytes]) -> bytes:
    return match.group(1) + b'"' + REMOVED.encode() + b'"}'


def _scrub_document(body: bytes) -> bytes:
    try:
        document: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    if not isinstance(document, dict):
        return body
    changed = False
    beneficiary = document.get("beneficiary")
    if isinstance(beneficiary, dict):
        for member in _IDENTITY_MEMBERS:
            if member in beneficiary and beneficiary[member] != REMOVED:
                beneficiary[member] = REMOVED
                changed = True
    otp = document.get("otp")
    if isinstance(otp, dict) and "code" in otp and otp["code"] != REMOVED:
        otp["code"] = REMOVED
        changed = True
    if not changed:
        return body
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
