"""Whole checkouts on the screen, against the real sandbox ledger (Pilot)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pos_client.sandbox.server import RunningSandbox
from pos_client.tui.screens.basket import BasketScreen
from pos_client.tui.screens.identify import IdentifyScreen
from pos_client.tui.screens.otp import OtpScreen
from pos_client.tui.screens.result import ResultScreen
from pos_client.tui.screens.review import ReviewScreen
from pos_client.tui.widgets.qr import QrCode
from pos_client.tui.widgets.text import BidiText

from .conftest import app_for, product
from .pilot import message, scan, settle, texts_of_screen, type_line, until

TEHRAN = ZoneInfo("Asia/Tehran")


def settlement(sandbox: RunningSandbox) -> dict[str, Any]:
    today = datetime.now(TEHRAN).date().isoformat()
    with sandbox.client("T-0001") as client:
        response = client.get(f"/v1/settlements/{today}")
        response.raise_for_status()
        return dict(response.json())


async def identify_with_otp(pilot: Any, sandbox: RunningSandbox, key: str = "kalabarg") -> None:
    app = pilot.app
    await type_line(pilot, sandbox.household(key)["national_id"])
    assert isinstance(app.screen, OtpScreen), message(app)
    code = sandbox.otp_code(app.screen.challenge.challenge_id)
    await type_line(pilot, code)
    assert isinstance(app.screen, BasketScreen), message(app)


async def review_and_confirm(pilot: Any) -> Any:
    app = pilot.app
    await pilot.press("f2")
    await settle(pilot)
    assert isinstance(app.screen, ReviewScreen), message(app)
    await pilot.press("enter")
    await settle(pilot)
    await until(pilot, lambda: isinstance(app.screen, ResultScreen), "the result screen")
    return app.screen


async def test_online_approval_with_otp(sandbox, lane):
    app = app_for(lane, training=True)
    rice, milk = product(sandbox, "rice"), product(sandbox, "milk-lowfat")
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, IdentifyScreen)
        await identify_with_otp(pilot, sandbox)
        # the household: masked national ID, never the whole of it
        household = app.screen.query_one("#household", BidiText).text
        nid = sandbox.household("kalabarg")["national_id"]
        assert nid not in household and "*****" in household
        await type_line(pilot, rice["gtin"])
        await type_line(pilot, milk["gtin"])
        basket = app.screen
        assert [item.line.gtin for item in basket.view.items] == [rice["gtin"], milk["gtin"]]
        # each line says which purse pays it
        table = basket.query_one("#basket")
        assert table.row_count == 2
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved"
        verdict = result.query_one("#verdict", BidiText).text
        assert verdict == app.texts.t("result.approved")
        assert result.query_one(QrCode).data == result.outcome.receipt_code
        assert app.lane.printer.device.output  # the receipt went to the printer
        await pilot.press("enter")  # the next sale
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
    books = settlement(sandbox)
    assert books["count"] == 1
    assert books["covered_rial"] == result.outcome.covered_rial


async def test_token_checkout_through_the_virtual_scanner(sandbox, lane, tmp_path):
    from drivers.scanner.virtual import send_to_lane

    runtime = tmp_path / "run"
    app = app_for(lane, scanners=["virtual://lane-test"], runtime_dir=runtime)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    eggs = product(sandbox, "eggs")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.scanner_state == "connected", "the scanner connected")
        assert send_to_lane("lane-test", [token], runtime_dir=runtime) == 1
        await until(pilot, lambda: isinstance(app.screen, BasketScreen), "the basket (no OTP)")
        send_to_lane("lane-test", [eggs["gtin"]], runtime_dir=runtime)
        await until(pilot, lambda: bool(app.screen.view.items), "the scanned product")
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved"
    assert settlement(sandbox)["count"] == 1


async def test_a_decline_keeps_the_basket(sandbox, lane):
    app = app_for(lane)
    oil = product(sandbox, "oil")
    async with app.run_test(size=(80, 24)) as pilot:
        await type_line(pilot, sandbox.household("kalabarg")["national_id"])
        assert isinstance(app.screen, OtpScreen)
        code = sandbox.otp_code(app.screen.challenge.challenge_id)
        wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
        await type_line(pilot, wrong)
        await scan(pilot, oil["gtin"])
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "declined"
        assert app.texts.reason("otp_invalid") in texts_of_screen(app)
        assert not result.query(QrCode)  # no receipt for a declined sale
        await pilot.press("escape")  # back to the basket: same household, same goods
        await settle(pilot)
        assert isinstance(app.screen, OtpScreen)
        await type_line(pilot, sandbox.otp_code(app.screen.challenge.challenge_id))
        assert isinstance(app.screen, BasketScreen)
        assert [i.line.gtin for i in app.screen.view.items] == [oil["gtin"]]
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved"
    assert settlement(sandbox)["count"] == 1


async def test_a_blocked_household_is_refused_in_words(sandbox, lane):
    app = app_for(lane, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await type_line(pilot, sandbox.household("blocked")["national_id"])
        assert isinstance(app.screen, IdentifyScreen)
        assert message(app) == app.texts.t("error.beneficiary_blocked")


async def test_offline_approval_then_forward(sandbox, lane):
    app = app_for(lane)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    milk = product(sandbox, "milk-lowfat")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        assert isinstance(app.screen, BasketScreen), message(app)
        await scan(pilot, milk["gtin"])
        sandbox.add_fault("unavailable", "/v1/redemptions*", count=None)
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved_offline"
        assert app.texts.t("result.offline_note") in texts_of_screen(app)
        assert result.query(QrCode)  # an offline approval has its receipt too
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
        app.read_status()
        await until(pilot, lambda: app.status.queue_count == 1, "one sale waiting to be sent")
        assert app.status.queue_rial == result.outcome.covered_rial
        assert settlement(sandbox)["count"] == 0
        sandbox.clear_faults()
        await pilot.press("f5")  # send the queue now
        await settle(pilot)
        assert message(app) == app.texts.t("sync.done", count=1)
        await until(pilot, lambda: app.status.queue_count == 0, "the queue emptied")
        assert app.status.online is True
    assert settlement(sandbox)["count"] == 1


async def test_partial_approval_lands_in_the_problems_list(sandbox, lane):
    """Approved offline for more than the ledger can pay when it finally hears of it."""
    from pos_client.tui.screens.problems import ProblemsScreen

    app = app_for(lane)
    nid = sandbox.household("low_balance")["national_id"]
    token = sandbox.mint_token(nid)
    cheese = product(sandbox, "cheese")  # more than the little credit left, in part
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        assert isinstance(app.screen, BasketScreen), message(app)
        await scan(pilot, cheese["gtin"])
        sandbox.add_fault("unavailable", "/v1/redemptions*", count=None)
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved_offline", message(app)
        approved_offline = result.outcome.covered_rial
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
        # Meanwhile the household spends part of its credit at another shop.
        sandbox.clear_faults()
        spent = spend_elsewhere(sandbox, nid, 200_000)
        await pilot.press("f5")
        await settle(pilot)
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, ProblemsScreen), "the problems list")
        await settle(pilot)
        screen = app.screen
        await until(pilot, lambda: screen.query_one("#problems").row_count == 1, "one problem")
        row = next(iter(screen._rows.values()))
        assert row.problem.kind == "partially_approved"
        assert row.problem.collect_rial == approved_offline - (500_000 - spent)
        await pilot.press("f2")  # handled: the shop collected it
        await settle(pilot)
        await until(pilot, lambda: screen.query_one("#problems").row_count == 0, "no problem left")


def spend_elsewhere(sandbox: RunningSandbox, national_id: str, amount: int) -> int:
    """A redemption of ``amount`` Rials at terminal T-0002 with a purchase code."""
    import uuid

    code = sandbox.mint_purchase_code(national_id)
    cheese = product(sandbox, "cheese")
    with sandbox.client("T-0002") as client:
        wallet = client.post("/v1/wallet-inquiries", json={"purchase_code": code}).json()
        rules = client.get("/v1/rules").json()["version"]
        purse = wallet["purses"][0]["id"]
        rid = str(uuid.uuid4())
        body = {
            "id": rid,
            "terminal_id": "T-0002",
            "created_at": datetime.now(TEHRAN).replace(microsecond=0).isoformat(),
            "mode": "online",
            "beneficiary": {"purchase_code": code},
            "rules_version": rules,
            "lines": [
                {
                    "gtin": cheese["gtin"],
                    "quantity_milli": 1000,
                    "unit_price_rial": amount,
                    "amount_rial": amount,
                }
            ],
            "allocations": [{"line": 0, "purse_id": purse, "amount_rial": amount}],
        }
        response = client.post("/v1/redemptions", json=body, headers={"Idempotency-Key": rid})
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "approved"
    return amount


async def test_void_the_last_sale(sandbox, lane):
    app = app_for(lane)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        await scan(pilot, product(sandbox, "pasta")["gtin"])
        result = await review_and_confirm(pilot)
        assert result.outcome.status == "approved"
        assert settlement(sandbox)["count"] == 1
        await pilot.press("f7")  # void, from the result screen
        await settle(pilot)
        await pilot.press("enter")  # yes
        await settle(pilot)
        assert message(app) == app.texts.t("void.done")
        await pilot.press("f7")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert message(app) != app.texts.t("void.done")  # nothing voided twice
    assert settlement(sandbox)["count"] == 0


async def test_an_unexpected_failure_is_a_sentence_not_a_traceback(sandbox, lane, monkeypatch):
    from pos_client.services.checkout import CheckoutSession

    def broken(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Traceback (most recent call last): boom")

    app = app_for(lane, language="en")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        monkeypatch.setattr(CheckoutSession, "scan", broken)
        await type_line(pilot, product(sandbox, "rice")["gtin"])
        assert message(app) == app.texts.t("error.unexpected")
        assert "Traceback" not in texts_of_screen(app)
        assert isinstance(app.screen, BasketScreen)  # and the sale goes on


async def test_z_report_closes_the_day_and_reconciles(sandbox, lane):
    from pos_client.tui.screens.reports import ReportScreen

    app = app_for(lane)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        await scan(pilot, product(sandbox, "sugar")["gtin"])
        sale = (await review_and_confirm(pilot)).outcome
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
        sandbox.add_fault("unavailable", "/v1/settlements/*", count=None)
        await pilot.press("f7")  # Z report: it asks first
        await settle(pilot)
        await pilot.press("enter")
        screen = app.screen
        await until(
            pilot,
            lambda: isinstance(screen, ReportScreen) and screen.report is not None,
            "the Z report",
        )
        report = screen.report
        assert report.number == 1
        assert report.totals.sales_count == 1
        assert report.totals.covered_rial == sale.covered_rial
        assert report.reconciliation is None  # the settlement could not be read: kept anyway
        assert message(app) == app.texts.t("report.not_reconciled")
        sandbox.clear_faults()
        await pilot.press("f2")  # reconcile now
        await until(pilot, lambda: screen.report.reconciliation is not None, "reconciled")
        assert screen.report.number == 1
        assert screen.report.status == "agreed"
        shown = screen.query_one("#report-text", BidiText).text
        assert app.texts.t("report.agreed") in shown
        assert app.texts.t("report.number", number=1) in shown
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f7")  # the same day again: the same report, no second number
        await until(
            pilot,
            lambda: isinstance(app.screen, ReportScreen) and app.screen.report is not None,
            "the Z report again",
        )
        assert app.screen.report.number == 1
        assert message(app) == app.texts.t("report.closed_before", number=1)


async def test_x_report_shows_the_running_totals(sandbox, lane):
    from pos_client.tui.screens.reports import ReportScreen

    app = app_for(lane, language="en")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        await scan(pilot, product(sandbox, "legumes")["gtin"])
        sale = (await review_and_confirm(pilot)).outcome
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IdentifyScreen), "the idle screen")
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, ReportScreen), "the X report")
        await settle(pilot)
        text = app.screen.query_one("#report-text", BidiText)
        await until(pilot, lambda: bool(text.text), "the report's text")
        assert app.texts.t("report.count", count=1) in text.text
        assert app.texts.t("report.covered", amount=app.texts.amount(sale.covered_rial)) in (
            text.text
        )


async def test_a_product_sold_by_weight_reads_the_scale(sandbox, lane, tmp_path):
    from dataclasses import replace

    lane.config = replace(
        lane.config,
        devices=replace(lane.config.devices, scale="virtual-scale://lane-test?weight=1500"),
    )
    app = app_for(lane, runtime_dir=tmp_path / "run")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    chicken = product(sandbox, "chicken", unit="kg")
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.scale is not None
        await scan(pilot, token)
        await scan(pilot, chicken["gtin"])  # no weight on the barcode: the scale gives it
        await until(pilot, lambda: bool(app.screen.view.items), "the weighed line")
        line = app.screen.view.items[0].line
        assert (line.gtin, line.quantity_milli) == (chicken["gtin"], 1500)
        assert line.amount_rial == chicken["price_rial"] * 3 // 2


async def test_scans_in_quick_succession_are_all_added_in_order(sandbox, lane, tmp_path):
    from dataclasses import replace

    from pos_client.tui.messages import ScanArrived

    lane.config = replace(
        lane.config,
        devices=replace(lane.config.devices, scale="virtual-scale://lane-test?weight=900"),
    )
    app = app_for(lane, runtime_dir=tmp_path / "run")
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    gtins = [product(sandbox, "chicken", unit="kg")["gtin"], product(sandbox, "eggs")["gtin"]]
    gtins.append(product(sandbox, "rice")["gtin"])
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, token)
        for gtin in gtins:  # the scanner does not wait for the scale
            app.post_message(ScanArrived(gtin, source="test"))
        await until(pilot, lambda: len(app.screen.view.items) == 3, "three lines")
        assert [item.line.gtin for item in app.screen.view.items] == gtins
        # a product scanned while reviewing goes back to the basket, added
        await pilot.press("f2")
        await settle(pilot)
        app.post_message(ScanArrived(gtins[1], source="test"))
        await until(
            pilot,
            lambda: isinstance(app.screen, BasketScreen) and len(app.screen.view.items) == 4,
            "the fourth line, on the basket",
        )
