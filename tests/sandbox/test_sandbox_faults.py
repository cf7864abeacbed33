"""Fault injection: a misbehaving ledger on purpose (before or after committing), and the clock."""

from __future__ import annotations

import httpx
import pytest

from pos_client.sandbox.server import RunningSandbox
from tests.sandbox.support import post, sandbox_now, simple_spend


def _recorded(client: httpx.Client, redemption_id: str) -> bool:
    return client.get(f"/v1/redemptions/{redemption_id}").status_code == 200


@pytest.mark.parametrize(
    ("kind", "status", "code", "retry_after"),
    [
        ("error_before", 500, "internal_error", False),
        ("rate_limit", 429, "too_many_requests", True),
        ("unavailable", 503, "service_unavailable", True),
    ],
)
def test_faults_before_committing_record_nothing(
    sandbox: RunningSandbox, kind: str, status: int, code: str, retry_after: bool
) -> None:
    sandbox.add_fault(kind, "/v1/redemptions", method="POST", retry_after=7)
    with sandbox.client() as client:
        body = simple_spend(sandbox, client, amount=100_000)
        response = post(client, body)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
        assert (response.headers.get("retry-after") == "7") is retry_after
        assert not _recorded(client, body["id"])
        retried = post(client, body)  # the fault was used up (count 1)
        assert retried.status_code == 201


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_errors_after_committing_keep_the_redemption(sandbox: RunningSandbox, status: int) -> None:
    sandbox.add_fault("error_after", "/v1/redemptions", status=status)
    with sandbox.client() as client:
        body = simple_spend(sandbox, client, amount=100_000)
        response = post(client, body)
        assert response.status_code == status
        assert _recorded(client, body["id"])
        retried = post(client, body)
        assert retried.status_code == 200
        assert retried.content == client.get(f"/v1/redemptions/{body['id']}").content


def test_a_dropped_connection_after_committing(sandbox: RunningSandbox) -> None:
    sandbox.add_fault("drop_after", "/v1/redemptions")
    with sandbox.client() as client:
        body = simple_spend(sandbox, client, amount=100_000)
        with pytest.raises(httpx.RemoteProtocolError):
            post(client, body)
        assert _recorded(client, body["id"])
        assert post(client, body).status_code == 200


def test_latency_makes_a_client_time_out_while_the_ledger_commits(
    sandbox: RunningSandbox,
) -> None:
    sandbox.add_fault("latency", "/v1/redemptions", latency_ms=1500)
    with sandbox.client() as client:
        body = simple_spend(sandbox, client, amount=100_000)
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                "/v1/redemptions",
                json=body,
                headers={"Idempotency-Key": body["id"]},
                timeout=httpx.Timeout(5.0, read=0.2),
            )
    with sandbox.client() as client:
        for _ in range(100):
            if _recorded(client, body["id"]):
                break
            httpx.get(sandbox.url + "v1/health", timeout=5)  # wait without sleeping blind
        assert _recorded(client, body["id"])


def test_fault_matching_counting_and_clearing(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        sandbox.add_fault("unavailable", "/v1/settlements/*", count=2)
        sandbox.add_fault("error_before", "/v1/rules", method="POST")  # never a POST there
        listed = httpx.get(sandbox.url + "sandbox/faults").json()["faults"]
        assert [f["kind"] for f in listed] == ["unavailable", "error_before"]
        statuses = [client.get("/v1/settlements/2026-11-23").status_code for _ in range(3)]
        assert statuses == [503, 503, 200]
        assert client.get("/v1/rules").status_code == 200
        sandbox.add_fault("error_before", "/v1/*", count=None)  # until cleared
        assert [client.get("/v1/health").status_code for _ in range(3)] == [500] * 3
        # The sandbox's own endpoints are never faulted, so a test can always clear.
        assert httpx.get(sandbox.url + "sandbox/clock").status_code == 200
        sandbox.clear_faults()
        assert httpx.get(sandbox.url + "sandbox/faults").json() == {"faults": []}
        assert client.get("/v1/health").status_code == 200


def test_bad_fault_requests(sandbox: RunningSandbox) -> None:
    for body in (
        {"kind": "explode", "path": "/v1/health"},
        {"kind": "error_before", "path": "v1/health"},
        {"kind": "error_before", "path": "/sandbox/faults"},
        {"kind": "error_before", "path": "/v1/health", "status": 404},
        {"kind": "error_before", "path": "/v1/health", "count": 0},
        {"kind": "error_before", "path": "/v1/health", "colour": "red"},
    ):
        response = httpx.post(sandbox.url + "sandbox/faults", json=body)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_request"), body


def test_the_clock_moves_on_request(sandbox: RunningSandbox) -> None:
    before = sandbox_now(sandbox)
    sandbox.advance_clock(3 * 86_400)
    moved = sandbox_now(sandbox)
    assert (moved - before).total_seconds() >= 3 * 86_400
    health = httpx.get(sandbox.url + "v1/health").json()
    assert health["time"][:10] == moved.isoformat()[:10]
    reset = httpx.post(sandbox.url + "sandbox/clock", json={"offset_seconds": 0}).json()
    assert reset["offset_seconds"] == 0
    assert httpx.post(sandbox.url + "sandbox/clock", json={}).status_code == 400
