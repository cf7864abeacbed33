"""What the screen tells the cashier when the lane cannot save an answer or a sale is stuck."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from pos_client.domain.states import RedemptionStatus as S
from pos_client.tui.screens.result import ResultScreen
from pos_client.tui.widgets.status import StatusBar

from .conftest import app_for, product
from .pilot import message, scan, settle, texts_of_screen, until
from .test_checkout import review_and_confirm, settlement


async def test_an_approval_the_lane_cannot_save_is_shown_as_approved_never_as_not_charged(
    sandbox, lane
):
    held: list[sqlite3.Connection] = []
    lane.store._db.conn.execute("PRAGMA busy_timeout=50")
    submit = lane.ledger.submit_redemption

    async def submit_then_lock(*args: Any, **kw: Any) -> Any:
        answer = await submit(*args, **kw)
        other = sqlite3.connect(lane.store.path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another program holds the store from now on
        held.append(other)
        return answer

    lane.ledger.submit_redemption = submit_then_lock
    app = app_for(lane, language="en")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await scan(pilot, token)
            await scan(pilot, product(sandbox, "pasta")["gtin"])
            result = await review_and_confirm(pilot)
            assert result.outcome.status == "approved_unsaved" and result.outcome.goes_ahead
            verdict = str(result.query_one("#verdict").text)
            assert verdict == app.texts.t("result.approved_unsaved")
            shown = texts_of_screen(app)
            assert app.texts.t("result.unsaved_note") in shown
            assert result.outcome.receipt_code and result.outcome.receipt_code in shown
            assert app.texts.t("error.store_error") not in shown + message(app)
            redemption_id = result.outcome.id
    finally:
        for other in held:
            other.execute("ROLLBACK")
            other.close()
    assert settlement(sandbox)["count"] == 1  # charged once, and the cashier was told so
    entry = lane.store.redemption(redemption_id)
    assert entry is not None and entry.status is S.PENDING and not entry.seen  # for recover
    [interrupted] = lane.checkout.interrupted()
    finished = await lane.checkout.finish_interrupted(interrupted.id)
    assert finished.status == "approved" and settlement(sandbox)["count"] == 1


async def test_a_sale_stuck_for_hours_shows_on_the_status_line(sandbox, lane):
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    sandbox.add_fault("unavailable", "/v1/redemptions*", count=None)
    session = lane.checkout.new_session()
    await session.identify_token(token)
    session.scan(product(sandbox, "milk-lowfat")["gtin"])
    assert (await session.confirm()).status == "approved_offline"
    session.acknowledge()
    lane.forwarder.stuck_after = timedelta(0)  # as if hours had gone by
    app = app_for(lane, language="en")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        expected = app.texts.t("status.stuck", count=1)
        await until(pilot, lambda: app.status.stuck_count == 1, "the stuck count read")
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: expected in str(bar.render()), "the stuck sale on the bar")
    sandbox.clear_faults()


async def test_a_slow_ledger_shows_what_the_sale_is_doing_instead_of_a_silent_wait(sandbox, lane):
    app = app_for(lane, language="en")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    async with app.run_test(size=(100, 30)) as pilot:
        await scan(pilot, token)
        await scan(pilot, product(sandbox, "pasta")["gtin"])
        sandbox.add_fault("latency", "/v1/redemptions", method="POST", latency_ms=2500)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("enter")  # confirm: the ledger takes its time
        expected = app.texts.t("review.sending_for", seconds=app.texts.number(1))
        await until(pilot, lambda: message(app) == expected, "the progress line")
        await until(pilot, lambda: isinstance(app.screen, ResultScreen), "the result screen")
        assert app.screen.outcome.status == "approved"
    assert settlement(sandbox)["count"] == 1


async def test_a_store_failing_before_the_answer_leaves_the_sale_unknown_never_not_charged(
    sandbox, lane
):
    held: list[sqlite3.Connection] = []
    lane.store._db.conn.execute("PRAGMA busy_timeout=50")
    record = lane.store.record_new_redemption

    def record_then_lock(*args: Any, **kw: Any) -> Any:
        result = record(*args, **kw)
        other = sqlite3.connect(lane.store.path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # the sale is written; then the store is taken
        held.append(other)
        return result

    lane.store.record_new_redemption = record_then_lock
    app = app_for(lane, language="en")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await scan(pilot, token)
            await scan(pilot, product(sandbox, "pasta")["gtin"])
            # The ledger commits and the answer is lost: the outcome is not known here.
            sandbox.add_fault("drop_after", "/v1/redemptions", method="POST", count=1)
            result = await review_and_confirm(pilot)
            assert result.outcome.status == "unknown" and not result.outcome.goes_ahead
            shown = texts_of_screen(app) + message(app)
            assert app.texts.t("reason.store_error") in shown
            assert app.texts.t("error.store_error") not in shown
    finally:
        for other in held:
            other.execute("ROLLBACK")
            other.close()
    [interrupted] = lane.checkout.interrupted()
    finished = await lane.checkout.finish_interrupted(interrupted.id)
    assert finished.status == "approved" and settlement(sandbox)["count"] == 1
