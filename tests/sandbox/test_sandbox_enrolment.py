"""Enrolment against the sandbox as a real server: the device flow, store codes, who may do what."""

from __future__ import annotations

import re
from typing import Any

import httpx

from pos_client.sandbox.server import RunningSandbox

USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")


def _post(sb: RunningSandbox, path: str, body: Any, token: str | None = None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.post(sb.url + path.lstrip("/"), json=body, headers=headers, timeout=30)


def _code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    code: str = response.json()["code"]
    return code


def _start(sb: RunningSandbox) -> dict[str, Any]:
    response = _post(sb, "/v1/enrolments", {"hostname": "lane-7", "software_version": "0.2.0"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_device_flow_from_start_to_a_lane_that_can_call_the_ledger(
    sandbox: RunningSandbox,
) -> None:
    started = _start(sandbox)
    assert USER_CODE.fullmatch(started["user_code"])
    assert started["expires_in"] == 600 and started["interval"] == 5
    assert len(started["device_code"]) >= 22  # at least 128 bits, base64url
    device = {"device_code": started["device_code"]}

    # polled too soon: slow_down, and the interval grows by 5 s for good
    assert _code(_post(sandbox, "/v1/enrolments/token", device)) == "slow_down"
    sandbox.advance_clock(6)
    assert _code(_post(sandbox, "/v1/enrolments/token", device)) == "slow_down"
    sandbox.advance_clock(11)  # 5 + 5 + 5 s by now
    assert _code(_post(sandbox, "/v1/enrolments/token", device)) == "slow_down"
    sandbox.advance_clock(21)
    assert _code(_post(sandbox, "/v1/enrolments/token", device)) == "authorization_pending"

    admin = sandbox.admin_token("M-0001")
    code = started["user_code"].lower().replace("-", " ")  # case and dashes do not matter
    approved = _post(
        sandbox, "/v1/enrolments/approve", {"user_code": code, "store_id": "S-002"}, admin
    )
    assert approved.status_code == 200, approved.text
    terminal_id = approved.json()["terminal_id"]

    sandbox.advance_clock(21)
    answer = _post(sandbox, "/v1/enrolments/token", device)
    assert answer.status_code == 200, answer.text
    creds = answer.json()
    assert creds["terminal_id"] == terminal_id
    assert (creds["merchant_id"], creds["store_id"], creds["city"]) == ("M-0001", "S-002", "rasht")
    assert creds["ledger_url"] == sandbox.url
    kid = sandbox.info["signing_key"]["kid"]
    assert creds["trusted_keys"] == {kid: sandbox.info["signing_key"]["public_key"]}
    rules = httpx.get(
        sandbox.url + "v1/rules", headers={"Authorization": f"Bearer {creds['token']}"}
    )
    assert rules.status_code == 200

    # handed out once
    sandbox.advance_clock(21)
    assert _code(_post(sandbox, "/v1/enrolments/token", device)) == "expired_token"


def test_a_denied_enrolment_says_access_denied(sandbox: RunningSandbox) -> None:
    started = _start(sandbox)
    admin = sandbox.admin_token("M-0002")
    denied = _post(sandbox, "/v1/enrolments/deny", {"user_code": started["user_code"]}, admin)
    assert denied.status_code == 200 and denied.json()["status"] == "denied"
    sandbox.advance_clock(6)
    answer = _post(sandbox, "/v1/enrolments/token", {"device_code": started["device_code"]})
    assert _code(answer) == "access_denied"
    again = _post(
        sandbox,
        "/v1/enrolments/approve",
        {"user_code": started["user_code"], "store_id": "S-101"},
        admin,
    )
    assert again.status_code == 409 and _code(again) == "enrolment_decided"


def test_an_enrolment_nobody_decides_expires(sandbox: RunningSandbox) -> None:
    started = _start(sandbox)
    sandbox.advance_clock(601)
    answer = _post(sandbox, "/v1/enrolments/token", {"device_code": started["device_code"]})
    assert _code(answer) == "expired_token"
    late = _post(
        sandbox,
        "/v1/enrolments/approve",
        {"user_code": started["user_code"], "store_id": "S-001"},
        sandbox.admin_token(),
    )
    assert late.status_code == 404
    unknown = _post(sandbox, "/v1/enrolments/token", {"device_code": "x" * 43})
    assert _code(unknown) == "expired_token"


def test_another_merchants_store_is_not_found_and_tokens_keep_to_their_role(
    sandbox: RunningSandbox,
) -> None:
    started = _start(sandbox)
    body = {"user_code": started["user_code"], "store_id": "S-101"}  # M-0002's store
    other = _post(sandbox, "/v1/enrolments/approve", body, sandbox.admin_token("M-0001"))
    assert other.status_code == 404 and _code(other) == "not_found"
    codes = {"store_id": "S-101", "count": 1}
    assert _post(sandbox, "/v1/enrolment-codes", codes, sandbox.admin_token()).status_code == 404
    body = {"user_code": started["user_code"], "store_id": "S-001", "terminal_id": "T-0003"}
    foreign = _post(sandbox, "/v1/enrolments/approve", body, sandbox.admin_token("M-0001"))
    assert foreign.status_code == 404  # another merchant's terminal

    lane_token = sandbox.terminal("T-0001")["token"]
    for path, request in (
        ("/v1/enrolments/approve", {"user_code": started["user_code"], "store_id": "S-001"}),
        ("/v1/enrolments/deny", {"user_code": started["user_code"]}),
        ("/v1/enrolment-codes", {"store_id": "S-001", "count": 1}),
    ):
        answer = _post(sandbox, path, request, lane_token)
        assert answer.status_code == 403 and _code(answer) == "forbidden", path
        nobody = _post(sandbox, path, request)
        assert nobody.status_code == 401 and _code(nobody) == "unauthorized", path
    # nothing of that changed the enrolment: it still waits
    sandbox.advance_clock(6)
    answer = _post(sandbox, "/v1/enrolments/token", {"device_code": started["device_code"]})
    assert _code(answer) == "authorization_pending"


def test_forty_store_codes_enrol_forty_lanes_and_never_a_forty_first(
    sandbox: RunningSandbox,
) -> None:
    made = _post(
        sandbox,
        "/v1/enrolment-codes",
        {"store_id": "S-001", "count": 40, "ttl_s": 86400},
        sandbox.admin_token(),
    )
    assert made.status_code == 201, made.text
    codes = made.json()["codes"]
    assert len(codes) == len(set(codes)) == 40
    assert all(USER_CODE.fullmatch(c) for c in codes)
    terminals = set()
    for code in codes:
        answer = _post(sandbox, "/v1/enrolments", {"enrolment_code": code, "hostname": "lane"})
        assert answer.status_code == 200, answer.text
        creds = answer.json()
        assert creds["store_id"] == "S-001"
        terminals.add(creds["terminal_id"])
    assert len(terminals) == 40
    again = _post(sandbox, "/v1/enrolments", {"enrolment_code": codes[0], "hostname": "lane"})
    assert again.status_code == 400 and _code(again) == "enrolment_code_invalid"


def test_used_expired_and_unknown_codes_get_one_answer_and_guessing_is_throttled(
    sandbox: RunningSandbox,
) -> None:
    made = _post(
        sandbox,
        "/v1/enrolment-codes",
        {"store_id": "S-001", "count": 2, "ttl_s": 60},
        sandbox.admin_token(),
    ).json()["codes"]
    sandbox.advance_clock(61)
    expired = _post(sandbox, "/v1/enrolments", {"enrolment_code": made[0], "hostname": "l"})
    unknown = _post(sandbox, "/v1/enrolments", {"enrolment_code": "BBBB-BBBB", "hostname": "l"})
    malformed = _post(sandbox, "/v1/enrolments", {"enrolment_code": "hello", "hostname": "l"})
    for answer in (expired, unknown, malformed):
        assert answer.status_code == 400 and _code(answer) == "enrolment_code_invalid"
        assert answer.json()["detail"] == expired.json()["detail"]
    for _ in range(7):
        _post(sandbox, "/v1/enrolments", {"enrolment_code": "BBBB-BBBC", "hostname": "l"})
    throttled = _post(sandbox, "/v1/enrolments", {"enrolment_code": made[1], "hostname": "l"})
    assert throttled.status_code == 429 and _code(throttled) == "too_many_attempts"
    assert int(throttled.headers["retry-after"]) >= 1
