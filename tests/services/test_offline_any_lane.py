"""A KB2 token serves a household offline at any lane, even one that never saw it.

Against the sandbox ledger as a real server on loopback, each lane with its own
SQLite store: the ledger is "down" through the sandbox's faults.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from pos_client.compose import App
from pos_client.domain.national_id import national_id_hash
from pos_client.domain.reconcile import Finding
from pos_client.domain.redemption import body_mode
from pos_client.domain.signing import b64url_decode, b64url_encode
from pos_client.domain.states import RedemptionStatus as S
from pos_client.domain.tokens import TokenPurse, parse_token, sign_token
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.checkout import CheckoutError, CheckoutRefused
from pos_client.services.checkout.offline_token import OFFLINE_SOURCE_CARD
from pos_client.services.redemptions import SaleOutcome
from tests.support.lane import (
    MILK_1L,
    PASTA,
    SUGAR,
    lane,
    lane_config,
    ledger_books,
    ledger_redemption,
    national_id,
)

MILK_3L = 3 * 420_000


def ledger_down(sandbox: RunningSandbox) -> None:
    sandbox.add_fault("rate_limit", "/v1/*", count=None, retry_after=30)


def never_seen(app: App, nid: str) -> bool:
    return app.store.cached_wallet(app.store.household_key(nid)) is None


async def offline_milk(app: App, token: str) -> SaleOutcome:
    session = app.checkout.new_session()
    await session.identify(token)
    session.scan(MILK_1L, quantity_milli=3000)
    outcome = await session.confirm()
    session.acknowledge()
    return outcome


async def test_a_never_seen_household_is_served_offline_then_the_books_agree(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    token = sandbox.mint_token(nid, version=2)
    async with lane(sandbox) as app:
        assert never_seen(app, nid)
        ledger_down(sandbox)
        session = app.checkout.new_session()
        household = await session.identify(token)
        assert household.offline and household.from_card and not household.requires_otp
        assert [p.program for p in household.purses] == ["kalabarg"]  # what may go offline
        session.scan(MILK_1L, quantity_milli=3000)
        outcome = await session.confirm()
        session.acknowledge()
        assert outcome.status == "approved_offline" and outcome.goes_ahead
        assert outcome.offline_source == OFFLINE_SOURCE_CARD
        assert outcome.to_json()["offline_source"] == "household_card"
        assert outcome.covered_rial == MILK_3L
        assert app.store.token_used(parse_token(token).jti)
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and body_mode(entry.body) == "offline"  # 429: never processed
        assert json.loads(entry.body)["beneficiary"] == {"token": token}

        sandbox.clear_faults()
        assert ledger_redemption(sandbox, outcome.id or "") is None  # nothing reached it
        report = await app.forwarder.sync(until_empty=True, timeout=30)
        assert report.remaining == 0 and report.approved == 1 and report.problems == 0
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.APPROVED
        assert body_mode(entry.body) == "offline"
        z = await app.reports.close_day()
    assert z.reconciliation is not None
    assert {line.id: line.finding for line in z.reconciliation.lines} == {
        outcome.id: Finding.MATCHED
    }
    assert z.status == "agreed"
    books = ledger_books(sandbox)
    assert books["redemption_ids"] == [outcome.id]
    assert books["covered_rial"] == MILK_3L


async def test_the_same_token_at_a_second_lane_in_the_same_outage(
    sandbox: RunningSandbox,
) -> None:
    """The merchant's risk, bounded by the limits: the second lane collects it later."""
    nid = national_id(sandbox, "kalabarg")
    token = sandbox.mint_token(nid, version=2)
    async with lane(sandbox) as a, lane(sandbox, "T-0002") as b:
        ledger_down(sandbox)
        first = await offline_milk(a, token)
        second = await offline_milk(b, token)  # lane 2 cannot know lane 1 used it
        assert first.status == second.status == "approved_offline"
        assert second.offline_source == OFFLINE_SOURCE_CARD
        with pytest.raises(CheckoutRefused) as again:  # but each lane knows its own
            await a.checkout.new_session().identify(token)
        assert again.value.code == "token_used"

        sandbox.clear_faults()
        assert (await a.forwarder.sync(until_empty=True, timeout=30)).approved == 1
        report = await b.forwarder.sync(until_empty=True, timeout=30)
        assert report.declined == 1 and report.problems == 1
        entry = b.store.redemption(second.id or "")
        assert entry is not None and entry.status is S.DECLINED
        answer = ledger_redemption(sandbox, second.id or "", "T-0002")
        assert answer["status"] == "declined" and answer["reason"] == "token_used"
        [problem] = b.store.problems()
        assert problem.kind == "declined_after_offline"
        assert problem.redemption_id == second.id
        assert problem.collect_rial == MILK_3L
        assert a.store.problems() == []
    assert ledger_books(sandbox)["redemption_ids"] == [first.id]
    assert ledger_books(sandbox, "T-0002")["redemption_ids"] == []


async def test_a_kb1_token_of_a_never_seen_household_is_still_refused_plainly(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        ledger_down(sandbox)
        with pytest.raises(CheckoutRefused) as caught:
            await app.checkout.new_session().identify(sandbox.mint_token(nid))
        assert caught.value.code == "ledger_unavailable"
        assert "not known here" in caught.value.message


async def test_a_kb2_token_online_is_an_ordinary_token(sandbox: RunningSandbox) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        household = await session.identify(sandbox.mint_token(nid, version=2))
        assert not household.offline and not household.from_card
        assert len(household.purses) == len(sandbox.household("kalabarg")["purses"])
        session.scan(SUGAR)  # online the donor purse may pay
        outcome = await session.confirm()
        assert outcome.status == "approved" and outcome.offline_source is None


async def test_a_fresher_saved_wallet_lowers_the_card(sandbox: RunningSandbox) -> None:
    nid = national_id(sandbox, "low_balance")  # 500,000 Rials in one purse
    token = sandbox.mint_token(nid, version=2)
    (card_purse,) = parse_token(token).purses
    async with lane(sandbox) as app:
        spend = app.checkout.new_session()  # after the card was issued, online at this lane
        await spend.identify(sandbox.mint_token(nid))
        spend.scan(PASTA)
        assert (await spend.confirm()).status == "approved"
        spend.acknowledge()
        look = app.checkout.new_session()
        saved = await look.identify(sandbox.mint_token(nid))  # saves the wallet as it stands
        left = next(p.balance_rial for p in saved.purses if p.id == card_purse.id)
        assert card_purse.off_rial is not None and left < card_purse.off_rial
        ledger_down(sandbox)
        household = await app.checkout.new_session().identify(token)
        (purse,) = household.purses
        assert purse.balance_rial == left
        sandbox.clear_faults()


# --------------------------------------------------------------------------- bad input


def _sign(sandbox: RunningSandbox, token: str, **changes: object) -> str:
    claims = replace(parse_token(token), **changes)  # type: ignore[arg-type]
    return sign_token(claims, private_key=sandbox.sandbox.signer.private_key)


def _purse(token: str) -> TokenPurse:
    return parse_token(token).purses[0]


async def test_bad_snapshots_are_refused_or_bounded(sandbox: RunningSandbox) -> None:
    nid = national_id(sandbox, "large")  # 50 billion Rials on the card's purse
    token = sandbox.mint_token(nid, version=2)
    base = _purse(token)
    config = lane_config(sandbox, max_rial_per_transaction=2_000_000)
    async with lane(sandbox, config=config) as app:
        ledger_down(sandbox)
        now = datetime.now().astimezone()

        # A purse the rules do not know, and an expired one: not spent; nothing left: refused.
        for bad in (
            replace(base, program="unknown-programme"),
            replace(base, expires_at=(now - timedelta(hours=1)).replace(microsecond=0)),
        ):
            with pytest.raises(CheckoutRefused) as caught:
                await app.checkout.new_session().identify(_sign(sandbox, token, purses=(bad,)))
            assert caught.value.code == "nothing_offline"
            assert "nothing on the household's card" in caught.value.message
        mixed = _sign(sandbox, token, purses=(replace(base, id="pu_x", program="nope"), base))
        household = await app.checkout.new_session().identify(mixed)
        assert [p.id for p in household.purses] == [base.id]

        # An off above every limit: bounded by the smallest (here the lane's per sale).
        rich = _sign(sandbox, token, purses=(replace(base, off_rial=10**14),))
        session = app.checkout.new_session()
        household = await session.identify(rich)
        assert household.purses[0].balance_rial == 5_000_000  # the programme's offline limit
        session.scan(MILK_1L, quantity_milli=6000)  # 2,520,000
        outcome = await session.confirm()
        assert outcome.status == "refused_offline" and outcome.reason == "over_transaction_limit"
        assert not outcome.goes_ahead
        assert app.store.outstanding_offline_rial() == 0

        # Each purse by its own off, whatever the token's total.
        small = _sign(sandbox, token, purses=(replace(base, off_rial=500_000),))
        session = app.checkout.new_session()
        await session.identify(small)
        session.scan(MILK_1L, quantity_milli=3000)
        outcome = await session.confirm()
        assert outcome.status == "approved_offline" and outcome.covered_rial == 500_000
        assert outcome.payable_rial == MILK_3L - 500_000

        # A tampered snapshot: the signature no longer matches; refused before any request.
        tag, body, signature = sandbox.mint_token(nid, version=2).split(".")
        payload = json.loads(b64url_decode(body))
        payload["purses"][0]["off"] = 10**12
        tampered = f"{tag}.{b64url_encode(json.dumps(payload).encode())}.{signature}"
        with pytest.raises(CheckoutRefused) as caught:
            await app.checkout.new_session().identify(tampered)
        assert caught.value.code == "token_invalid"

        # An oversized payload: malformed, a clear sentence.
        big = dict(payload, pad="x" * 1100)
        oversized = f"{tag}.{b64url_encode(json.dumps(big).encode())}.{signature}"
        with pytest.raises(CheckoutError) as malformed:
            await app.checkout.new_session().identify(oversized)
        assert malformed.value.code == "token_malformed"
        assert "too large" in malformed.value.message

        # KB1 tag on a KB2 payload, KB2 tag on a KB1 payload: malformed.
        kb1 = sandbox.mint_token(nid)
        for text in (
            "KB1." + ".".join(token.split(".")[1:]),
            "KB2." + ".".join(kb1.split(".")[1:]),
        ):
            with pytest.raises(CheckoutError) as swapped:
                await app.checkout.new_session().identify(text)
            assert swapped.value.code == "token_malformed"
        sandbox.clear_faults()


async def test_a_hot_listed_household_with_a_card_is_refused_offline(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "blocked")
    token = sandbox.mint_token(nid, version=2)
    async with lane(sandbox) as app:
        rules = app.rules.current()
        assert rules is not None and national_id_hash(nid) in rules.hot_list
        ledger_down(sandbox)
        session = app.checkout.new_session()
        await session.identify(token)
        session.scan(MILK_1L)
        outcome = await session.confirm()
        assert outcome.status == "refused_offline" and outcome.reason == "hot_listed"
        sandbox.clear_faults()
