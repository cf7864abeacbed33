"""Sandbox-only conveniences behind ``/sandbox/`` (not part of the contract).

What a real ledger does out of band, done here on request so that people and
tests can play every part: mint a KB1 or KB2 token or a purchase code for a
household (the household's phone app does that), read the code of an OTP
challenge (the real ledger texts it), put a household on the hot list or take
it off, publish a new catalog version, announce the next tranche unlock in the
rules, and move the sandbox clock.

Imports the standard library, the pure domain and the sandbox's modules.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from pos_client.domain.models import Purse
from pos_client.domain.tokens import TokenClaims, TokenEntitlement, TokenPurse, sign_token

from .books import PurchaseCodeRow
from .clock import to_rfc3339
from .demo import PROGRAMS
from .parts import SandboxParts
from .problems import problem
from .wallets import load_purses, strict_national_id, visible

PURCHASE_CODE_LIFETIME = timedelta(minutes=30)
DEFAULT_TOKEN_TTL = timedelta(hours=24)
#: The purses a KB2 token's snapshot carries at most (the payload stays under 600 bytes).
MAX_SNAPSHOT_PURSES = 4


def snapshot_purses(purses: tuple[Purse, ...], *, now: datetime) -> tuple[TokenPurse, ...]:
    """What each purse may spend offline, as the purses stand at ``now``.

    Only purses inside their validity window, of a programme that allows offline
    approval, with something left; an amount purse's ``off`` is its balance,
    never above the programme's offline limits per sale and per household per
    day; a quantity purse's groups carry what remains of them.
    """
    programs = {p.id: p for p in PROGRAMS}
    snapshot: list[TokenPurse] = []
    for purse in purses:
        program = programs.get(purse.program)
        if program is None or not program.offline.allowed or not purse.is_valid_at(now):
            continue
        if purse.expires_at is None:
            continue  # a token's purse always says until when
        expires_at = purse.expires_at.replace(microsecond=0)
        if purse.entitlements:
            groups = tuple(
                TokenEntitlement(e.group, e.remaining_milli)
                for e in purse.entitlements
                if e.remaining_milli > 0
            )
            if groups:
                snapshot.append(
                    TokenPurse(purse.id, purse.program, expires_at, purse.city, entitlements=groups)
                )
            continue
        policy = program.offline
        off = min(
            purse.balance_rial,
            policy.max_rial_per_transaction,
            policy.max_rial_per_beneficiary_per_day,
        )
        if off > 0:
            snapshot.append(
                TokenPurse(purse.id, purse.program, expires_at, purse.city, off_rial=off)
            )
    return tuple(snapshot[:MAX_SNAPSHOT_PURSES])


class Admin(SandboxParts):
    def mint_token(
        self,
        national_id: str,
        *,
        ttl_seconds: int | None = None,
        offline_allowance_rial: int | None = None,
        issued_at: datetime | None = None,
        version: int = 1,
    ) -> dict[str, Any]:
        """A fresh signed token for ``national_id``.

        KB1 (``version`` 1) for any valid ID, known or not; KB2 (``version`` 2)
        for a known household, with the snapshot of its purses as they stand
        (see :func:`snapshot_purses`): ``404 beneficiary_not_found`` for an
        unknown one, ``409 nothing_offline`` when none of its purses may be spent
        offline (a KB1 serves it online).
        """
        national_id = strict_national_id(national_id)
        if version not in (1, 2):
            raise problem("invalid_request", "version is 1 or 2")
        now = (issued_at or self.clock.now()).replace(microsecond=0)
        purses: tuple[TokenPurse, ...] = ()
        with self.books.read() as tx:
            household = tx.household_by_national_id(national_id)
            if version == 2:
                if household is None:
                    raise problem("beneficiary_not_found", "no household has that national ID")
                purses = snapshot_purses(visible(load_purses(tx, household.ref, now=now)), now=now)
        if version == 2 and not purses:
            raise problem("nothing_offline", "nothing this household holds may be spent offline")
        allowance = offline_allowance_rial
        if allowance is None:
            allowance = household.offline_allowance_rial if household is not None else 0
        ttl = DEFAULT_TOKEN_TTL if ttl_seconds is None else timedelta(seconds=ttl_seconds)
        claims = TokenClaims(
            v=version,
            kid=self.signer.kid,
            national_id=national_id,
            jti=str(uuid.uuid4()),
            issued_at=now,
            expires_at=now + ttl,
            offline_allowance_rial=allowance,
            purses=purses,
        )
        token = sign_token(claims, private_key=self.signer.private_key)
        return {
            "token": token,
            "jti": claims.jti,
            "issued_at": to_rfc3339(claims.issued_at),
            "expires_at": to_rfc3339(claims.expires_at),
            "offline_allowance_rial": allowance,
            "version": version,
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

    def rules_settings(self) -> dict[str, Any]:
        """What the sandbox's rule sets announce beyond the demo's programmes."""
        with self.books.read() as tx:
            when = self.rulesets.next_unlock(tx)
        return {"next_unlock_at": None if when is None else to_rfc3339(when)}

    def set_next_unlock(self, when: datetime | None) -> dict[str, Any]:
        """Announce the next tranche unlock in the rules (None: none); a rule set is issued."""
        now = self.clock.now()
        with self.books.write() as tx:
            row = self.rulesets.set_next_unlock(tx, when, now=now)
        return {**self.rules_settings(), "rules_version": row.version}

    def clock_document(self) -> dict[str, Any]:
        return {
            "now": to_rfc3339(self.clock.now()),
            "offset_seconds": int(self.clock.offset.total_seconds()),
        }
