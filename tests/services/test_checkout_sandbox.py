"""The checkout against the sandbox ledger as a real server (HTTP on loopback), faults included."""

from __future__ import annotations

import pytest

from pos_client.domain.redemption import body_mode
from pos_client.domain.states import RedemptionStatus as S
from pos_client.errors import StoreError
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.checkout import CheckoutError, CheckoutRefused, Stage
from tests.support.lane import (
    LENTILS,
    MILK_1L,
    NOT_IN_CATALOG,
    PASTA,
    RICE_5KG,
    SUGAR,
    lane,
    lane_config,
    ledger_books,
    ledger_redemption,
    national_id,
)


async def test_a_token_sale_is_approved_written_and_on_the_books_once(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        household = await session.identify(token)
        assert household.identity_kind == "token" and not household.requires_otp
        assert household.masked_id == "390*****15"
        session.scan(RICE_5KG)
        session.scan(MILK_1L, quantity_milli=2000)
        view = session.scan(NOT_IN_CATALOG)
        assert [item.in_catalog for item in view.items] == [True, True, False]
        assert view.items[2].payers == () and view.payable_rial >= 300_000
        outcome = await session.confirm()
        assert outcome.status == "approved" and outcome.goes_ahead
        assert outcome.covered_rial == view.covered_rial == 4_900_000 + 840_000
        assert outcome.payable_rial == 300_000 and outcome.receipt_code
        session.acknowledge()
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.APPROVED and entry.intent is None
        assert entry.seen and app.store.token_used(_jti(token))
        assert app.store.last_contact() is not None
    books = ledger_books(sandbox)
    assert books["redemption_ids"].count(outcome.id) == 1


def _jti(token: str) -> str:
    from pos_client.domain.tokens import parse_token

    return parse_token(token).jti


async def test_a_used_token_is_refused_on_the_terminal_before_any_request(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(SUGAR)
        assert (await session.confirm()).status == "approved"
        sandbox.add_fault("unavailable", "/v1/*", count=None)
        with pytest.raises(CheckoutRefused) as caught:
            await app.checkout.new_session().identify_token(token)
        assert caught.value.code == "token_used"
        sandbox.clear_faults()


async def test_the_ledger_declines_what_another_lane_spent_meanwhile(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "low_balance")
    first, second = sandbox.mint_token(nid), sandbox.mint_token(nid)
    async with lane(sandbox) as a, lane(sandbox, "T-0002") as b:
        slow = a.checkout.new_session()
        await slow.identify_token(first)
        slow.scan(LENTILS)  # the plan covers the whole 500,000 left
        fast = b.checkout.new_session()
        await fast.identify_token(second)
        fast.scan(PASTA)
        assert (await fast.confirm()).status == "approved"
        outcome = await slow.confirm()
        assert outcome.status == "declined" and not outcome.goes_ahead
        assert outcome.reason == "insufficient_balance" and outcome.covered_rial == 0
        entry = a.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.DECLINED and entry.intent is None
        assert not a.store.token_used(_jti(first))  # a decline used nothing
    assert outcome.id not in ledger_books(sandbox)["redemption_ids"]


async def test_a_typed_national_id_needs_the_texted_code(sandbox: RunningSandbox) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        household = await session.identify(nid)
        assert household.requires_otp and session.stage is Stage.OTP
        session_basket = session.scan(RICE_5KG)
        assert session_basket.covered_rial == 4_900_000
        with pytest.raises(CheckoutError):
            await session.confirm()  # no code yet
        challenge = await session.request_otp()
        session.enter_otp("000000")
        wrong = await session.confirm()
        assert wrong.status == "declined" and wrong.reason == "otp_invalid"

        again = app.checkout.new_session()
        await again.identify_national_id(nid)
        challenge = await again.request_otp()
        again.enter_otp(sandbox.otp_code(challenge.challenge_id))
        again.scan(RICE_5KG)
        outcome = await again.confirm()
        assert outcome.status == "approved"
    assert outcome.id in ledger_books(sandbox)["redemption_ids"]


async def test_a_purchase_code_is_served_online_only(sandbox: RunningSandbox) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify(sandbox.mint_purchase_code(nid))
        assert session.household().identity_kind == "purchase_code"
        session.scan(PASTA, quantity_milli=3000)
        assert (await session.confirm()).status == "approved"

        code = sandbox.mint_purchase_code(nid)
        sandbox.add_fault("unavailable", "/v1/*", count=None)
        with pytest.raises(CheckoutRefused) as caught:
            await app.checkout.new_session().identify_purchase_code(code)
        assert caught.value.code == "ledger_unavailable"
        sandbox.clear_faults()


async def test_a_blocked_household_is_refused(sandbox: RunningSandbox) -> None:
    async with lane(sandbox) as app:
        with pytest.raises(CheckoutRefused) as caught:
            await app.checkout.new_session().identify_token(
                sandbox.mint_token(national_id(sandbox, "blocked"))
            )
        assert caught.value.code == "beneficiary_blocked"


async def test_offline_approval_then_forwarding(sandbox: RunningSandbox) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(RICE_5KG)  # 4,900,000 is over the token's 3,000,000 offline allowance
        session.remove(0)
        session.scan(MILK_1L, quantity_milli=3000)  # dairy: Kalabarg pays, which may go offline
        sandbox.add_fault("unavailable", "/v1/redemptions*", count=None, retry_after=1)
        outcome = await session.confirm()
        assert outcome.status == "approved_offline" and outcome.goes_ahead and outcome.offline
        assert outcome.covered_rial == 1_260_000
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and entry.intent == "deliver"
        assert app.store.outstanding_offline_rial() == 1_260_000
        report = await app.forwarder.sync()
        assert report.error and report.remaining == 1  # still down: kept
        sandbox.clear_faults()
        assert ledger_redemption(sandbox, outcome.id or "") is None  # nothing reached it
        report = await app.forwarder.sync(until_empty=True, timeout=30)
        assert report.remaining == 0 and report.approved == 1 and report.problems == 0
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.APPROVED and entry.intent is None
        assert body_mode(entry.body) == "offline"  # it never reached the ledger as online
        assert app.store.outstanding_offline_rial() == 0
    assert ledger_books(sandbox)["redemption_ids"].count(outcome.id) == 1


async def test_offline_when_the_ledger_is_down_from_the_start_uses_the_saved_wallet(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        first = app.checkout.new_session()
        await first.identify_token(sandbox.mint_token(nid))  # saves the wallet
        token = sandbox.mint_token(nid)
        sandbox.add_fault("rate_limit", "/v1/*", count=None, retry_after=30)
        session = app.checkout.new_session()
        household = await session.identify_token(token)
        assert household.offline
        session.scan(MILK_1L)
        outcome = await session.confirm()
        assert outcome.status == "approved_offline"
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and body_mode(entry.body) == "offline"  # 429: never processed
        sandbox.clear_faults()
        assert (await app.forwarder.sync(until_empty=True, timeout=30)).approved == 1


async def test_offline_the_basket_is_split_over_offline_capable_credit_only(
    sandbox: RunningSandbox,
) -> None:
    """Online the donor purse pays sugar first; offline only Kalabarg credit may pay it."""
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        online = app.checkout.new_session()
        await online.identify_token(sandbox.mint_token(nid))  # saves the wallet
        online.scan(SUGAR)
        assert {purse_program(online, a.purse_id) for a in online.plan().allocations} == {"donor"}
        token = sandbox.mint_token(nid)
        sandbox.add_fault("rate_limit", "/v1/*", count=None, retry_after=30)
        session = app.checkout.new_session()
        assert (await session.identify_token(token)).offline
        session.scan(SUGAR)
        plan = session.plan()
        assert plan.covered_rial > 0
        assert {purse_program(session, a.purse_id) for a in plan.allocations} == {"kalabarg"}
        outcome = await session.confirm()
        assert outcome.status == "approved_offline" and outcome.covered_rial == plan.covered_rial
        sandbox.clear_faults()
        assert (await app.forwarder.sync(until_empty=True, timeout=30)).approved == 1


def purse_program(session: object, purse_id: str) -> str:
    household = session.household()  # type: ignore[attr-defined]
    return next(p.program for p in household.purses if p.id == purse_id)


async def test_a_typed_national_id_is_refused_plainly_when_offline(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_national_id(nid)
        challenge = await session.request_otp()
        session.enter_otp(sandbox.otp_code(challenge.challenge_id))
        session.scan(SUGAR)
        sandbox.add_fault("rate_limit", "/v1/redemptions", count=None, retry_after=60)
        outcome = await session.confirm()
        assert outcome.status == "refused_offline" and not outcome.goes_ahead
        assert outcome.reason == "identity_online_only"
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.DECLINED and entry.intent is None
        sandbox.clear_faults()
    assert outcome.id not in ledger_books(sandbox)["redemption_ids"]


async def test_beyond_the_offline_limits_the_sale_is_refused(sandbox: RunningSandbox) -> None:
    """Also: donor credit allows no offline approval at all."""
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    config = lane_config(sandbox, max_rial_per_transaction=500_000)
    async with lane(sandbox, config=config) as app:
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(MILK_1L, quantity_milli=2000)
        sandbox.add_fault("rate_limit", "/v1/redemptions", count=None, retry_after=60)
        outcome = await session.confirm()
        assert outcome.status == "refused_offline" and outcome.reason == "over_transaction_limit"
        assert not app.store.token_used(_jti(token))
        donor = app.checkout.new_session()
        await donor.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        donor.scan(SUGAR)  # the donor purse pays sugar first
        refused = await donor.confirm()
        assert refused.status == "refused_offline" and refused.reason == "program_not_offline"
        sandbox.clear_faults()


async def _offline_sale(app, sandbox: RunningSandbox, token: str, barcode: str):  # type: ignore[no-untyped-def]
    session = app.checkout.new_session()
    await session.identify_token(token)
    session.scan(barcode)
    return session


async def test_a_partial_approval_after_forwarding_lands_in_the_problems_list(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "expired_tranche")  # 10,000,000 Rials usable today
    async with lane(sandbox) as a, lane(sandbox, "T-0002") as b:
        slow = await _offline_sale(a, sandbox, sandbox.mint_token(nid), SUGAR)
        slow.scan(PASTA)
        slow.scan(LENTILS)
        covered = slow.basket().covered_rial
        assert covered == 520_000 + 420_000 + 950_000
        fast = await _offline_sale(b, sandbox, sandbox.mint_token(nid), RICE_5KG)
        fast.scan(RICE_5KG)
        assert (await fast.confirm()).covered_rial == 9_800_000  # 200,000 is left
        sandbox.add_fault("rate_limit", "/v1/redemptions", count=None, retry_after=60)
        outcome = await slow.confirm()
        assert outcome.status == "approved_offline" and outcome.covered_rial == covered
        sandbox.clear_faults()
        report = await a.forwarder.sync(until_empty=True, timeout=30)
        assert report.remaining == 0 and report.partially_approved == 1
        entry = a.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.PARTIALLY_APPROVED
        assert entry.ledger_covered_rial == 200_000
        [problem] = a.store.problems()
        assert problem.kind == "partially_approved" and problem.redemption_id == outcome.id
        assert problem.collect_rial == covered - 200_000
    assert outcome.id in ledger_books(sandbox)["redemption_ids"]


async def test_a_decline_after_an_offline_approval_lands_in_the_problems_list(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "low_balance")
    async with lane(sandbox) as a, lane(sandbox, "T-0002") as b:
        slow = await _offline_sale(a, sandbox, sandbox.mint_token(nid), LENTILS)
        fast = await _offline_sale(b, sandbox, sandbox.mint_token(nid), LENTILS)
        assert (await fast.confirm()).covered_rial == 500_000  # all of it
        sandbox.add_fault("rate_limit", "/v1/redemptions", count=None, retry_after=60)
        outcome = await slow.confirm()
        assert outcome.status == "approved_offline" and outcome.covered_rial == 500_000
        sandbox.clear_faults()
        report = await a.forwarder.sync(until_empty=True, timeout=30)
        assert report.declined == 1 and report.problems == 1
        [problem] = a.store.problems()
        assert problem.kind == "declined_after_offline" and problem.collect_rial == 500_000
        assert problem.redemption_id == outcome.id
    assert outcome.id not in ledger_books(sandbox)["redemption_ids"]


@pytest.mark.parametrize("kind", ["drop_after", "error_after"])
async def test_an_unknown_outcome_the_ledger_committed_is_resolved_by_id(
    sandbox: RunningSandbox, kind: str
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(RICE_5KG)
        sandbox.add_fault(kind, "/v1/redemptions", method="POST", count=1)
        outcome = await session.confirm()
        assert outcome.status == "approved" and outcome.receipt_code
        events = [h[1] for h in app.store.history(outcome.id or "")]
        assert events == ["pending", "unknown_outcome", "approved"]
    assert ledger_books(sandbox)["redemption_ids"].count(outcome.id) == 1


async def test_an_unknown_outcome_the_ledger_never_got_is_sent_again(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(RICE_5KG)
        sandbox.add_fault("error_before", "/v1/redemptions", method="POST", count=1, status=502)
        outcome = await session.confirm()
        assert outcome.status == "approved"
        events = [h[1] for h in app.store.history(outcome.id or "")]
        assert events == ["pending", "unknown_outcome", "pending", "approved"]
    assert ledger_books(sandbox)["redemption_ids"].count(outcome.id) == 1


async def test_a_short_retry_after_is_honoured_then_the_sale_goes_through(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(PASTA)
        sandbox.add_fault("rate_limit", "/v1/redemptions", count=1, retry_after=1)
        outcome = await session.confirm()
        assert outcome.status == "approved"
        assert any(pause >= 1 for pause in app.clock.slept)  # type: ignore[attr-defined]


async def test_an_unresolved_sale_does_not_go_ahead_and_is_voided_if_taken(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_national_id(nid)
        challenge = await session.request_otp()
        session.enter_otp(sandbox.otp_code(challenge.challenge_id))
        session.scan(PASTA)
        # The ledger commits, the answer is lost, and every lookup fails for a while.
        sandbox.add_fault("drop_after", "/v1/redemptions", method="POST", count=1)
        sandbox.add_fault("unavailable", "/v1/redemptions/*", method="GET", count=3)
        outcome = await session.confirm()
        assert outcome.status == "unknown" and not outcome.goes_ahead
        assert session.stage is Stage.UNKNOWN
        abandoned = await session.abandon()
        assert abandoned.status == "voided" and not abandoned.goes_ahead
    assert outcome.id not in ledger_books(sandbox)["redemption_ids"]


async def test_void_the_last_sale(sandbox: RunningSandbox) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(PASTA)
        outcome = await session.confirm()
        assert outcome.id in ledger_books(sandbox)["redemption_ids"]
        result = await app.checkout.void_last()
        assert result.status == "voided" and result.id == outcome.id
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None and entry.status is S.VOIDED
    assert outcome.id not in ledger_books(sandbox)["redemption_ids"]


async def test_an_interrupted_sale_is_shown_and_finished_on_the_next_start(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(token)
        session.scan(SUGAR)
        outcome = await session.confirm()  # ... and the window closes before it is seen
    async with lane(sandbox, sync=False) as app:
        [interrupted] = app.checkout.interrupted()
        assert interrupted.id == outcome.id and interrupted.status == "approved"
        finished = await app.checkout.finish_interrupted(outcome.id or "")
        assert finished.status == "approved"
        assert app.checkout.interrupted() == []


async def test_a_store_that_cannot_write_refuses_the_sale_and_loses_nothing(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(sandbox.mint_token(nid))
        session.scan(PASTA)
        kept = await session.confirm()
        size = app.store.path.stat().st_size
    before = ledger_books(sandbox)["redemption_ids"]
    for options in ({"read_only": True}, {"store_max_bytes": size}):
        async with lane(sandbox, sync=False, **options) as app:
            session = app.checkout.new_session()
            await session.identify_token(sandbox.mint_token(nid))
            session.scan(PASTA)
            with pytest.raises(StoreError) as caught:
                for _ in range(50):  # fill whatever room is left
                    session.scan(SUGAR)
                    await session.confirm()
                    session = app.checkout.new_session()
                    await session.identify_token(sandbox.mint_token(nid))
            assert "read-only" in caught.value.message or "disk is full" in caught.value.message
            entry = app.store.redemption(kept.id or "")
            assert entry is not None and entry.status is S.APPROVED
    # Whatever the ledger got was written first; what could not be written was never sent.
    async with lane(sandbox, sync=False) as app:
        written = {e.id for e in app.store.journal()}
    assert set(ledger_books(sandbox)["redemption_ids"]) - set(before) <= written


async def test_a_repriced_line_is_sold_at_its_new_price(sandbox: RunningSandbox) -> None:
    import json

    token = sandbox.mint_token(national_id(sandbox, "kalabarg"))
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify(token)
        session.scan(SUGAR)
        session.scan(PASTA)
        view = session.set_unit_price(0, 480_000)  # the shelf price of the sugar, typed
        assert [i.line.gtin for i in view.items] == [SUGAR, PASTA]
        assert view.total_rial == 480_000 + 420_000
        outcome = await session.confirm()
        assert outcome.status == "approved" and outcome.covered_rial == view.covered_rial
        with pytest.raises(CheckoutError) as caught:
            session.set_unit_price(0, 500_000)  # the sale is confirmed: no more edits
        assert caught.value.code == "wrong_stage"
        entry = app.store.redemption(outcome.id or "")
        assert entry is not None
        sent = json.loads(entry.body)["lines"]
        assert [(x["gtin"], x["unit_price_rial"], x["amount_rial"]) for x in sent] == [
            (SUGAR, 480_000, 480_000),
            (PASTA, 420_000, 420_000),
        ]
    assert ledger_books(sandbox)["covered_rial"] == outcome.covered_rial
