"""What the screens show, from the services' values: rows, splits, the status bar, the QR code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import zxingcpp
from PIL import Image

from pos_client.domain.models import (
    Allocation,
    AllocationPlan,
    BasketLine,
    Entitlement,
    ProgramKind,
    Purse,
    Unit,
)
from pos_client.domain.redemption import AppliedAllocation
from pos_client.services.checkout import BasketItem, BasketView, Household
from pos_client.services.receipts import receipt_from_outcome
from pos_client.services.redemptions import SaleOutcome
from pos_client.tui.i18n import Texts
from pos_client.tui.rtl import LRI, PDI, isolate_latin, strip_controls, visual
from pos_client.tui.views import (
    basket_row,
    household_line,
    outcome_reason,
    outcome_verdict,
    purse_splits,
)
from pos_client.tui.widgets.qr import qr_lines
from pos_client.tui.widgets.status import StatusView, status_segments

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
FA, EN = Texts(lang="fa"), Texts(lang="en", currency="rial")

TRANCHE = Purse(
    id="pu_1",
    program="kalabarg",
    kind=ProgramKind.AMOUNT,
    label_fa="کالابرگ مرحله ۷",
    balance_rial=4_000_000,
    expires_at=NOW + timedelta(days=20),
    categories=("rice",),
)
YASNA = Purse(
    id="pu_2",
    program="yasna",
    kind=ProgramKind.QUANTITY,
    label_fa="بسته مادر و نوزاد",
    entitlements=(Entitlement("diaper-s3", 4000),),
)
RICE = BasketLine("6260000000019", 1000, 14_500_000, category="rice", name="برنج ایرانی")
DIAPERS = BasketLine(
    "6260000000330", 2000, 3_400_000, category="diapers", groups=("diaper-s3",), name="پوشک"
)
UNKNOWN = BasketLine("6269999999992", 1000, 50_000)


def view() -> BasketView:
    plan = AllocationPlan(
        allocations=(
            Allocation(0, "pu_1", 4_000_000),
            Allocation(1, "pu_2", 6_800_000, quantity_milli=2000),
        ),
        total_rial=14_500_000 + 6_800_000 + 50_000,
        covered_rial=10_800_000,
        payable_rial=10_550_000,
    )
    items = (
        BasketItem(0, RICE, True, ("pu_1",), 4_000_000),
        BasketItem(1, DIAPERS, True, ("pu_2",), 6_800_000),
        BasketItem(2, UNKNOWN, False, (), 0),
    )
    return BasketView(items, plan.total_rial, 10_800_000, 10_550_000, 0, plan)


def test_each_basket_line_says_who_pays_it():
    rows = [basket_row(item, (TRANCHE, YASNA), EN) for item in view().items]
    assert rows[0][4] == "Kalabarg + customer"  # it pays part of the line
    assert rows[1][4] == "Yasna (mother and infant)"
    fa = [basket_row(item, (TRANCHE, YASNA), FA) for item in view().items]
    assert fa[0][4] == "کالابرگ مرحله ۷ + مشتری" and fa[2][4] == "مشمول کالابرگ نیست"
    english = basket_row(view().items[0], (TRANCHE,), EN, names={RICE.gtin: "Iranian rice"})
    assert english[0] == "Iranian rice"
    assert rows[2][0] == "Product not on the list 6269999999992"
    assert rows[2][4] == "not eligible"  # shown, never dropped: the household pays it
    assert rows[0][1:4] == ["1", "14,500,000", "14,500,000"]


def test_the_split_gives_balances_after_and_items_left():
    splits = {s.purse.id: s for s in purse_splits(view(), (TRANCHE, YASNA))}
    assert splits["pu_1"].pays_rial == 4_000_000
    assert splits["pu_1"].after(EN) == "0 Rial"
    assert splits["pu_2"].before(EN) == "Diapers size 3: 4"
    assert splits["pu_2"].after(EN) == "Diapers size 3: 2"


def test_the_household_line_masks_and_isolates_the_national_id():
    household = Household(
        identity_kind="national_id",
        masked_id="049*****99",
        display_name="ع. رضایی",
        household_size=4,
        city="rasht",
        purses=(TRANCHE,),
        requires_otp=True,
        otp_challenge=None,
        otp_entered=False,
        offline=False,
        wallet_as_of=NOW,
        offline_allowance_rial=None,
    )
    line = household_line(household, FA)
    assert f"{LRI}۰۴۹*****۹۹{PDI}" in line
    assert "۰۴۹*****۹۹" in visual(line)  # left to right on the screen too


def test_outcomes_in_words():
    declined = SaleOutcome(
        id="r1",
        status="declined",
        goes_ahead=False,
        total_rial=1,
        covered_rial=0,
        payable_rial=1,
        reason="insufficient_balance",
    )
    assert outcome_verdict(declined) == ("result.declined", "-declined")
    assert outcome_reason(declined, FA) == "علت: موجودی کافی نیست"
    refused = SaleOutcome(
        id="r2",
        status="refused_offline",
        goes_ahead=False,
        total_rial=1,
        covered_rial=0,
        payable_rial=1,
        reason="refused_offline:over_token_allowance",
    )
    assert outcome_reason(refused, EN) == "Reason: above the QR code's offline allowance"


def test_the_status_bar_is_honest_about_the_network():
    offline = StatusView(
        online=False,
        queue_count=3,
        queue_rial=1_250_000,
        rules_fetched_at=NOW - timedelta(hours=2),
        scanner="disconnected",
        now=NOW,
    )
    texts = [strip_controls(t) for t, _ in status_segments(offline, FA)]
    assert texts == [
        "● آفلاین",
        "در انتظار ارسال: ۳ (۱۲۵٬۰۰۰ تومان)",
        "قوانین: ۲ ساعت پیش",
        "بارکدخوان: قطع",
    ]
    styles = [style for _, style in status_segments(offline, FA)]
    assert styles[0] == "status-offline" and styles[3] == "status-bad"
    expired = StatusView(online=True, rules_fetched_at=NOW, rules_expired=True, now=NOW)
    assert status_segments(expired, EN)[2] == ("Rules: expired", "status-bad")


def test_the_terminal_qr_code_reads_back():
    lines = qr_lines("7KQ2-M4XD-9PRA")
    scale = 8
    rows = []
    for line in lines:  # each character holds two modules, top and bottom
        top = [ch in "█▀" for ch in line]
        bottom = [ch in "█▄" for ch in line]
        rows += [top, bottom]
    quiet = 4
    size = (len(rows[0]) + 2 * quiet) * scale, (len(rows) + 2 * quiet) * scale
    image = Image.new("L", size, 255)
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                box = ((x + quiet) * scale, (y + quiet) * scale)
                image.paste(0, (*box, box[0] + scale, box[1] + scale))
    decoded = zxingcpp.read_barcodes(image)
    assert [code.text for code in decoded] == ["7KQ2-M4XD-9PRA"]


def test_the_receipt_has_what_each_purse_paid_and_the_balances():
    outcome = SaleOutcome(
        id="r1",
        status="approved",
        goes_ahead=True,
        total_rial=14_550_000,
        covered_rial=4_000_000,
        payable_rial=10_550_000,
        receipt_code="7KQ2-M4XD-9PRA",
        approved_at=NOW,
        allocations=(AppliedAllocation(0, "pu_1", 4_000_000),),
        lines=(RICE, UNKNOWN),
        purses_before=(TRANCHE,),
        purses_after=(Purse("pu_1", "kalabarg", ProgramKind.AMOUNT, balance_rial=0),),
        masked_id="049*****99",
    )
    receipt = receipt_from_outcome(
        outcome,
        shop_name="فروشگاه نمونه",
        terminal_id="T-0001",
        issued_at=NOW,
        currency="toman",
        training=True,
    )
    assert receipt is not None
    assert receipt.covered_rial == 4_000_000 and receipt.household_rial == 10_550_000
    assert [p.amount_rial for p in receipt.lines[0].paid_by] == [4_000_000]
    assert receipt.lines[1].name == UNKNOWN.gtin and receipt.lines[1].unit is Unit.PIECE
    assert (receipt.purses[0].balance_before_rial, receipt.purses[0].balance_after_rial) == (
        4_000_000,
        0,
    )
    assert receipt.beneficiary == "049*****99" and receipt.training
    declined = SaleOutcome(
        id="r2", status="declined", goes_ahead=False, total_rial=1, covered_rial=0, payable_rial=1
    )
    assert (
        receipt_from_outcome(
            declined, shop_name="", terminal_id="T", issued_at=NOW, currency="rial", training=False
        )
        is None
    )


def test_latin_runs_from_other_texts_stay_left_to_right():
    text = "پرونده /tmp/lane-T-0001.toml خوانده شد؛ نشانی http://127.0.0.1:8765/؛ تمام"
    shown = visual(isolate_latin(text))
    assert "/tmp/lane-T-0001.toml" in shown and "http://127.0.0.1:8765/" in shown
    assert isolate_latin("all Latin /tmp/x") == "all Latin /tmp/x"
