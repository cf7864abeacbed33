"""Receipts on the checkout screen: shown, printed, and printed again after a new paper roll."""

from __future__ import annotations

from typing import Any

import zxingcpp

from drivers.printer import PaperStatus
from drivers.printer.raster import raster_page
from pos_client.domain.states import RedemptionStatus
from pos_client.tui.screens.result import receipt_text
from pos_client.tui.widgets.qr import QrCode

from .conftest import app_for, product
from .pilot import message, scan, settle
from .test_checkout import review_and_confirm


def qr_on_paper(output: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(raster_page(output).convert("L"))]


async def test_no_paper_never_blocks_the_sale_and_f3_prints_it_after_a_new_roll(sandbox, lane):
    printer: Any = lane.printer
    printer.device.paper = PaperStatus.OUT
    app = app_for(lane, language="en", training=True)
    token = sandbox.mint_token(sandbox.household("kalabarg")["national_id"])
    async with app.run_test(size=(100, 30)) as pilot:
        await scan(pilot, token)
        await scan(pilot, product(sandbox, "pasta")["gtin"])
        result = await review_and_confirm(pilot)
        outcome = result.outcome
        assert outcome.status == "approved" and outcome.goes_ahead
        assert message(app) == app.texts.t("result.print_failed")
        assert printer.device.output == b""
        # the receipt is on the screen all the same, the one the service builds from the journal
        assert result.receipt == lane.receipts.receipt_for(
            outcome.id, currency=app.texts.currency, training=True
        )
        assert result.query_one(QrCode).data == outcome.receipt_code
        assert app.texts.t("receipt.training") in receipt_text(result.receipt, app.texts)
        entry = lane.store.redemption(outcome.id)
        assert entry is not None and entry.status is RedemptionStatus.APPROVED
        # a new roll, then F3: the same receipt, printed
        printer.device.paper = PaperStatus.OK
        await pilot.press("f3")
        await settle(pilot)
        assert message(app) == app.texts.t("reprint.done")
        assert qr_on_paper(printer.device.output) == [outcome.receipt_code]
