"""Voids (same terminal, same business date, idempotent) and settlements per terminal and day."""

from __future__ import annotations

import httpx

from pos_client.sandbox.server import RunningSandbox
from tests.sandbox.support import new_id, post, purses, simple_spend, today


def _void(client: httpx.Client, redemption_id: str, key: str | None = None) -> httpx.Response:
    return client.post(
        f"/v1/redemptions/{redemption_id}/void",
        headers={"Idempotency-Key": key or f"void-{redemption_id}"},
    )


def test_void_gives_the_purses_back_once(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    with sandbox.client() as client:
        before = purses(client, nid)
        body = simple_spend(sandbox, client, amount=3_000_000)
        assert post(client, body).json()["status"] == "approved"
        assert purses(client, nid) != before
        voided = _void(client, body["id"])
        assert voided.status_code == 200
        document = voided.json()
        assert document["id"] == body["id"] and document["status"] == "voided"
        assert {p["id"]: p for p in document["purses_after"]} == before
        assert purses(client, nid) == before
        again = _void(client, body["id"])
        assert again.status_code == 200 and again.content == voided.content
        assert purses(client, nid) == before
        # The redemption itself still reads back as it was answered.
        assert client.get(f"/v1/redemptions/{body['id']}").json()["status"] == "approved"


def test_void_refusals(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client, sandbox.client("T-0002") as other:
        body = simple_spend(sandbox, client, amount=100_000)
        assert post(client, body).status_code == 201
        for key in (None, f"void-{new_id()}", body["id"], f"VOID-{body['id']}"):
            response = client.post(
                f"/v1/redemptions/{body['id']}/void",
                headers={} if key is None else {"Idempotency-Key": key},
            )
            assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
        theirs = _void(other, body["id"])
        assert (theirs.status_code, theirs.json()["code"]) == (404, "not_found")
        unknown = new_id()
        missing = _void(client, unknown)
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        declined = dict(body, id=new_id())  # the token is used: declined token_used
        assert post(client, declined).json()["status"] == "declined"
        response = _void(client, declined["id"])
        assert (response.status_code, response.json()["code"]) == (409, "not_voidable")
        body_with_junk = client.post(
            f"/v1/redemptions/{body['id']}/void",
            json={"reason": "x"},
            headers={"Idempotency-Key": f"void-{body['id']}"},
        )
        assert body_with_junk.status_code == 400
        # The next business day it can no longer be voided.
        sandbox.advance_clock(86_400)
        late = _void(client, body["id"])
        assert (late.status_code, late.json()["code"]) == (409, "not_voidable")


def test_settlement_per_terminal_and_business_date(sandbox: RunningSandbox) -> None:
    day = today(sandbox).isoformat()
    with sandbox.client() as lane1, sandbox.client("T-0002") as lane2:
        empty = lane1.get(f"/v1/settlements/{day}").json()
        assert empty == {
            "terminal_id": "T-0001",
            "business_date": day,
            "count": 0,
            "covered_rial": 0,
            "by_program": {},
            "redemption_ids": [],
        }
        a = simple_spend(sandbox, lane1, amount=1_000_000)
        b = simple_spend(sandbox, lane1, amount=2_000_000)
        c = simple_spend(sandbox, lane2, amount=4_000_000, terminal_id="T-0002")
        declined = dict(a, id=new_id())  # token used: declined, not counted
        voided = simple_spend(sandbox, lane1, amount=500_000)
        for client, body in (
            (lane1, a),
            (lane1, b),
            (lane2, c),
            (lane1, declined),
            (lane1, voided),
        ):
            assert post(client, body).status_code == 201
        assert _void(lane1, voided["id"]).status_code == 200
        mine = lane1.get(f"/v1/settlements/{day}").json()
        assert mine["count"] == 2
        assert mine["covered_rial"] == 3_000_000
        assert mine["by_program"] == {"kalabarg": {"count": 2, "covered_rial": 3_000_000}}
        assert mine["redemption_ids"] == [a["id"], b["id"]]
        theirs = lane2.get(f"/v1/settlements/{day}").json()
        assert (theirs["terminal_id"], theirs["count"], theirs["covered_rial"]) == (
            "T-0002",
            1,
            4_000_000,
        )
        assert lane1.get("/v1/settlements/2020-01-01").json()["count"] == 0
        for bad in ("2026-13-01", "yesterday", "2026-1-1", "20261101"):
            response = lane1.get(f"/v1/settlements/{bad}")
            assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
        # A redemption belongs to the business date the ledger recorded it on.
        sandbox.advance_clock(86_400)
        later = simple_spend(sandbox, lane1, amount=100_000)
        assert post(lane1, later).status_code == 201
        assert lane1.get(f"/v1/settlements/{day}").json()["count"] == 2
        tomorrow = today(sandbox).isoformat()
        assert lane1.get(f"/v1/settlements/{tomorrow}").json()["redemption_ids"] == [later["id"]]
