"""Terminal tokens: rotation with ten minutes of grace for the old one, and revocation."""

from __future__ import annotations

from datetime import timedelta

import httpx

from pos_client.sandbox.clock import parse_rfc3339
from pos_client.sandbox.server import RunningSandbox
from tests.sandbox.support import sandbox_now


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _rotate(client: httpx.Client, token: str) -> httpx.Response:
    return client.post("/v1/terminal-tokens/rotate", headers=_bearer(token))


def test_a_rotated_token_works_ten_minutes_more_then_401(sandbox: RunningSandbox) -> None:
    old = sandbox.terminal("T-0001")["token"]
    with httpx.Client(base_url=sandbox.url) as client:
        started = sandbox_now(sandbox)
        answer = _rotate(client, old)
        assert answer.status_code == 200
        new = answer.json()["token"]
        assert new != old
        until = parse_rfc3339(answer.json()["previous_valid_until"])
        assert until is not None
        assert started + timedelta(minutes=10) <= until <= started + timedelta(minutes=11)
        assert client.get("/v1/rules", headers=_bearer(old)).status_code == 200
        assert client.get("/v1/rules", headers=_bearer(new)).status_code == 200
        sandbox.advance_clock(9 * 60)
        assert client.get("/v1/rules", headers=_bearer(old)).status_code == 200
        sandbox.advance_clock(2 * 60)
        refused = client.get("/v1/rules", headers=_bearer(old))
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthorized"
        assert client.get("/v1/rules", headers=_bearer(new)).status_code == 200


def test_a_lane_that_lost_the_answer_rotates_again_with_the_old_token(
    sandbox: RunningSandbox,
) -> None:
    old = sandbox.terminal("T-0001")["token"]
    with httpx.Client(base_url=sandbox.url) as client:
        lost = _rotate(client, old).json()["token"]
        sandbox.advance_clock(5 * 60)
        again = _rotate(client, old)
        assert again.status_code == 200
        kept = again.json()["token"]
        # the old token keeps its own end of grace, never a longer one
        first_until = parse_rfc3339(again.json()["previous_valid_until"])
        assert first_until is not None
        assert first_until <= sandbox_now(sandbox) + timedelta(minutes=5, seconds=5)
        sandbox.advance_clock(11 * 60)
        assert client.get("/v1/rules", headers=_bearer(old)).status_code == 401
        assert client.get("/v1/rules", headers=_bearer(lost)).status_code == 401
        assert client.get("/v1/rules", headers=_bearer(kept)).status_code == 200


def test_rotation_needs_a_token_and_no_body_fields(sandbox: RunningSandbox) -> None:
    token = sandbox.terminal("T-0001")["token"]
    with httpx.Client(base_url=sandbox.url) as client:
        assert client.post("/v1/terminal-tokens/rotate").status_code == 401
        assert _rotate(client, "tok_nobody").status_code == 401
        odd = client.post(
            "/v1/terminal-tokens/rotate", headers=_bearer(token), json={"token": "mine"}
        )
        assert odd.status_code == 400
        assert client.get("/v1/rules", headers=_bearer(token)).status_code == 200


def test_sandbox_files_follow_a_rotation(sandbox: RunningSandbox) -> None:
    old = sandbox.terminal("T-0001")["token"]
    with httpx.Client(base_url=sandbox.url) as client:
        new = _rotate(client, old).json()["token"]
    info = sandbox.sandbox.info()
    tokens = {t["terminal_id"]: t["token"] for t in info["terminals"]}
    assert tokens["T-0001"] == new


def _revoke(client: httpx.Client, terminal_id: str, token: str) -> httpx.Response:
    return client.post(f"/v1/terminals/{terminal_id}/revoke", headers=_bearer(token))


def test_a_revoked_terminal_gets_401_terminal_revoked_for_every_token(
    sandbox: RunningSandbox,
) -> None:
    old = sandbox.terminal("T-0001")["token"]
    admin = sandbox.admin_token("M-0001")
    with httpx.Client(base_url=sandbox.url) as client:
        new = _rotate(client, old).json()["token"]
        answer = _revoke(client, "T-0001", admin)
        assert answer.status_code == 200
        assert answer.json()["terminal_id"] == "T-0001"
        assert _revoke(client, "T-0001", admin).status_code == 200  # twice: the same
        for token in (old, new):
            for refused in (
                client.get("/v1/rules", headers=_bearer(token)),
                _rotate(client, token),
            ):
                assert refused.status_code == 401
                assert refused.json()["code"] == "terminal_revoked"
        # the other terminals sell on
        other = sandbox.terminal("T-0002")["token"]
        assert client.get("/v1/rules", headers=_bearer(other)).status_code == 200


def test_revoking_needs_the_terminals_own_merchant_admin(sandbox: RunningSandbox) -> None:
    lane = sandbox.terminal("T-0001")["token"]
    with httpx.Client(base_url=sandbox.url) as client:
        assert _revoke(client, "T-0001", lane).status_code == 403
        assert client.post("/v1/terminals/T-0001/revoke").status_code == 401
        assert _revoke(client, "T-9999", sandbox.admin_token("M-0001")).status_code == 404
        assert sandbox.terminal("T-0003")["merchant_id"] == "M-0002"
        foreign = _revoke(client, "T-0003", sandbox.admin_token("M-0001"))
        assert foreign.status_code == 404
        unknown = _revoke(client, "T-9999", sandbox.admin_token("M-0001"))
        assert foreign.json()["code"] == unknown.json()["code"] == "not_found"
        assert client.get("/v1/rules", headers=_bearer(lane)).status_code == 200


def test_an_admin_token_cannot_rotate(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.url) as client:
        refused = _rotate(client, sandbox.admin_token("M-0001"))
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
