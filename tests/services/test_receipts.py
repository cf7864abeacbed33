"""Receipts from the journal after real sales on the sandbox ledger: shown, printed, reprinted.

The service is tested in process (a real SQLite journal, the ``dummy://``
printer's ESC/POS bytes decoded back to the QR code on the paper); the
``pos-client receipt`` commands in real processes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import zxingcpp

from drivers.printer import PaperStatus
from drivers.printer.raster import raster_page
from pos_client.domain.states import RedemptionStatus as S
from pos_client.errors import PrinterError
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.receipts import ReceiptError, receipt_from_outcome
from tests.support.cli import cli, run_json
from tests.support.lane import (
    LENTILS,
    MILK_1L,
    NOT_IN_CATALOG,
    PASTA,
    RICE_5KG,
    lane,
    lane_config,
    national_id,
    sell,
    with_printer,
)


def qr_on_paper(output: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(raster_page(output).convert("L"))]


async def test_the_receipt_from_the_journal_is_the_sale_as_approved(
    sandbox: RunningSandbox,
) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        household = await session.identify(sandbox.mint_token(nid))
        session.scan(RICE_5KG)
        session.scan(MILK_1L, quantity_milli=2000)
        session.scan(NOT_IN_CATALOG)
        outcome = await session.confirm()
        assert outcome.status == "approved" and outcome.id is not None
        receipt = app.receipts.receipt_for(outcome.id)
        assert receipt.total_rial == outcome.total_rial
        assert receipt.covered_rial == outcome.covered_rial
        assert receipt.household_rial == outcome.payable_rial
        assert receipt.receipt_code == outcome.receipt_code
        assert receipt.issued_at == outcome.approved_at
        assert [(x.quantity_milli, x.amount_rial) for x in receipt.lines] == [
            (x.quantity_milli, x.amount_rial) for x in outcome.lines
        ]
        assert not receipt.offline and not receipt.training
        assert receipt.currency == "toman"  # the lane's setting
        # the national ID is masked, the shop and terminal are the lane's
        assert receipt.beneficiary == household.masked_id and nid not in receipt.beneficiary
        assert receipt.terminal_id == "T-0001" and receipt.shop_name
        # the balances before are the wallet's, those after the ledger's
        before = {p.id: p for p in household.purses}
        after = {p.id: p.balance_rial for p in outcome.purses_after}
        assert receipt.purses
        for purse in receipt.purses:
            assert purse.balance_before_rial == before[purse.purse_id].balance_rial
            assert purse.balance_after_rial == after[purse.purse_id]
            assert purse.label == before[purse.purse_id].label_fa
            assert purse.expires_at == before[purse.purse_id].expires_at
            assert purse.balance_before_rial - purse.balance_after_rial == receipt.paid_by_purse(
                purse.purse_id
            )
        # the screen's receipt (from the sale's outcome) and a reprint are one and the same
        shown = receipt_from_outcome(
            outcome,
            shop_name=receipt.shop_name,
            terminal_id="T-0001",
            issued_at=app.clock.now(),
            currency="toman",
            training=False,
        )
        assert shown == receipt


async def test_a_free_package_priced_above_its_cap_is_neither_credit_nor_the_households(
    sandbox: RunningSandbox,
) -> None:
    diapers = "6260000000330"  # Yasna's diaper-s3 group; the programme's cap is 3,740,000
    async with lane(sandbox) as app:
        app.store.import_prices([(diapers, 4_000_000, None)], at=app.clock.now())
        session = app.checkout.new_session()
        await session.identify(sandbox.mint_token(national_id(sandbox, "yasna")))
        session.scan(diapers, quantity_milli=2000)
        session.scan(PASTA)
        outcome = await session.confirm()
        assert outcome.status == "approved" and outcome.id is not None
        assert outcome.waived_rial == 2 * (4_000_000 - 3_740_000)
        receipt = app.receipts.receipt_for(outcome.id)
        assert receipt.waived_rial == outcome.waived_rial
        assert receipt.lines[0].waived_rial == outcome.waived_rial
        assert receipt.covered_rial == outcome.covered_rial
        assert receipt.household_rial == outcome.payable_rial
        assert receipt.total_rial == outcome.total_rial


async def test_a_reprint_through_the_dummy_printer_is_escpos_with_the_receipt_code(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox, devices=True) as app:
        outcome = await sell(app, sandbox, PASTA)
        assert outcome.id is not None and outcome.receipt_code
        printed = app.receipts.print(outcome.id)
        printer: Any = app.printer
        output = printer.device.output
        assert output.startswith(b"\x1b@")  # ESC @: the printer is reset first
        assert b"\x1dv0" in output  # GS v 0: the receipt as a raster image
        assert qr_on_paper(output) == [outcome.receipt_code]
        first = len(output)
        again = app.receipts.print(outcome.id)  # a reprint, later
        assert again == printed
        assert qr_on_paper(printer.device.output[first:]) == [outcome.receipt_code]


async def test_no_paper_fails_plainly_and_the_receipt_prints_after_a_new_roll(
    sandbox: RunningSandbox,
) -> None:
    config = lane_config(sandbox)
    config = replace(config, devices=replace(config.devices, printer="dummy://?paper=out"))
    async with lane(sandbox, config=config, devices=True) as app:
        outcome = await sell(app, sandbox, PASTA)
        assert outcome.id is not None
        with pytest.raises(PrinterError) as caught:
            app.receipts.print(outcome.id)
        assert caught.value.code == "printer_out_of_paper"
        entry = app.store.redemption(outcome.id)
        assert entry is not None and entry.status is S.APPROVED  # the sale stands
        printer: Any = app.printer
        printer.device.paper = PaperStatus.OK  # the paper was changed
        app.receipts.print(outcome.id)
        assert qr_on_paper(printer.device.output) == [outcome.receipt_code]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("laser://front-desk", "device_url_invalid"),  # a printer type there is no driver for
        ("file:///nonexistent-dir/lp0", "printer_unavailable"),  # opens, cannot print
        ("", "no_printer"),  # none configured
    ],
)
async def test_a_printer_that_cannot_print_is_a_printer_error_and_the_sale_stays_approved(
    sandbox: RunningSandbox, url: str, code: str
) -> None:
    config = lane_config(sandbox)
    config = replace(config, devices=replace(config.devices, printer=url))
    async with lane(sandbox, config=config, devices=True) as app:
        outcome = await sell(app, sandbox, PASTA)
        assert outcome.status == "approved" and outcome.id is not None
        with pytest.raises(PrinterError) as caught:
            app.receipts.print(outcome.id)
        assert caught.value.code == code, caught.value.message
        entry = app.store.redemption(outcome.id)
        assert entry is not None and entry.status is S.APPROVED and entry.intent is None
        assert app.receipts.receipt_for(outcome.id).receipt_code == outcome.receipt_code


async def test_an_offline_approval_has_a_receipt_with_what_the_terminal_approved(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox) as app:
        session = app.checkout.new_session()
        await session.identify_token(sandbox.mint_token(national_id(sandbox, "kalabarg")))
        session.scan(MILK_1L, quantity_milli=3000)
        sandbox.add_fault("unavailable", "/v1/redemptions*", count=None, retry_after=1)
        outcome = await session.confirm()
        sandbox.clear_faults()
        assert outcome.status == "approved_offline" and outcome.id is not None
        receipt = app.receipts.receipt_for(outcome.id)
        assert receipt.offline and receipt.receipt_code == outcome.id
        assert receipt.covered_rial == outcome.covered_rial == 1_260_000
        assert receipt.household_rial == outcome.payable_rial
        assert receipt.issued_at == app.store.redemption(outcome.id).created_at  # type: ignore[union-attr]


async def test_sales_that_did_not_go_ahead_have_no_receipt(sandbox: RunningSandbox) -> None:
    nid = national_id(sandbox, "low_balance")
    async with lane(sandbox) as app, lane(sandbox, "T-0002") as other:
        slow = app.checkout.new_session()
        await slow.identify_token(sandbox.mint_token(nid))
        slow.scan(LENTILS)
        fast = other.checkout.new_session()
        await fast.identify_token(sandbox.mint_token(nid))
        fast.scan(PASTA)
        assert (await fast.confirm()).status == "approved"
        declined = await slow.confirm()
        assert declined.status == "declined" and declined.id is not None
        with pytest.raises(ReceiptError) as caught:
            app.receipts.receipt_for(declined.id)
        assert caught.value.code == "no_receipt"
        for unknown in ("0193a9e4-0000-7000-8000-000000000000", "", "   "):
            with pytest.raises(ReceiptError) as caught:
                app.receipts.receipt_for(unknown)
            assert caught.value.code == "not_found"
        voided = await sell(app, sandbox, PASTA)
        assert (await app.checkout.void_last()).status == "voided"
        with pytest.raises(ReceiptError):
            app.receipts.print(voided.id or "")


async def test_a_training_lane_marks_its_receipts_also_when_reprinted_later(
    sandbox: RunningSandbox,
) -> None:
    async with lane(sandbox, training=True) as app:
        outcome = await sell(app, sandbox, PASTA)
        assert app.receipts.receipt_for(outcome.id or "").training
    async with lane(sandbox, sync=False) as later:  # e.g. `pos-client receipt print` afterwards
        assert later.receipts.receipt_for(outcome.id or "").training


async def test_the_receipt_commands(sandbox: RunningSandbox) -> None:
    nid = national_id(sandbox, "kalabarg")
    async with lane(sandbox) as app:
        outcome = await sell(app, sandbox, RICE_5KG, NOT_IN_CATALOG)
    assert outcome.id is not None and outcome.receipt_code
    config = str(sandbox.config_path("T-0001"))

    shown = cli("receipt", "show", outcome.id, "--config", config, "--json")
    assert shown.returncode == 0, shown.stderr
    data = run_json(shown)
    assert data["id"] == outcome.id and data["receipt_code"] == outcome.receipt_code
    assert data["total_rial"] == outcome.total_rial
    assert data["covered_rial"] == outcome.covered_rial
    assert data["household_rial"] == outcome.payable_rial
    assert data["household"] == "390*****15" and nid not in shown.stdout
    assert data["training"] is False and len(data["lines"]) == 2

    text = cli("receipt", "show", outcome.id, "--config", config)
    assert text.returncode == 0, text.stderr
    assert outcome.receipt_code in text.stdout and "390*****15" in text.stdout
    assert f"{outcome.covered_rial:,} Rial" in text.stdout and nid not in text.stdout

    printed = cli("receipt", "print", outcome.id, "--config", config)
    assert printed.returncode == 0, printed.stderr
    assert outcome.receipt_code in printed.stdout

    broken = with_printer(sandbox, "file:///nonexistent-dir/lp0", "lane-broken-printer.toml")
    failed = cli("receipt", "print", outcome.id, "--config", str(broken))
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.startswith("pos-client: ") and "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1

    missing = cli("receipt", "show", "0193a9e4-0000-7000-8000-000000000000", "--config", config)
    assert missing.returncode == 1 and "no sale" in missing.stderr
    assert "Traceback" not in missing.stderr

    async with lane(sandbox, sync=False) as app:  # the sale is untouched by all this
        entry = app.store.redemption(outcome.id)
        assert entry is not None and entry.status is S.APPROVED


def test_receipt_needs_an_action_and_an_id() -> None:
    result = cli("receipt", "show")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ID" in result.stderr
