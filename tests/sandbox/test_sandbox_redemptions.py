"""Redemptions: approvals, every decline reason, idempotency and reading back by id."""

from __future__ import annotations

import httpx
import pytest

from pos_client.domain.money import line_amount
from pos_client.domain.national_id import national_id_hash
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
    simple_spend,
)


def _decline(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "declined"
    assert body["covered_rial"] == 0 and body["approved_at"] is None
    assert body["receipt_code"] is None
    assert all(a["status"] == "refused" and a["reason"] for a in body["allocations"])
    return str(body["reason"])


def test_an_approved_redemption_and_its_replays(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    tranche = purse_id(sandbox, "kalabarg", "kalabarg")
    with sandbox.client() as client:
        before = purses(client, nid)[tranche]["balance_rial"]
        body = simple_spend(sandbox, client, amount=4_000_000)
        first = post(client, body)
        assert first.status_code == 201
        result = first.json()
        assert result["id"] == body["id"]
        assert result["status"] == "approved"
        assert result["covered_rial"] == 4_000_000 and result["declined_rial"] == 0
        assert result["approved_at"] and result["receipt_code"]
        assert result["allocations"][0]["status"] == "applied"
        after = {p["id"]: p for p in result["purses_after"]}
        assert after[tranche]["balance_rial"] == before - 4_000_000
        assert purses(client, nid)[tranche]["balance_rial"] == before - 4_000_000

        for _ in range(3):  # the stored response, byte for byte, however many times
            again = post(client, body)
            assert again.status_code == 200
            assert again.content == first.content
        reordered = client.post(
            "/v1/redemptions",
            content=httpx.Request("POST", "/", json=dict(reversed(list(body.items())))).content,
            headers={"Idempotency-Key": body["id"], "Content-Type": "application/json"},
        )
        assert reordered.status_code == 200 and reordered.content == first.content
        stored = client.get(f"/v1/redemptions/{body['id']}")
        assert stored.status_code == 200 and stored.content == first.content
        assert purses(client, nid)[tranche]["balance_rial"] == before - 4_000_000

        changed = dict(body, allocations=[dict(body["allocations"][0], amount_rial=3_999_000)])
        conflict = post(client, changed)
        assert conflict.status_code == 409
        assert conflict.json()["code"] == "idempotency_conflict"
        assert purses(client, nid)[tranche]["balance_rial"] == before - 4_000_000


def test_reading_back_a_redemption(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client, sandbox.client("T-0002") as other:
        missing = client.get(f"/v1/redemptions/{new_id()}")
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
        body = simple_spend(sandbox, client, amount=100_000)
        assert post(client, body).status_code == 201
        # Another terminal cannot read it.
        assert other.get(f"/v1/redemptions/{body['id']}").status_code == 404


def test_request_headers_and_terminal(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        body = simple_spend(sandbox, client, amount=100_000)
        no_key = client.post("/v1/redemptions", json=body)
        assert (no_key.status_code, no_key.json()["code"]) == (400, "invalid_request")
        wrong_key = post(client, body, key=new_id())
        assert (wrong_key.status_code, wrong_key.json()["code"]) == (400, "invalid_request")
        other = dict(body, terminal_id="T-0002")
        mismatch = post(client, other)
        assert (mismatch.status_code, mismatch.json()["code"]) == (403, "terminal_mismatch")
        assert client.get(f"/v1/redemptions/{body['id']}").status_code == 404


def test_otp_for_a_national_id(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    tranche = purse_id(sandbox, "kalabarg", "kalabarg")
    rice = product(sandbox, category="rice")
    with sandbox.client() as client:
        rules = rules_version(client)

        def body(answer: dict[str, str] | None) -> dict[str, object]:
            return redemption(
                beneficiary={"national_id": nid},
                lines=[line(rice)],
                allocations=[{"line": 0, "purse_id": tranche, "amount_rial": 500_000}],
                rules=rules,
                otp=answer,
            )

        assert _decline(post(client, body(None))) == "otp_required"
        right = otp(sandbox, client, nid)
        wrong = dict(right, code="999999" if right["code"] != "999999" else "888888")
        assert _decline(post(client, body(wrong))) == "otp_invalid"
        assert _decline(post(client, body({**right, "challenge_id": "ch_nothing"}))) == (
            "otp_invalid"
        )
        with sandbox.client("T-0002") as lane2:  # a code is bound to its terminal
            moved = redemption(
                beneficiary={"national_id": nid},
                lines=[line(rice)],
                allocations=[{"line": 0, "purse_id": tranche, "amount_rial": 500_000}],
                rules=rules,
                otp=right,
                terminal_id="T-0002",
            )
            assert _decline(post(lane2, moved)) == "otp_invalid"
        approved = post(client, body(right))
        assert approved.json()["status"] == "approved"
        assert _decline(post(client, body(right))) == "otp_invalid"  # used once only

        # Few attempts: after five wrong codes even the right one is refused.
        fresh = otp(sandbox, client, nid)
        bad = dict(fresh, code="000000" if fresh["code"] != "000000" else "111111")
        for _ in range(5):
            assert _decline(post(client, body(bad))) == "otp_invalid"
        assert _decline(post(client, body(fresh))) == "otp_invalid"

        # Short life: an expired challenge is refused.
        late = otp(sandbox, client, nid)
        sandbox.advance_clock(6 * 60)
        assert _decline(post(client, body(late))) == "otp_invalid"


def test_tokens_and_purchase_codes_are_single_use(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    with sandbox.client() as client:
        body = simple_spend(sandbox, client, amount=200_000)
        assert post(client, body).json()["status"] == "approved"
        again = dict(body, id=new_id())
        assert _decline(post(client, again)) == "token_used"
        inquiry = client.post("/v1/wallet-inquiries", json={"token": body["beneficiary"]["token"]})
        assert (inquiry.status_code, inquiry.json()["code"]) == (422, "token_used")

        code = sandbox.mint_purchase_code(nid)
        by_code = dict(body, id=new_id(), beneficiary={"purchase_code": code})
        assert post(client, by_code).json()["status"] == "approved"
        assert _decline(post(client, dict(by_code, id=new_id()))) == "token_used"

        # A declined redemption does not use the token up.
        token = sandbox.mint_token(nid)
        too_much = dict(
            body,
            id=new_id(),
            beneficiary={"token": token},
            allocations=[dict(body["allocations"][0], amount_rial=99_000_000_000)],
        )
        response = post(client, too_much)
        assert response.status_code == 400  # more than the line's amount: malformed
        poor = dict(
            body,
            id=new_id(),
            beneficiary={"token": token},
            allocations=[dict(body["allocations"][0], amount_rial=14_000_000)],
        )
        poor["lines"] = [line(product(sandbox, category="rice"))]
        assert post(client, poor).json()["status"] == "approved"


def test_blocked_and_outdated_rules(sandbox: RunningSandbox) -> None:
    blocked = sandbox.household("blocked")
    with sandbox.client() as client:
        rules = rules_version(client)
        token = sandbox.mint_token(blocked["national_id"])
        body = redemption(
            beneficiary={"token": token},
            lines=[line(product(sandbox, category="rice"))],
            allocations=[
                {"line": 0, "purse_id": blocked["purses"][0]["id"], "amount_rial": 100_000}
            ],
            rules=rules,
        )
        assert _decline(post(client, body)) == "beneficiary_blocked"

        fine = simple_spend(sandbox, client, amount=100_000)
        unknown = dict(fine, rules_version="r-1999-01-01-01")
        assert _decline(post(client, unknown)) == "rules_outdated"
        # Offline: the rule set must have been valid when the sale was made.
        late = simple_spend(sandbox, client, amount=100_000)
        late.update(mode="offline", created_at="2099-01-01T10:00:00+03:30")
        assert _decline(post(client, late)) == "rules_outdated"


def test_allocation_reasons(sandbox: RunningSandbox) -> None:
    """Each of the contract's allocation reasons, from the purses as they stand."""
    with sandbox.client() as client, sandbox.client("T-0003") as tehran:
        rules = rules_version(client)

        def spend(
            household: str,
            purse: str,
            category: str,
            amount: int,
            lane: httpx.Client = client,
            terminal: str = "T-0001",
            quantity_milli: int = 10_000,
        ) -> str:
            nid = sandbox.household(household)["national_id"]
            body = redemption(
                beneficiary={"token": sandbox.mint_token(nid)},
                lines=[line(product(sandbox, category=category), quantity_milli=quantity_milli)],
                allocations=[{"line": 0, "purse_id": purse, "amount_rial": amount}],
                rules=rules,
                terminal_id=terminal,
            )
            return _decline(post(lane, body))

        low = purse_id(sandbox, "low_balance", "kalabarg")
        assert spend("low_balance", low, "rice", 600_000) == "insufficient_balance"
        t7 = purse_id(sandbox, "kalabarg", "مرحله ۷")
        t8 = purse_id(sandbox, "kalabarg", "مرحله ۸")
        donor = purse_id(sandbox, "kalabarg", "donor")
        assert spend("kalabarg", t7, "fish", 100_000) == "category_not_allowed"  # not in the 11
        assert spend("kalabarg", t8, "rice", 100_000) == "purse_expired"  # not unlocked yet
        assert spend("kalabarg", donor, "rice", 100_000, tehran, "T-0003") == "city_mismatch"
        assert spend("kalabarg", "pu_nothing", "rice", 100_000) == "purse_not_found"
        old = purse_id(sandbox, "expired_tranche", "مرحله ۶")
        assert spend("expired_tranche", old, "rice", 100_000) == "purse_expired"
        big = purse_id(sandbox, "large", "kalabarg")
        assert (
            spend("large", big, "red-meat", 100_000_001, quantity_milli=20_000)
            == "over_transaction_limit"
        )
        dairy_limit = sandbox.household("kalabarg")["purses"][0]["category_limits_rial"]["dairy"]
        assert spend("kalabarg", t7, "cheese", dairy_limit + 1_000) == "insufficient_balance"
        # None of that changed a balance.
        nid = sandbox.household("kalabarg")["national_id"]
        now = purses(client, nid)
        for p in sandbox.household("kalabarg")["purses"]:
            assert now[p["id"]] == p


def test_partial_approval_only_for_offline(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("low_balance")["national_id"]
    low = purse_id(sandbox, "low_balance", "kalabarg")
    with sandbox.client() as client:
        rules = rules_version(client)
        rice = product(sandbox, category="rice")

        def body(mode: str) -> dict[str, object]:
            return redemption(
                beneficiary={"token": sandbox.mint_token(nid)},
                lines=[line(rice)],
                allocations=[{"line": 0, "purse_id": low, "amount_rial": 800_000}],
                rules=rules,
                mode=mode,
            )

        assert _decline(post(client, body("online"))) == "insufficient_balance"
        response = post(client, body("offline"))
        assert response.status_code == 201
        result = response.json()
        assert result["status"] == "partially_approved"
        assert result["covered_rial"] == 500_000 and result["declined_rial"] == 300_000
        assert result["allocations"][0]["status"] == "reduced"
        assert result["allocations"][0]["reason"] == "insufficient_balance"
        assert purses(client, nid)[low]["balance_rial"] == 0
        # Nothing left: an offline forward now takes nothing and is declined.
        assert _decline(post(client, body("offline"))) == "insufficient_balance"


def test_yasna_pays_quantities_up_to_the_price_cap(sandbox: RunningSandbox) -> None:
    household = sandbox.household("yasna")
    nid = household["national_id"]
    yasna = purse_id(sandbox, "yasna", "yasna")
    diapers = product(sandbox, group="diaper-s3")
    cap = diapers["max_unit_price_rial"]
    price = cap + 500_000  # the shop asks more than the programme pays
    with sandbox.client() as client:
        body = redemption(
            beneficiary={"token": sandbox.mint_token(nid)},
            lines=[line(diapers, quantity_milli=3000, price=price)],
            allocations=[
                {
                    "line": 0,
                    "purse_id": yasna,
                    "amount_rial": line_amount(2000, cap),
                    "quantity_milli": 2000,
                }
            ],
            rules=rules_version(client),
        )
        result = post(client, body).json()
        assert result["status"] == "approved", result
        assert result["covered_rial"] == 2 * cap
        after = {p["id"]: p for p in result["purses_after"]}[yasna]
        left = {e["group"]: e["remaining_milli"] for e in after["entitlements"]}
        assert left["diaper-s3"] == 4000 - 2000
        # More than is left of the group: declined online.
        more = dict(
            body,
            id=new_id(),
            beneficiary={"token": sandbox.mint_token(nid)},
            allocations=[
                dict(
                    body["allocations"][0], quantity_milli=3000, amount_rial=line_amount(3000, cap)
                )
            ],
        )
        assert _decline(post(client, more)) == "insufficient_balance"


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_a_malformed_allocation_is_invalid_and_not_kept(sandbox: RunningSandbox, mode: str) -> None:
    with sandbox.client() as client:
        body = simple_spend(sandbox, client, amount=100_000)
        body["mode"] = mode
        body["allocations"][0]["line"] = 0
        body["lines"][0]["amount_rial"] += 1  # not round_half_up(q * p / 1000)
        response = post(client, body)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
        assert client.get(f"/v1/redemptions/{body['id']}").status_code == 404


def test_tokens_online_and_offline(sandbox: RunningSandbox) -> None:
    """Online, a token must be valid now; offline, when the sale was made."""
    nid = sandbox.household("kalabarg")["national_id"]
    with sandbox.client() as client:
        online = simple_spend(sandbox, client, amount=100_000)
        online["beneficiary"] = {"token": sandbox.mint_token(nid, ttl_seconds=60)}
        offline = simple_spend(sandbox, client, amount=100_000)
        offline["beneficiary"] = {"token": sandbox.mint_token(nid, ttl_seconds=60)}
        offline["mode"] = "offline"
        sandbox.advance_clock(3600)  # forwarded an hour later
        expired = post(client, online)
        assert (expired.status_code, expired.json()["code"]) == (422, "token_expired")
        assert client.get(f"/v1/redemptions/{online['id']}").status_code == 404
        forwarded = post(client, offline)
        assert forwarded.status_code == 201 and forwarded.json()["status"] == "approved"


def test_an_unknown_household_records_nothing(sandbox: RunningSandbox) -> None:
    stranger = "0499370899"  # a valid national ID no demo household has
    assert stranger not in {h["national_id"] for h in sandbox.info["households"]}
    with sandbox.client() as client:
        for beneficiary in ({"national_id": stranger}, {"token": sandbox.mint_token(stranger)}):
            body = simple_spend(sandbox, client, amount=100_000)
            body["beneficiary"] = beneficiary
            response = post(client, body)
            assert (response.status_code, response.json()["code"]) == (404, "beneficiary_not_found")
            assert client.get(f"/v1/redemptions/{body['id']}").status_code == 404


def test_the_hot_list_can_change(sandbox: RunningSandbox) -> None:
    household = sandbox.household("kalabarg")
    nid = household["national_id"]
    with sandbox.client() as client:
        version = rules_version(client)
        sandbox.set_blocked(nid, True)
        rules = client.get("/v1/rules").json()
        assert rules["version"] != version
        assert national_id_hash(nid) in rules["hot_list"]
        refused = client.post("/v1/wallet-inquiries", json={"national_id": nid})
        assert (refused.status_code, refused.json()["code"]) == (403, "beneficiary_blocked")
        body = simple_spend(sandbox, client, amount=100_000)
        assert _decline(post(client, body)) == "beneficiary_blocked"
        sandbox.set_blocked(nid, False)
        assert national_id_hash(nid) not in client.get("/v1/rules").json()["hot_list"]
        again = simple_spend(sandbox, client, amount=100_000)
        assert post(client, again).json()["status"] == "approved"


def test_sandbox_info_matches_sandbox_json(sandbox: RunningSandbox) -> None:
    info = httpx.get(sandbox.url + "sandbox/info").json()
    assert info["terminals"] == sandbox.info["terminals"]
    assert info["signing_key"] == sandbox.info["signing_key"]
    assert [h["national_id"] for h in info["households"]] == [
        h["national_id"] for h in sandbox.info["households"]
    ]


def test_weighed_goods_and_goods_outside_the_catalog(sandbox: RunningSandbox) -> None:
    nid = sandbox.household("kalabarg")["national_id"]
    tranche = purse_id(sandbox, "kalabarg", "kalabarg")
    chicken = product(sandbox, category="chicken")
    assert chicken["unit"] == "kg"
    loose = {"gtin": "2000000000008", "price_rial": 990_000}  # not in the catalog
    with sandbox.client() as client:
        weighed = line(chicken, quantity_milli=1_250)
        body = redemption(
            beneficiary={"token": sandbox.mint_token(nid)},
            lines=[weighed, line(loose, quantity_milli=2000)],
            allocations=[{"line": 0, "purse_id": tranche, "amount_rial": weighed["amount_rial"]}],
            rules=rules_version(client),
        )
        result = post(client, body).json()
        assert result["status"] == "approved"
        assert result["covered_rial"] == line_amount(1_250, chicken["price_rial"])
        # The household pays the loose item itself: no purse may cover it.
        covered_loose = dict(
            body,
            id=new_id(),
            beneficiary={"token": sandbox.mint_token(nid)},
            allocations=[{"line": 1, "purse_id": tranche, "amount_rial": 100_000}],
        )
        assert _decline(post(client, covered_loose)) == "category_not_allowed"
