"""Rows for the journal's tests: a new sale and the ledger's answer to it (not a test module)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pos_client.domain.redemption import RedemptionAnswer
from pos_client.ports import NewRedemption

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def new(rid: str, *, jti: str | None = None, covered: int = 1000) -> NewRedemption:
    return NewRedemption(
        id=rid,
        created_at=NOW,
        business_date=date(2026, 11, 25),
        identity_kind="token",
        mode="online",
        body=b'{"id":"%s","mode":"online"}' % rid.encode(),
        basket='{"lines":[]}',
        total_rial=covered + 10,
        covered_rial=covered,
        payable_rial=10,
        nid_hash="h" * 64,
        token_jti=jti,
    )


def answer(rid: str, status: str = "approved", covered: int = 1000) -> RedemptionAnswer:
    return RedemptionAnswer(id=rid, status=status, covered_rial=covered, receipt_code="R-1")
