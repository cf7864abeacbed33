"""The integrator's flow through a real agent: the wallet inquired while the cashier scans, then
one exchange with the ledger for the sale (the redemption); and what a held wallet may not do.

The inquiries are made to fail at the ledger (an injected fault on ``/v1/wallet-inquiries``)
after the agent's own inquiry: a redeem that asks the ledger again meets the fault (a purchase
code cannot be served offline: ``ledger_unavailable``); one that uses the held wallet does not.
"""

from __future__ import annotations

from typing import Any

import httpx

from pos_client.sandbox.server import RunningSandbox
from tests.agent.support import agent
from tests.support.lane import RICE_5KG, RICE_10KG, ledger_books, national_id
from tests.support.waiting import eventually

INQUIRY = "/v1/wallet-inquiries"


def _sale(credential: dict[str, str], barcode: str = RICE_5KG) -> dict[str, Any]:
    price = 4_900_000 if barcode == RICE_5KG else 14_500_000
    return {**credential, "lines": [{"barcode": barcode, "unit_price_rial": price}]}


def _ready(client: httpx.Client) -> None:
    eventually(lambda: client.get("/v1/health").json()["rules_version"], "the rules are fetched")


def _inquiries_fail(sandbox: RunningSandbox) -> None:
    sandbox.add_fault("error_before", INQUIRY, count=None, status=503)


def _asked_again(answer: dict[str, Any]) -> bool:
    """The redeem asked the ledger for the wallet again (and met the fault)."""
    return answer["status"] == "refused_offline" and answer["reason"] == "ledger_unavailable"


def test_a_redeem_after_an_inquiry_of_the_same_credential_makes_one_exchange(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    code, other = sandbox.mint_purchase_code(nid), sandbox.mint_purchase_code(nid)
    with agent(sandbox) as running, running.client() as client:
        _ready(client)
        wallet = client.post(INQUIRY, json={"purchase_code": code})
        assert wallet.status_code == 200, wallet.text
        _inquiries_fail(sandbox)
        # Another credential of the same household: not held, asked again, refused.
        refused = client.post("/v1/redemptions", json=_sale({"purchase_code": other})).json()
        assert _asked_again(refused), refused
        # The held wallet was dropped by that checkout: inquire again, then sell.
        sandbox.clear_faults()
        assert client.post(INQUIRY, json={"purchase_code": code}).status_code == 200
        _inquiries_fail(sandbox)
        sale = client.post("/v1/redemptions", json=_sale({"purchase_code": code})).json()
        assert sale["status"] == "approved" and sale["covered_rial"] == 4_900_000, sale
        # Used once: the same credential again asks the ledger again.
        again = client.post("/v1/redemptions", json=_sale({"purchase_code": code})).json()
        assert _asked_again(again), again
        # The one-shot redeem (no inquiry before) still works: it inquires itself.
        sandbox.clear_faults()
        one_shot = client.post("/v1/redemptions", json=_sale({"purchase_code": other})).json()
        assert one_shot["status"] == "approved", one_shot
    assert sorted(ledger_books(sandbox)["redemption_ids"]) == sorted([sale["id"], one_shot["id"]])


def test_a_sale_drops_every_held_wallet(sandbox: RunningSandbox) -> None:
    first = sandbox.mint_purchase_code(national_id(sandbox, "kalabarg"))
    second = sandbox.mint_purchase_code(national_id(sandbox, "kalabarg"))
    with agent(sandbox) as running, running.client() as client:
        _ready(client)
        assert client.post(INQUIRY, json={"purchase_code": first}).status_code == 200
        assert client.post(INQUIRY, json={"purchase_code": second}).status_code == 200
        _inquiries_fail(sandbox)
        sale = client.post("/v1/redemptions", json=_sale({"purchase_code": first})).json()
        assert sale["status"] == "approved", sale
        # The second wallet was read before that sale moved the balances: asked again.
        after = client.post("/v1/redemptions", json=_sale({"purchase_code": second})).json()
        assert _asked_again(after), after
    assert ledger_books(sandbox)["redemption_ids"] == [sale["id"]]


def test_a_national_id_sale_after_its_inquiry_still_needs_the_texted_code(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    with agent(sandbox) as running, running.client() as client:
        _ready(client)
        wallet = client.post(INQUIRY, json={"national_id": nid}).json()
        assert wallet["requires_otp"] is True
        challenge = client.post("/v1/otp-challenges", json={"national_id": nid}).json()
        _inquiries_fail(sandbox)
        without = client.post("/v1/redemptions", json=_sale({"national_id": nid}))
        assert without.status_code == 400 and without.json()["code"] == "bad_input"
        # The refusal above was bad input, before the lane was taken: the wallet is still held.
        wrong = {"national_id": nid, "otp_challenge": challenge["challenge_id"], "otp": "000000"}
        if sandbox.otp_code(challenge["challenge_id"]) == "000000":
            wrong["otp"] = "111111"
        declined = client.post("/v1/redemptions", json=_sale(wrong)).json()
        assert declined["status"] == "declined" and declined["goes_ahead"] is False, declined
        sandbox.clear_faults()
        assert client.post(INQUIRY, json={"national_id": nid}).status_code == 200
        _inquiries_fail(sandbox)
        right = {**wrong, "otp": sandbox.otp_code(challenge["challenge_id"])}
        sale = client.post("/v1/redemptions", json=_sale(right)).json()
        assert sale["status"] == "approved", sale
    assert ledger_books(sandbox)["redemption_ids"] == [sale["id"]]


def test_a_wallet_held_on_one_lane_while_another_spends_is_declined_by_the_ledger(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    code, token = sandbox.mint_purchase_code(nid), sandbox.mint_token(nid)
    with (
        agent(sandbox) as lane1,
        agent(sandbox, terminal_id="T-0002") as lane2,
        lane1.client() as one,
        lane2.client() as two,
    ):
        _ready(one)
        _ready(two)
        held = one.post(INQUIRY, json={"purchase_code": code}).json()
        assert sum(p["balance_rial"] for p in held["purses"] if p["program"] == "kalabarg") > 0
        spent = two.post("/v1/redemptions", json=_sale({"token": token}, RICE_10KG)).json()
        assert spent["status"] == "approved", spent
        # Lane 1's held wallet still shows the balance lane 2 spent: the ledger is the judge.
        stale = one.post("/v1/redemptions", json=_sale({"purchase_code": code}, RICE_10KG))
        answer = stale.json()
        assert answer["goes_ahead"] is False and answer["status"] == "declined", answer
        assert answer["reason"] == "insufficient_balance"
    assert ledger_books(sandbox, "T-0001")["redemption_ids"] == []
    assert ledger_books(sandbox, "T-0002")["redemption_ids"] == [spent["id"]]
