"""``mode: offline`` re-checked at the ledger: what the terminal should have checked itself.

Each rule of ``ledger-api.md`` ("For ``mode: offline`` it also checks..."), broken
by a body the test forges as a careless terminal would send it, is declined
``offline_not_allowed`` and kept for good; the same sale inside the rule is approved.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from pos_client.sandbox.clock import to_rfc3339
from pos_client.sandbox.server import RunningSandbox
from tests.sandbox.support import (
    line,
    new_id,
    otp,
    post,
    product,
    purse_id,
    purses,
    redemption,
    rules_version,
    sandbox_now,
)

KALABARG_PER_TRANSACTION = 5_000_000  # the demo rule set's offline limits for Kalabarg
KALABARG_PER_DAY = 5_000_000


def _at(sb: RunningSandbox, delta: timedelta = timedelta(0)) -> str:
    return to_rfc3339(sandbox_now(sb) + delta)


def _offline(
    sb: RunningSandbox,
    client: httpx.Client,
    amount: int,
    *,
    household: str = "large",
    program: str = "kalabarg",
    category: str = "oil",
    beneficiary: dict[str, Any] | None = None,
    created_at: str | None = None,
    terminal_id: str = "T-0001",
    otp_answer: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An offline redemption of ``amount`` from one purse, in whole pieces that cover it."""
    p = product(sb, category=category)
    pieces = amount // p["price_rial"] + 1
    nid = sb.household(household)["national_id"]
    return redemption(
        beneficiary=beneficiary or {"token": sb.mint_token(nid)},
        lines=[line(p, quantity_milli=pieces * 1000)],
        allocations=[
            {"line": 0, "purse_id": purse_id(sb, household, program), "amount_rial": amount}
        ],
        rules=rules_version(client),
        mode="offline",
        created_at=created_at or _at(sb),
        terminal_id=terminal_id,
        otp=otp_answer,
    )


def _outcome(response: httpx.Response) -> str:
    """``approved`` or the decline reason; a decline must be kept and take nothing."""
    assert response.status_code == 201, response.text
    body = response.json()
    if body["status"] == "declined":
        assert body["covered_rial"] == 0 and body["receipt_code"] is None
        return str(body["reason"])
    return str(body["status"])


def _declined_for_good(
    client: httpx.Client, response: httpx.Response, body: dict[str, Any]
) -> None:
    assert _outcome(response) == "offline_not_allowed"
    stored = client.get(f"/v1/redemptions/{body['id']}")
    assert stored.status_code == 200 and stored.content == response.content
    again = post(client, body)
    assert again.status_code == 200 and again.content == response.content


def test_only_a_qr_token_may_be_served_offline(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    with sandbox.client() as client:
        before = purses(client, nid)
        typed = _offline(
            sandbox,
            client,
            100_000,
            household="kalabarg",
            beneficiary={"national_id": nid},
            otp_answer=otp(sandbox, client, nid),  # even with a right OTP
        )
        _declined_for_good(client, post(client, typed), typed)
        code = sandbox.mint_purchase_code(nid)
        by_code = _offline(
            sandbox, client, 100_000, household="kalabarg", beneficiary={"purchase_code": code}
        )
        _declined_for_good(client, post(client, by_code), by_code)
        assert purses(client, nid) == before
        # The purchase code was not used up: online it still pays.
        online = dict(by_code, id=new_id(), mode="online")
        assert _outcome(post(client, online)) == "approved"
        token = _offline(sandbox, client, 100_000, household="kalabarg")
        assert _outcome(post(client, token)) == "approved"


def test_the_token_must_have_been_valid_when_the_sale_was_made(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("large")["national_id"]
    with sandbox.client() as client:
        # Issued after the sale: the terminal cannot have checked it then.
        later = _offline(
            sandbox,
            client,
            100_000,
            beneficiary={"token": sandbox.mint_token(nid)},
            created_at=_at(sandbox, -timedelta(minutes=30)),
        )
        _declined_for_good(client, post(client, later), later)
        # Expired before the sale was made.
        short = sandbox.mint_token(nid, ttl_seconds=60)
        sandbox.advance_clock(10 * 60)
        expired = _offline(sandbox, client, 100_000, beneficiary={"token": short})
        _declined_for_good(client, post(client, expired), expired)
        # The same kind of token, valid at the sale, forwarded long after it expired: fine.
        kept = _offline(
            sandbox, client, 100_000, beneficiary={"token": sandbox.mint_token(nid, ttl_seconds=60)}
        )
        sandbox.advance_clock(3600)
        assert _outcome(post(client, kept)) == "approved"


def test_a_sale_older_than_72_hours_or_from_the_future(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        old = _offline(sandbox, client, 100_000)
        recent = _offline(sandbox, client, 100_000)
        sandbox.advance_clock(71 * 3600)
        assert _outcome(post(client, recent)) == "approved"  # 71 hours old
        sandbox.advance_clock(2 * 3600)
        _declined_for_good(client, post(client, old), old)  # 73 hours old
        soon = _offline(sandbox, client, 100_000, created_at=_at(sandbox, timedelta(minutes=3)))
        assert _outcome(post(client, soon)) == "approved"  # a clock a little ahead
        ahead = _offline(sandbox, client, 100_000, created_at=_at(sandbox, timedelta(minutes=10)))
        _declined_for_good(client, post(client, ahead), ahead)


def test_only_programmes_that_allow_offline(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        rules = client.get("/v1/rules").json()
        closed = {p["id"] for p in rules["programs"] if not p["offline"]["allowed"]}
        assert closed == {"donor", "yasna"}
        donor = _offline(
            sandbox, client, 100_000, household="kalabarg", program="donor", category="rice"
        )
        _declined_for_good(client, post(client, donor), donor)
        diapers = product(sandbox, group="diaper-s3")
        yasna = redemption(
            beneficiary={"token": sandbox.mint_token(sandbox.household("yasna")["national_id"])},
            lines=[line(diapers)],
            allocations=[
                {
                    "line": 0,
                    "purse_id": purse_id(sandbox, "yasna", "yasna"),
                    "amount_rial": min(diapers["price_rial"], diapers["max_unit_price_rial"]),
                    "quantity_milli": 1000,
                }
            ],
            rules=rules["version"],
            mode="offline",
            created_at=_at(sandbox),
        )
        _declined_for_good(client, post(client, yasna), yasna)
        online = dict(yasna, id=new_id(), mode="online")
        online["beneficiary"] = {
            "token": sandbox.mint_token(sandbox.household("yasna")["national_id"])
        }
        assert _outcome(post(client, online)) == "approved"


def test_the_offline_limit_per_transaction_of_the_named_rule_set(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        over = _offline(sandbox, client, KALABARG_PER_TRANSACTION + 1)
        _declined_for_good(client, post(client, over), over)
        online = dict(over, id=new_id(), mode="online")
        online["beneficiary"] = {
            "token": sandbox.mint_token(sandbox.household("large")["national_id"])
        }
        assert _outcome(post(client, online)) == "approved"  # online the limit is not offline's
    with sandbox.client("T-0002") as other:
        limit = _offline(sandbox, other, KALABARG_PER_TRANSACTION, terminal_id="T-0002")
        assert _outcome(post(other, limit)) == "approved"


def test_the_offline_limit_per_household_and_day(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client, sandbox.client("T-0002") as other:
        assert _outcome(post(client, _offline(sandbox, client, 3_000_000))) == "approved"
        second = _offline(sandbox, client, KALABARG_PER_DAY - 3_000_000)
        assert _outcome(post(client, second)) == "approved"
        over = _offline(sandbox, client, 1)
        _declined_for_good(client, post(client, over), over)
        # Online sales do not count, and another terminal counts its own.
        online = dict(_offline(sandbox, client, 1_000_000), mode="online")
        assert _outcome(post(client, online)) == "approved"
        theirs = _offline(sandbox, other, 3_000_000, terminal_id="T-0002")
        assert _outcome(post(other, theirs)) == "approved"
        # A sale made on another business date counts on that date.
        issued = sandbox_now(sandbox) - timedelta(days=1, minutes=5)
        nid = sandbox.household("large")["national_id"]
        yesterday = _offline(
            sandbox,
            client,
            1_000_000,
            beneficiary={"token": sandbox.sandbox.admin.mint_token(nid, issued_at=issued)["token"]},
            created_at=_at(sandbox, -timedelta(days=1)),
        )
        assert _outcome(post(client, yesterday)) == "approved"
        # A voided sale gives its share of the day back.
        voided = client.post(
            f"/v1/redemptions/{second['id']}/void",
            headers={"Idempotency-Key": f"void-{second['id']}"},
        )
        assert voided.status_code == 200
        assert _outcome(post(client, _offline(sandbox, client, 1_000_000))) == "approved"
        assert _outcome(post(client, _offline(sandbox, client, KALABARG_PER_DAY))) == (
            "offline_not_allowed"
        )


def test_in_a_batch_each_item_is_checked_as_if_sent_alone(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        items = [_offline(sandbox, client, 2_000_000) for _ in range(3)]
        response = client.post("/v1/redemptions/batch", json={"redemptions": items})
        assert response.status_code == 200
        results = response.json()["results"]
        assert [r["status_code"] for r in results] == [201, 201, 201]
        outcomes = [r["body"]["status"] for r in results]
        assert outcomes == ["approved", "approved", "declined"]
        assert results[2]["body"]["reason"] == "offline_not_allowed"
