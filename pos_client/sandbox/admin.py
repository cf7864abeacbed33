"""Sandbox-only conveniences behind ``/sandbox/`` (not part of the contract).

What a real ledger does out of band, done here on request so that people and
tests can play every part: mint a KB1 token or a purchase code for a
household (the household's phone app does that), read the code of an OTP
challenge (the real ledger texts it), put a household on the hot list or take
it off, publish a new catalog version, and move the sandbox clock.

Imports the standard library, the pure domain and the sandbox's modules.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from pos_client.domain.tokens import TokenClaims, sign_token

from .books import PurchaseCodeRow
from .clock import to_rfc3339
from .parts import SandboxParts
from .problems import problem
from .wallets import strict_national_id

PURCHASE_CODE_LIFETIME = timedelta(minutes=30)
DEFAULT_TOKEN_TTL = timedelta(hours=24)


class Admin(SandboxParts):
    def mint_token(
        self,
        national_id: str,
        *,
        ttl_seconds: int | None = None,
        offline_allowance_rial: int | None = None,
        issued_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A fresh signed KB1 token for ``national_id`` (any valid ID, known or not)."""
        national_id = strict_national_id(national_id)
        now = (issued_at or self.clock.now()).replace(microsecond=0)
        with self.books.read() as tx:
            household = tx.household_by_national_id(national_id)
        allowance = offline_allowance_rial
        if allowance is None:
            allowance = household.offline_allowance_rial if household is not None else 0
        ttl = DEFAULT_TOKEN_TTL if ttl_seconds is None else timedelta(seconds=ttl_seconds)
        claims = TokenClaims(
            v=1,
            kid=self.signer.kid,
            national_id=national_id,
            jti=str(uuid.uuid4()),
            issued_at=now,
            expires_at=now + ttl,
            offline_allowance_rial=allowance,
        )
        token = sign_token(claims, private_key=self.signer.private_key)
        return {
            "token": token,
            "jti": claims.jti,
            "issued_at": to_rfc3339(claims.issued_at),
            "expires_at": to_rfc3339(claims.expires_at),
            "offline_allowance_rial": allowance,
        }

    def mint_purchase_code(self, national_id: str) -> dict[str, Any]:
        """A fresh single-use 8-digit purchase code for a known household."""
        national_id = strict_national_id(national_id)
        now = self.clock.now()
        with self.books.write() as tx:
            household = tx.household_by_national_id(national_id)
            if household is None:
                raise problem("beneficiary_not_found", "no household has that national ID")
            while True:
                code = f"{secrets.randbelow(100_000_000):08d}"
                if tx.purchase_code(code) is None:
                    break
            tx.add_purchase_code(
                PurchaseCodeRow(
                    code=code,
                    household_ref=household.ref,
                    created_at=now,
                    expires_at=now + PURCHASE_CODE_LIFETIME,
                    used_by=None,
                )
            )
        return {"purchase_code": code, "expires_at": to_rfc3339(now + PURCHASE_CODE_LIFETIME)}

    def otp_code(self, challenge_id: str) -> dict[str, Any]:
        """What the household's phone received for a challenge."""
        with self.books.read() as tx:
            row = tx.otp(challenge_id)
        if row is None:
            raise problem("not_found", "no such OTP challenge")
        return {
            "challenge_id": row.id,
            "code": row.code,
            "expires_at": to_rfc3339(row.expires_at),
            "attempts": row.attempts,
            "used": row.used_by is not None,
        }

    def set_blocked(self, national_id: str, *, blocked: bool) -> dict[str, Any]:
        """Put a household on the hot list or take it off (a new rule set is issued)."""
        national_id = strict_national_id(national_id)
        now = self.clock.now()
        with self.books.write() as tx:
            household = tx.household_by_national_id(national_id)
            if household is None:
                raise problem("beneficiary_not_found", "no household has that national ID")
            tx.set_blocked(household.ref, blocked)
            row = self.rulesets.issue(tx, now=now)
        return {"blocked": blocked, "rules_version": row.version}

    def revise_catalog(self, *, changes: int) -> dict[str, Any]:
        """A new catalog version with ``changes`` changes (and a rule set announcing it)."""
        now = self.clock.now()
        version = self.catalog.revise(now=now, changes=changes)
        with self.books.write() as tx:
            row = self.rulesets.issue(tx, now=now)
        return {"catalog_version": version, "rules_version": row.version}

    def clock_document(self) -> dict[str, Any]:
        return {
            "now": to_rfc3339(self.clock.now()),
            "offset_seconds": int(self.clock.offset.total_seconds()),
        }
