"""Many lanes at once: no double spending, one answer per id, a batch beside single requests."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from pos_client.sandbox.server import RunningSandbox
from tests.sandbox.support import (
    line,
    post,
    product,
    purse_id,
    purses,
    redemption,
    rules_version,
    simple_spend,
)


def _all_at_once(jobs: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))

    def run(job: Any) -> Any:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_two_terminals_never_spend_more_than_the_household_holds(
    sandbox: RunningSandbox,
) -> None:
    household = sandbox.household("low_balance")
    nid = household["national_id"]
    low = purse_id(sandbox, "low_balance", "kalabarg")
    rice = product(sandbox, category="rice")
    terminals = ["T-0001", "T-0002"] * 4
    clients = {t: sandbox.client(t) for t in set(terminals)}
    try:
        rules = rules_version(clients["T-0001"])
        bodies = [
            redemption(
                beneficiary={"token": sandbox.mint_token(nid)},
                lines=[line(rice)],
                allocations=[{"line": 0, "purse_id": low, "amount_rial": 300_000}],
                rules=rules,
                terminal_id=t,
            )
            for t in terminals
        ]
        responses = _all_at_once([lambda b=b: post(clients[b["terminal_id"]], b) for b in bodies])
        results = [r.json() for r in responses]
        assert all(r.status_code == 201 for r in responses)
        approved = [r for r in results if r["status"] == "approved"]
        assert len(approved) == 1
        assert all(
            r["reason"] == "insufficient_balance" for r in results if r["status"] == "declined"
        )
        assert purses(clients["T-0001"], nid)[low]["balance_rial"] == 500_000 - 300_000
    finally:
        for client in clients.values():
            client.close()


def test_the_same_id_at_once_is_recorded_once(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    tranche = purse_id(sandbox, "kalabarg", "kalabarg")
    with sandbox.client() as client:
        before = purses(client, nid)[tranche]["balance_rial"]
        body = simple_spend(sandbox, client, amount=700_000)
        responses = _all_at_once([lambda: post(client, body) for _ in range(6)])
        assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
        assert len({r.content for r in responses}) == 1
        assert purses(client, nid)[tranche]["balance_rial"] == before - 700_000


def test_a_batch_of_100_beside_single_requests(sandbox: RunningSandbox) -> None:
    household = sandbox.household("large")
    nid = household["national_id"]
    purse = purse_id(sandbox, "large", "kalabarg")
    oil = product(sandbox, category="oil")
    with sandbox.client() as client, sandbox.client("T-0002") as other:
        rules = rules_version(client)
        start = purses(client, nid)[purse]["balance_rial"]

        def body(terminal: str, amount: int) -> dict[str, Any]:
            return redemption(
                beneficiary={"token": sandbox.mint_token(nid)},
                lines=[line(oil)],
                allocations=[{"line": 0, "purse_id": purse, "amount_rial": amount}],
                rules=rules,
                mode="offline",
                terminal_id=terminal,
            )

        batch = [body("T-0001", 1_000 + i) for i in range(100)]
        singles = [body("T-0002", 50_000) for _ in range(20)]
        outcome: dict[str, Any] = {}

        def send_batch() -> None:
            outcome["batch"] = client.post(
                "/v1/redemptions/batch", json={"redemptions": batch}, timeout=60
            )

        def send_singles() -> None:
            outcome["singles"] = [post(other, b) for b in singles]

        _all_at_once([send_batch, send_singles])
        response = outcome["batch"]
        assert response.status_code == 200
        results = response.json()["results"]
        assert [r["id"] for r in results] == [b["id"] for b in batch]
        assert all(r["status_code"] == 201 for r in results)
        assert all(r["body"]["status"] == "approved" for r in results)
        assert all(r.status_code == 201 for r in outcome["singles"])
        spent = sum(1_000 + i for i in range(100)) + 20 * 50_000
        assert purses(client, nid)[purse]["balance_rial"] == start - spent
        # Each item is stored as if sent alone: read back and replayed the same.
        first = batch[0]
        stored = client.get(f"/v1/redemptions/{first['id']}")
        assert stored.json() == results[0]["body"]
        replay = post(client, first)
        assert replay.status_code == 200 and replay.content == stored.content
        again = client.post("/v1/redemptions/batch", json={"redemptions": batch[:3]})
        assert [r["status_code"] for r in again.json()["results"]] == [200, 200, 200]


def test_batch_items_are_answered_one_by_one(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        good = simple_spend(sandbox, client, amount=10_000)
        conflicting = dict(good, allocations=[dict(good["allocations"][0], amount_rial=20_000)])
        other_terminal = dict(simple_spend(sandbox, client, amount=10_000), terminal_id="T-0002")
        items: list[Any] = [good, good, conflicting, {"id": 7}, "junk", other_terminal]
        response = client.post("/v1/redemptions/batch", json={"redemptions": items})
        assert response.status_code == 200
        rows = response.json()["results"]
        assert [(r["id"], r["status_code"]) for r in rows] == [
            (good["id"], 201),
            (good["id"], 200),
            (good["id"], 409),
            (None, 400),
            (None, 400),
            (other_terminal["id"], 403),
        ]
        assert rows[0]["body"] == rows[1]["body"]
        assert rows[2]["body"]["code"] == "idempotency_conflict"
        assert rows[5]["body"]["code"] == "terminal_mismatch"
        too_many = client.post("/v1/redemptions/batch", json={"redemptions": [good] * 101})
        assert (too_many.status_code, too_many.json()["code"]) == (400, "invalid_request")
        none = client.post("/v1/redemptions/batch", json={"redemptions": []})
        assert none.status_code == 400
        assert (
            client.post("/v1/redemptions/batch", json={"redemptions": [good], "x": 1}).status_code
            == 400
        )
    assert (
        httpx.post(sandbox.url + "v1/redemptions/batch", json={"redemptions": [good]}).status_code
        == 401
    )
