"""Drawing a receipt as a 1-bit image in Persian, for printers with no Persian code page.

Persian text is shaped with ``arabic-reshaper`` (joined letter forms) and put
in visual right-to-left order with ``python-bidi``, then drawn with Pillow's
basic layout (so the result does not depend on whether Pillow was built with
libraqm) from a TrueType font: by default the bundled Vazirmatn (SIL Open Font
License 1.1, see ``fonts/OFL.txt``); any other TTF with Persian glyphs can be
given. Numbers are shown in Persian digits with the Persian thousands
separator; codes and IDs stay in Latin characters, left to right. Dates are
Jalali (``jdatetime``) in Asia/Tehran. The receipt code is also drawn as a QR
code (``qrcode``), with whole pixels per module so that it scans when printed.

Every text drawn goes through :func:`pos_client.domain.text.safe_text` first
(one row of plain text: no control, bidi-override or line-break characters),
so a product name can neither start a receipt line of its own nor mirror the
text around it, whoever built the :class:`Receipt`.

Widths: a 58 mm roll prints 384 dots, an 80 mm roll 576 (at 203 dpi).

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import arabic_reshaper
import jdatetime
import qrcode
from bidi.algorithm import get_display  # the implementation that mirrors brackets
from PIL import Image, ImageDraw, ImageFont

from pos_client.domain.models import Unit
from pos_client.domain.money import format_quantity as _domain_quantity
from pos_client.domain.receipt import (
    Currency,
    Receipt,
    ReceiptEntitlement,
    ReceiptLine,
    ReceiptPurse,
)
from pos_client.domain.text import safe_text
from pos_client.errors import PrinterError

__all__ = [
    "DEFAULT_BOLD_FONT",
    "DEFAULT_FONT",
    "PAPER_WIDTHS",
    "ReceiptRenderer",
    "entitlement_change",
    "fa_digits",
    "format_amount",
    "jalali",
    "visual",
]

FONT_DIR: Final = Path(__file__).with_name("fonts")
DEFAULT_FONT: Final = FONT_DIR / "Vazirmatn-Regular.ttf"
DEFAULT_BOLD_FONT: Final = FONT_DIR / "Vazirmatn-Bold.ttf"
#: Printable dots across the roll, by paper width in millimetres.
PAPER_WIDTHS: Final = {58: 384, 80: 576}
TEHRAN: Final = ZoneInfo("Asia/Tehran")

_FA_DIGITS: Final = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_THOUSANDS: Final = "\u066c"  # ٬ Arabic thousands separator
_DECIMAL: Final = "\u066b"  # ٫ Arabic decimal separator
_UNIT_NAMES: Final = {Unit.PIECE: "عدد", Unit.KG: "کیلوگرم", Unit.LITRE: "لیتر"}
_CURRENCY_NAMES: Final = {"rial": "ریال", "toman": "تومان"}


def fa_digits(text: str) -> str:
    """ASCII digits as Persian digits."""
    return text.translate(_FA_DIGITS)


def _grouped(value: int) -> str:
    return fa_digits(f"{value:,}".replace(",", _THOUSANDS))


def format_amount(rial: int, currency: Currency = "rial") -> str:
    """``123456`` → ``"۱۲۳٬۴۵۶ ریال"``; in Tomans a tenth, with one decimal if needed."""
    if currency == "toman":
        whole, tenth = divmod(rial, 10)
        number = _grouped(whole) + (f"{_DECIMAL}{fa_digits(str(tenth))}" if tenth else "")
    else:
        number = _grouped(rial)
    return f"{number} {_CURRENCY_NAMES[currency]}"


def format_quantity(quantity_milli: int, unit: Unit) -> str:
    whole, milli = divmod(quantity_milli, 1000)
    number = _grouped(whole)
    if milli:
        number += _DECIMAL + fa_digits(f"{milli:03d}".rstrip("0"))
    return f"{number} {_UNIT_NAMES.get(unit, str(unit))}"


def entitlement_change(entitlement: ReceiptEntitlement) -> str:
    """``"از ۴ به ۳ عدد"``: what a free package's group held before and after the sale.

    Pieces are whole numbers, kilograms and litres keep their decimals; the
    unit's word is said once, after both numbers. In words, not with an
    arrow: the receipt font has no arrows.
    """

    def number(milli: int) -> str:
        return _domain_quantity(milli, entitlement.unit, digits="fa", with_unit=False)

    word = _UNIT_NAMES.get(entitlement.unit, str(entitlement.unit))
    return f"از {number(entitlement.before_milli)} به {number(entitlement.after_milli)} {word}"


def jalali(moment: datetime, *, with_time: bool = True) -> str:
    """An aware datetime as a Jalali date (and time) in Tehran, in Persian digits."""
    local = jdatetime.datetime.fromgregorian(datetime=moment.astimezone(TEHRAN))
    text = local.strftime("%Y/%m/%d")
    if with_time:
        text += " ساعت " + local.strftime("%H:%M")
    return fa_digits(text)


def _has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def visual(text: str) -> str:
    """Text in the order and forms to draw it left to right (shaped, bidi-ordered)."""
    if not _has_rtl(text):
        return text
    return str(get_display(arabic_reshaper.reshape(text), base_dir="R"))


@lru_cache(maxsize=16)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        raise PrinterError(
            f"cannot load the receipt font {path}: {exc}", code="printer_font"
        ) from exc


@dataclass(frozen=True, slots=True)
class _Fonts:
    body: ImageFont.FreeTypeFont
    small: ImageFont.FreeTypeFont
    bold: ImageFont.FreeTypeFont
    title: ImageFont.FreeTypeFont


Op = Callable[[ImageDraw.ImageDraw, int], None]


#: The longest text drawn in one call (names are already cut shorter when a catalog loads).
_MAX_DRAWN_CHARS = 2000


def _plain(text: str) -> str:
    return safe_text(text, limit=_MAX_DRAWN_CHARS)


class _Sheet:
    """Rows drawn top to bottom; the image is made at the end, as tall as needed.

    Every text is made plain (:func:`_plain`) before it is measured or drawn.
    """

    def __init__(self, width: int, margin: int) -> None:
        self.width = width
        self.margin = margin
        self.height = margin
        self._ops: list[tuple[int, Op]] = []
        self._images: list[tuple[int, int, Image.Image]] = []

    def _line_height(self, font: ImageFont.FreeTypeFont) -> int:
        ascent, descent = font.getmetrics()
        return ascent + descent + 4

    def _width(self, text: str, font: ImageFont.FreeTypeFont) -> float:
        return font.getlength(visual(text))

    def right(self, text: str, font: ImageFont.FreeTypeFont, *, indent: int = 0) -> None:
        """Right-aligned text, wrapped at word boundaries."""
        text = _plain(text)
        for row in self._wrap(text, font, self.width - 2 * self.margin - indent):
            shown, y = visual(row), self.height
            x = self.width - self.margin - indent - font.getlength(shown)
            self._ops.append((y, _text_op(x, shown, font)))
            self.height += self._line_height(font)

    def center(self, text: str, font: ImageFont.FreeTypeFont, *, inverted: bool = False) -> None:
        text = _plain(text)
        for row in self._wrap(text, font, self.width - 2 * self.margin):
            shown, y, h = visual(row), self.height, self._line_height(font)
            x = (self.width - font.getlength(shown)) / 2
            if inverted:
                self._ops.append((y, _box_op(self.margin, self.width - self.margin, h)))
            self._ops.append((y, _text_op(x, shown, font, fill=255 if inverted else 0)))
            self.height += h

    def pair(
        self, label: str, value: str, font: ImageFont.FreeTypeFont, *, indent: int = 0
    ) -> None:
        """A label on the right and its value on the left (on the next row if they meet)."""
        label, value = _plain(label), _plain(value)
        label_width = self._width(label, font)
        value_width = self._width(value, font)
        room = self.width - 2 * self.margin - indent
        if label_width + value_width + 12 > room:
            self.right(label, font, indent=indent)
        else:
            self._ops.append(
                (
                    self.height,
                    _text_op(self.width - self.margin - indent - label_width, visual(label), font),
                )
            )
        self._ops.append((self.height, _text_op(self.margin, visual(value), font)))
        self.height += self._line_height(font)

    def rule(self, *, dashed: bool = True) -> None:
        y = self.height + 4
        self._ops.append((y, _rule_op(self.margin, self.width - self.margin, dashed)))
        self.height += 10

    def space(self, pixels: int) -> None:
        self.height += pixels

    def image(self, picture: Image.Image) -> None:
        x = (self.width - picture.width) // 2
        self._images.append((x, self.height, picture))
        self.height += picture.height

    def _wrap(self, text: str, font: ImageFont.FreeTypeFont, room: float) -> list[str]:
        rows: list[str] = []
        current = ""
        for word in text.split():
            candidate = f"{current} {word}" if current else word
            if current and self._width(candidate, font) > room:
                rows.append(current)
                current = word
            else:
                current = candidate
        rows.append(current)
        return rows

    def finish(self) -> Image.Image:
        height = self.height + self.margin
        canvas = Image.new("L", (self.width, height), 255)
        draw = ImageDraw.Draw(canvas)
        for y, op in self._ops:
            op(draw, y)
        for x, y, picture in self._images:
            canvas.paste(picture.convert("L"), (x, y))
        # threshold, not dither: strokes stay crisp and QR modules stay square
        return canvas.point(lambda v: 255 if v >= 144 else 0).convert("1", dither=Image.Dither.NONE)


def _text_op(x: float, shown: str, font: ImageFont.FreeTypeFont, *, fill: int = 0) -> Op:
    def op(draw: ImageDraw.ImageDraw, y: int) -> None:
        draw.text((x, y), shown, font=font, fill=fill)

    return op


def _box_op(left: int, right: int, height: int) -> Op:
    def op(draw: ImageDraw.ImageDraw, y: int) -> None:
        draw.rectangle((left, y, right, y + height - 1), fill=0)

    return op


def _rule_op(left: int, right: int, dashed: bool) -> Op:
    def op(draw: ImageDraw.ImageDraw, y: int) -> None:
        if not dashed:
            draw.line((left, y, right, y), fill=0, width=2)
            return
        for x in range(left, right, 12):
            draw.line((x, y, min(x + 6, right), y), fill=0, width=2)

    return op


def qr_image(text: str, *, max_width: int) -> Image.Image:
    """A QR code of ``text`` with whole-pixel modules and a quiet zone, at most ``max_width``."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=4)
    code.add_data(text)
    code.make(fit=True)
    modules = code.modules_count + 2 * 4
    scale = max(2, min(8, max_width // modules))
    picture: Image.Image = code.make_image(fill_color="black", back_color="white").get_image()
    return picture.convert("L").resize((modules * scale, modules * scale), Image.Resampling.NEAREST)


class ReceiptRenderer:
    """Draws :class:`Receipt` values (and test pages) for one paper width."""

    def __init__(
        self,
        *,
        width_px: int = PAPER_WIDTHS[80],
        font_path: str | Path | None = None,
        bold_font_path: str | Path | None = None,
    ) -> None:
        if width_px < 200 or width_px % 8:
            raise PrinterError(
                f"a receipt must be a multiple of 8 dots and at least 200 wide, not {width_px}",
                code="printer_config",
            )
        self.width_px = width_px
        regular = str(font_path or DEFAULT_FONT)
        bold = str(bold_font_path or (DEFAULT_BOLD_FONT if font_path is None else regular))
        base = 24 if width_px >= 512 else 19
        self._fonts = _Fonts(
            body=_font(regular, base),
            small=_font(regular, base - 4),
            bold=_font(bold, base),
            title=_font(bold, base + 8),
        )
        self._margin = 8 if width_px >= 512 else 4

    def render(self, receipt: Receipt) -> Image.Image:
        """The whole receipt as a 1-bit image ``width_px`` wide."""
        f, money = self._fonts, receipt.currency
        sheet = _Sheet(self.width_px, self._margin)
        if receipt.training:
            sheet.center("حالت آموزشی — این رسید اعتبار ندارد", f.bold, inverted=True)
            sheet.space(6)
        sheet.center("رسید کالابرگ الکترونیکی", f.title)
        sheet.center(receipt.shop_name, f.bold)
        sheet.pair("پایانه", receipt.terminal_id, f.body)
        sheet.pair("تاریخ", jalali(receipt.issued_at), f.body)
        if receipt.beneficiary:
            sheet.pair("سرپرست خانوار", receipt.beneficiary, f.body)
        if receipt.offline:
            sheet.space(4)
            sheet.center("تأیید آفلاین (در صف ارسال)", f.bold, inverted=True)
        sheet.rule()
        labels = {p.purse_id: p.label for p in receipt.purses}
        for line in receipt.lines:
            self._line(sheet, line, labels, money)
        sheet.rule()
        sheet.pair("جمع کل", format_amount(receipt.total_rial, money), f.bold)
        sheet.pair("پرداخت از اعتبار", format_amount(receipt.covered_rial, money), f.body)
        if receipt.waived_rial:
            sheet.pair(
                "بیش از سقف قیمت (دریافت نمی‌شود)",
                format_amount(receipt.waived_rial, money),
                f.body,
            )
        sheet.pair("پرداخت توسط مشتری", format_amount(receipt.household_rial, money), f.bold)
        if receipt.purses:
            sheet.rule()
            sheet.right("موجودی", f.bold)
            for purse in receipt.purses:
                sheet.right(purse.label, f.body)
                if purse.is_package:
                    self._package(sheet, receipt, purse)
                else:
                    sheet.pair(
                        "پیش از خرید",
                        format_amount(purse.balance_before_rial, money),
                        f.small,
                        indent=16,
                    )
                    sheet.pair(
                        "پرداخت‌شده",
                        format_amount(receipt.paid_by_purse(purse.purse_id), money),
                        f.small,
                        indent=16,
                    )
                    sheet.pair(
                        "پس از خرید",
                        format_amount(purse.balance_after_rial, money),
                        f.small,
                        indent=16,
                    )
                if purse.expires_at is not None:
                    sheet.pair(
                        "معتبر تا", jalali(purse.expires_at, with_time=False), f.small, indent=16
                    )
            expiry = receipt.earliest_expiry
            if expiry is not None:
                sheet.pair("نزدیک‌ترین تاریخ انقضا", jalali(expiry, with_time=False), f.bold)
        for label, value in receipt.extra:
            sheet.pair(label, value, f.body)
        sheet.rule()
        sheet.pair("کد رسید", receipt.receipt_code, f.bold)
        sheet.space(6)
        sheet.image(qr_image(receipt.receipt_code, max_width=self.width_px * 2 // 3))
        if receipt.footer:
            sheet.space(4)
            sheet.center(receipt.footer, f.small)
        if receipt.training:
            sheet.space(6)
            sheet.center("حالت آموزشی", f.bold, inverted=True)
        return sheet.finish()

    def _package(self, sheet: _Sheet, receipt: Receipt, purse: ReceiptPurse) -> None:
        """A free package: the value it paid, and each group the sale used, before → after."""
        f = self._fonts
        sheet.pair(
            "ارزش پرداخت‌شده",
            format_amount(receipt.paid_by_purse(purse.purse_id), receipt.currency),
            f.small,
            indent=16,
        )
        if purse.entitlements:
            sheet.right("مانده بسته، پیش و پس از این خرید", f.small, indent=16)
        for entitlement in purse.entitlements:
            sheet.pair(entitlement.label, entitlement_change(entitlement), f.small, indent=32)

    def _line(
        self, sheet: _Sheet, line: ReceiptLine, labels: dict[str, str], money: Currency
    ) -> None:
        f = self._fonts
        sheet.right(line.name, f.body)
        quantity = format_quantity(line.quantity_milli, line.unit)
        sheet.pair(
            f"{quantity} × {format_amount(line.unit_price_rial, money)}",
            format_amount(line.amount_rial, money),
            f.small,
            indent=16,
        )
        for payment in line.paid_by:
            sheet.pair(
                f"از {labels.get(payment.purse_id, payment.purse_id)}",
                format_amount(payment.amount_rial, money),
                f.small,
                indent=32,
            )
        if line.paid_by and line.household_rial:
            sheet.pair("مشتری", format_amount(line.household_rial, money), f.small, indent=32)

    def render_test_page(self, *, title: str, rows: Sequence[tuple[str, str]] = ()) -> Image.Image:
        """A short page to check a printer: a title, label/value rows, a ruler, a QR code."""
        f = self._fonts
        sheet = _Sheet(self.width_px, self._margin)
        sheet.center(title, f.title)
        for label, value in rows:
            sheet.pair(label, value, f.body)
        sheet.rule(dashed=False)
        sheet.center(fa_digits(f"{self.width_px}") + " نقطه", f.small)
        sheet.image(qr_image(title, max_width=self.width_px // 3))
        return sheet.finish()
