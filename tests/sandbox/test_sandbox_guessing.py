"""Guessing throttled: ten failed purchase-code or OTP attempts a minute per terminal, then 429.

Also: the ledger never tells one terminal whether another terminal's redemption
id exists (the answers are byte for byte those of an unknown id).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pos_client.sandbox.problems import Problem
from pos_client.sandbox.server import RunningSandbox
from pos_client.sandbox.throttle import MAX_FAILURES, GuessThrottle
from tests.sandbox.support import line, new_id, post, product, purse_id, redemption, rules_version


def _wrong_code(right: str) -> str:
    while True:
        code = f"{secrets.randbelow(100_000_000):08d}"
        if code != right:
            return code


def _inquire(client: httpx.Client, code: str) -> httpx.Response:
    return client.post("/v1/wallet-inquiries", json={"purchase_code": code})


def _assert_throttled(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "too_many_attempts"
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= 60
    return wait


def test_ten_wrong_purchase_codes_then_even_the_right_one_waits(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    right = sandbox.mint_purchase_code(nid)
    with sandbox.client() as client, sandbox.client("T-0002") as other:
        for _ in range(MAX_FAILURES):
            wrong = _inquire(client, _wrong_code(right))
            assert (wrong.status_code, wrong.json()["code"]) == (422, "purchase_code_invalid")
        _assert_throttled(_inquire(client, right))
        # A redemption by purchase code and a new OTP challenge wait too; nothing is kept.
        body = redemption(
            beneficiary={"purchase_code": right},
            lines=[line(product(sandbox, category="rice"))],
            allocations=[
                {"line": 0, "purse_id": purse_id(sandbox, "kalabarg", "kalabarg"), "amount_rial": 1}
            ],
            rules=rules_version(client),
        )
        _assert_throttled(post(client, body))
        assert client.get(f"/v1/redemptions/{body['id']}").status_code == 404
        _assert_throttled(client.post("/v1/otp-challenges", json={"national_id": nid}))
        # What guesses nothing is served as ever, and another terminal is not held up.
        assert client.post("/v1/wallet-inquiries", json={"national_id": nid}).status_code == 200
        assert _inquire(other, right).status_code == 200
        # Once the minute is over, the right code is evaluated (and the code still works).
        sandbox.advance_clock(61)
        assert _inquire(client, right).status_code == 200
        assert post(client, body).json()["status"] == "approved"


def test_ten_wrong_otp_answers_then_the_terminal_waits(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    rice = product(sandbox, category="rice")
    tranche = purse_id(sandbox, "kalabarg", "kalabarg")
    with sandbox.client() as client:
        rules = rules_version(client)
        challenges = []
        for _ in range(3):
            response = client.post("/v1/otp-challenges", json={"national_id": nid})
            assert response.status_code == 202
            challenge_id = response.json()["challenge_id"]
            challenges.append(
                {"challenge_id": challenge_id, "code": sandbox.otp_code(challenge_id)}
            )

        def body(answer: dict[str, str]) -> dict[str, Any]:
            return redemption(
                beneficiary={"national_id": nid},
                lines=[line(rice)],
                allocations=[{"line": 0, "purse_id": tranche, "amount_rial": 100_000}],
                rules=rules,
                otp=answer,
            )

        for answer in challenges[:2]:  # five wrong codes on each of two challenges
            wrong = dict(answer, code=f"{(int(answer['code']) + 1) % 1_000_000:06d}")
            for _ in range(5):
                declined = post(client, body(wrong)).json()
                assert (declined["status"], declined["reason"]) == ("declined", "otp_invalid")
        right = body(challenges[2])
        _assert_throttled(post(client, right))
        assert client.get(f"/v1/redemptions/{right['id']}").status_code == 404
        sandbox.advance_clock(61)
        assert post(client, right).json()["status"] == "approved"


def test_a_thousand_guesses_at_once_get_nowhere(sandbox: RunningSandbox) -> None:
    """A flood of guesses from eight connections: at most ten a minute are evaluated."""
    nid = sandbox.household("kalabarg")["national_id"]
    right = sandbox.mint_purchase_code(nid)
    guesses = [_wrong_code(right) for _ in range(1000)]
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def attack(share: list[str]) -> None:
        with sandbox.client() as client:
            for code in share:
                status = _inquire(client, code).status_code
                with lock:
                    statuses[status] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=attack, args=(guesses[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    minutes = int((time.monotonic() - started) // 60) + 1  # a window a minute, however slow
    evaluated, refused = statuses[422], statuses[429]
    assert evaluated + refused == len(guesses), statuses
    assert 1 <= evaluated <= MAX_FAILURES * minutes, statuses
    with sandbox.client() as client:
        _assert_throttled(_inquire(client, right))  # the right code gets nowhere either
    with sandbox.client("T-0003") as other:
        assert _inquire(other, right).status_code == 200


def _same_answer(first: httpx.Response, second: httpx.Response) -> None:
    assert (first.status_code, second.status_code) == (404, 404)
    assert first.headers["content-type"] == second.headers["content-type"]
    assert first.content == second.content


def test_another_terminals_redemption_is_answered_as_an_unknown_id(
    sandbox: RunningSandbox,
) -> None:
    with sandbox.client() as mine, sandbox.client("T-0002") as theirs:
        nid = sandbox.household("kalabarg")["national_id"]
        body = redemption(
            beneficiary={"token": sandbox.mint_token(nid)},
            lines=[line(product(sandbox, category="rice"))],
            allocations=[
                {
                    "line": 0,
                    "purse_id": purse_id(sandbox, "kalabarg", "kalabarg"),
                    "amount_rial": 100_000,
                }
            ],
            rules=rules_version(mine),
            terminal_id="T-0002",
        )
        assert post(theirs, body).json()["status"] == "approved"
        existing, unknown = body["id"], new_id()

        def void(redemption_id: str) -> httpx.Response:
            return mine.post(
                f"/v1/redemptions/{redemption_id}/void",
                headers={"Idempotency-Key": f"void-{redemption_id}"},
            )

        _same_answer(
            mine.get(f"/v1/redemptions/{existing}"), mine.get(f"/v1/redemptions/{unknown}")
        )
        _same_answer(void(existing), void(unknown))
        # Once voided by its own terminal, still nothing to see for the other one.
        own: Any = theirs.post(
            f"/v1/redemptions/{existing}/void", headers={"Idempotency-Key": f"void-{existing}"}
        )
        assert own.status_code == 200
        _same_answer(void(existing), void(unknown))


def test_attempts_stamped_a_moment_later_by_another_thread_still_count() -> None:
    """Threads read the clock, then take the lock: a later stamp may be recorded first."""
    throttle = GuessThrottle()
    later = datetime(2026, 12, 6, 9, 0, 0, 5000, tzinfo=UTC)
    earlier = later - timedelta(milliseconds=5)
    for _ in range(MAX_FAILURES):
        with throttle.attempt("T-0001", later):
            pass  # a wrong code: never succeeded
    with pytest.raises(Problem) as caught:  # the thread that read the clock first comes last
        with throttle.attempt("T-0001", earlier):
            pass
    assert caught.value.code == "too_many_attempts"
    with pytest.raises(Problem):  # and the ten are still there, not pruned away
        throttle.check("T-0001", later)


def test_a_throttled_batch_item_carries_its_retry_after(sandbox: RunningSandbox) -> None:
    """A batch item answered 429 says when to try again, as the request alone would have."""
    nid = sandbox.household("kalabarg")["national_id"]
    right = sandbox.mint_purchase_code(nid)
    rice = product(sandbox, category="rice")
    tranche = purse_id(sandbox, "kalabarg", "kalabarg")
    with sandbox.client() as client:
        rules = rules_version(client)
        for _ in range(MAX_FAILURES):
            assert _inquire(client, _wrong_code(right)).status_code == 422
        by_code = redemption(
            beneficiary={"purchase_code": right},
            lines=[line(rice)],
            allocations=[{"line": 0, "purse_id": tranche, "amount_rial": 1}],
            rules=rules,
        )
        by_id = redemption(
            beneficiary={"national_id": nid},
            lines=[line(rice)],
            allocations=[{"line": 0, "purse_id": tranche, "amount_rial": 1}],
            rules=rules,
        )
        alone = post(client, by_code)
        answer = client.post("/v1/redemptions/batch", json={"redemptions": [by_code, by_id]})
        assert answer.status_code == 200, answer.text
        throttled, other = answer.json()["results"]
        assert throttled["status_code"] == 429
        assert throttled["body"]["code"] == "too_many_attempts"
        wait = int(throttled["headers"]["Retry-After"])
        assert 1 <= wait <= 60
        assert abs(wait - int(alone.headers["retry-after"])) <= 1
        assert "headers" not in other  # only what has a Retry-After carries one
