"""Figure group: a KB2 token checked and its offline wallet built, p99.

What a lane does when the ledger cannot be reached and a household shows its
KB2 QR token: read and verify the token (shape, payload, Ed25519 signature by
a trusted key, its time) and build the household's offline wallet from the
signed snapshot and the rules (:func:`pos_client.domain.offline_wallet.wallet_from_token`),
here with a cached wallet of the household to take the smaller of (the longer
path). The token carries the benchmark household's six purses: amount purses
with their ``off``, the Yasna package's groups. Beside it, the peer: verifying
a KB1 token of the same household (the signature check alone, no snapshot).
Goal: p99 under 2 ms, the allocation's budget.

Imports the standard library, ``cryptography``, the domain and the
benchmark's own modules.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pos_client.domain.models import Beneficiary, Purse, Wallet
from pos_client.domain.offline_wallet import wallet_from_token
from pos_client.domain.signing import public_key_bytes
from pos_client.domain.tokens import (
    TokenClaims,
    TokenEntitlement,
    TokenPurse,
    sign_token,
    verify_token,
)

from .figures import Against, Figure, Goal, percentile
from .world import household_purses, rule_set

__all__ = ["measure", "token_purses"]

GROUP = "offline_token"
KID = "bench-k1"
NATIONAL_ID = "0499370899"
#: What an amount purse may pay offline at most (the demo Kalabarg offline limit).
OFF_RIAL = 5_000_000


def token_purses(purses: tuple[Purse, ...]) -> tuple[TokenPurse, ...]:
    """The KB2 snapshot of ``purses`` as a ledger would sign it."""
    snapshot = []
    for purse in purses:
        expires = purse.expires_at or datetime.now(UTC) + timedelta(days=30)
        if purse.entitlements:
            snapshot.append(
                TokenPurse(
                    id=purse.id,
                    program=purse.program,
                    expires_at=expires,
                    city=purse.city,
                    entitlements=tuple(
                        TokenEntitlement(e.group, e.remaining_milli) for e in purse.entitlements
                    ),
                )
            )
        else:
            snapshot.append(
                TokenPurse(
                    id=purse.id,
                    program=purse.program,
                    expires_at=expires,
                    city=purse.city,
                    off_rial=min(purse.balance_rial, OFF_RIAL),
                )
            )
    return tuple(snapshot)


def measure(*, runs: int) -> list[Figure]:
    now = datetime.now(UTC).replace(microsecond=0)
    key = Ed25519PrivateKey.generate()
    keys = {KID: public_key_bytes(key)}
    purses = household_purses(now)
    rules = rule_set(now)
    kb1 = TokenClaims(
        v=1,
        kid=KID,
        national_id=NATIONAL_ID,
        jti=str(uuid.uuid4()),
        issued_at=now - timedelta(minutes=5),
        expires_at=now + timedelta(days=1),
        offline_allowance_rial=OFF_RIAL,
    )
    kb2 = replace(kb1, v=2, jti=str(uuid.uuid4()), purses=token_purses(purses))
    kb1_text = sign_token(kb1, private_key=key)
    kb2_text = sign_token(kb2, private_key=key)
    cached = Wallet(
        beneficiary=Beneficiary(ref="b_bench"),
        requires_otp=False,
        offline_allowance_rial=OFF_RIAL,
        purses=purses,
    )
    cached_at = now - timedelta(hours=2)

    def offline_wallet() -> Wallet:
        claims = verify_token(kb2_text, keys=keys, now=now)
        return wallet_from_token(claims, rules, now=now, cached=cached, cached_at=cached_at).wallet

    built = offline_wallet()
    for _ in range(max(5, runs // 10)):  # warm up
        offline_wallet()
        verify_token(kb1_text, keys=keys, now=now)
    kb2_ms: list[float] = []
    kb1_ms: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        offline_wallet()
        middle = time.perf_counter()
        verify_token(kb1_text, keys=keys, now=now)
        end = time.perf_counter()
        kb2_ms.append((middle - start) * 1000)
        kb1_ms.append((end - middle) * 1000)
    details = {
        "purses": len(kb2.purses),
        "purses_offline": len(built.purses),
        "token_chars": len(kb2_text),
        "p50_ms": percentile(kb2_ms, 50),
        "kb1_p50_ms": percentile(kb1_ms, 50),
    }
    return [
        Figure(
            key="offline_token_p99",
            group=GROUP,
            name=f"KB2 token verified + offline wallet built, {len(kb2.purses)} purses, p99",
            value=percentile(kb2_ms, 99),
            unit="ms",
            against=Against("peer", "KB1 token verified p99", percentile(kb1_ms, 99)),
            goal=Goal("value_below", 2.0, "< 2 ms"),
            samples=runs,
            note="verify_token() + wallet_from_token() (cached wallet) vs verify_token() of KB1",
            details=details,
        )
    ]
