"""The redemption body sent to the ledger and the strict reading of its answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pos_client.domain.errors import ContractError, InvalidNationalId
from pos_client.domain.models import Allocation, BasketLine
from pos_client.domain.redemption import (
    Identity,
    OtpAnswer,
    RedemptionDraft,
    body_mode,
    body_with_mode,
    parse_problem,
    parse_redemption_answer,
    parse_settlement,
    redemption_body,
)

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
RID = "01936a5e-0000-7000-8000-000000000001"


def draft(**changes: object) -> RedemptionDraft:
    base = dict(
        id=RID,
        terminal_id="T-0001",
        created_at=NOW,
        mode="online",
        identity=Identity.national_id("۳۹۰۵۴۶۶۰۱۵"),
        rules_version="r-1",
        lines=(
            BasketLine("6260000000019", 1000, 14_500_000, category="rice"),
            BasketLine("1234567890128", 2000, 50_000),  # not in the catalog
            BasketLine("6260000000040", 3000, 420_000, category="milk-lowfat"),
        ),
        allocations=(
            Allocation(0, "pu_1", 4_000_000),
            Allocation(2, "pu_1", 1_260_000),
        ),
        otp=OtpAnswer("ch_1", "123456"),
    )
    base.update(changes)
    return RedemptionDraft(**base)  # type: ignore[arg-type]


def test_the_body_sends_only_the_lines_a_purse_pays_renumbered() -> None:
    body = json.loads(redemption_body(draft()))
    assert body["beneficiary"] == {"national_id": "3905466015"}
    assert body["otp"] == {"challenge_id": "ch_1", "code": "123456"}
    assert [line["gtin"] for line in body["lines"]] == ["6260000000019", "6260000000040"]
    assert body["lines"][1]["amount_rial"] == 1_260_000
    assert [a["line"] for a in body["allocations"]] == [0, 1]
    assert body["created_at"] == "2026-11-25T09:30:00+00:00"
    assert list(body)[:5] == ["id", "terminal_id", "created_at", "mode", "beneficiary"]


def test_the_body_is_the_same_bytes_every_time_and_mode_is_the_only_change() -> None:
    first, second = redemption_body(draft()), redemption_body(draft())
    assert first == second
    offline = body_with_mode(first, "offline")
    assert body_mode(offline) == "offline" and body_mode(first) == "online"
    a, b = json.loads(first), json.loads(offline)
    b["mode"] = "online"
    assert a == b


def test_nothing_covered_makes_no_body_and_identities_are_checked() -> None:
    with pytest.raises(ContractError):
        redemption_body(draft(allocations=()))
    with pytest.raises(InvalidNationalId):
        Identity.national_id("1234567890")
    with pytest.raises(ContractError):
        Identity.purchase_code("1234")
    assert Identity.purchase_code("۱۲۳۴۵۶۷۸").value == "12345678"
    assert "3905466015" not in repr(Identity.national_id("3905466015"))


ANSWER = {
    "id": RID,
    "status": "partially_approved",
    "reason": None,
    "approved_at": "2026-11-25T13:00:00+03:30",
    "receipt_code": "ABCD-EFGH-JKMN",
    "covered_rial": 3_000_000,
    "declined_rial": 2_260_000,
    "allocations": [
        {
            "line": 0,
            "purse_id": "pu_1",
            "amount_rial": 3_000_000,
            "quantity_milli": 0,
            "status": "reduced",
            "reason": "insufficient_balance",
        }
    ],
    "purses_after": [{"id": "pu_1", "program": "kalabarg", "kind": "amount", "balance_rial": 0}],
}


def test_an_answer_is_read_strictly() -> None:
    answer = parse_redemption_answer(ANSWER, expected_id=RID)
    assert answer.goes_ahead and answer.declined_rial == 2_260_000
    assert answer.allocations[0].status == "reduced"
    assert answer.purses_after[0].balance_rial == 0


@pytest.mark.parametrize(
    "broken",
    [
        {"id": "other"},
        {"status": "maybe"},
        {"covered_rial": -1},
        {"covered_rial": 1.5},
        {"covered_rial": True},
        {"approved_at": "yesterday"},
        {"allocations": {"line": 0}},
        {"purses_after": [{"id": "p"}]},
        {"status": "declined"},  # a decline that covers something
    ],
)
def test_a_malformed_answer_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(ContractError):
        parse_redemption_answer({**ANSWER, **broken}, expected_id=RID)
    with pytest.raises(ContractError):
        parse_redemption_answer([ANSWER], expected_id=RID)


def test_problem_documents_and_settlements() -> None:
    problem = parse_problem({"status": 409, "code": "idempotency_conflict"}, http_status=409)
    assert problem.code == "idempotency_conflict"
    with pytest.raises(ContractError):
        parse_problem({"status": 400, "code": "x"}, http_status=409)
    with pytest.raises(ContractError):
        parse_problem("<html>", http_status=502)
    settlement = parse_settlement(
        {
            "terminal_id": "T-0001",
            "business_date": "2026-11-25",
            "count": 1,
            "covered_rial": 5,
            "by_program": {"kalabarg": {"count": 1, "covered_rial": 5}},
            "redemption_ids": [RID],
        }
    )
    assert settlement.redemption_ids == (RID,) and settlement.by_program["kalabarg"] == (1, 5)
