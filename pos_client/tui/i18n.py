"""Every text the checkout screen shows, in Persian and English, by key.

Screens never hold a user-facing string literal: they ask :class:`Texts` for
``texts.t("basket.title")`` and get the sentence in the lane's language. The
Persian follows the project glossary: Persian letters ی and ک, the zero-width
non-joiner where a word needs it (می‌شود), Persian digits; numbers, IDs and
codes are wrapped in LRI … PDI so they stay left to right inside a Persian line.

:class:`Texts` also formats the values a sentence carries: amounts in Toman or
Rial (:func:`pos_client.domain.money.format_amount`), quantities, Jalali dates
in Persian and Gregorian ones in English (Asia/Tehran), ages, errors and
decline reasons as sentences (never an exception's text).

The texts here are *logical* (in reading order). Turning them into what the
terminal prints (shaping and visual order) is :mod:`pos_client.tui.rtl`'s job,
done by the widgets at the width they have.

Imports the domain's formatting, the group names of
:mod:`pos_client.services.group_names`, jdatetime and :mod:`pos_client.tui.rtl`;
never textual.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date as calendar_date
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final, Literal
from zoneinfo import ZoneInfo

import jdatetime

from pos_client.domain.errors import PosError
from pos_client.domain.models import Unit
from pos_client.domain.money import format_amount, format_quantity, to_persian_digits
from pos_client.services.group_names import GROUP_NAMES

from .rtl import Direction, RtlMode, base_of, has_rtl, ltr, render_line, rtl_isolate

__all__ = [
    "EN",
    "FA",
    "LANGUAGES",
    "TEHRAN",
    "Lang",
    "MoneyUnit",
    "Texts",
    "placeholders",
]

Lang = Literal["fa", "en"]
MoneyUnit = Literal["toman", "rial"]
LANGUAGES: Final[tuple[Lang, ...]] = ("fa", "en")
TEHRAN: Final = ZoneInfo("Asia/Tehran")

# --------------------------------------------------------------------------- Persian

_FA: dict[str, str] = {
    # the program
    "app.title": "کالابرگ الکترونیکی",
    "app.training": "حالت آموزشی: این خریدها واقعی نیستند",
    "app.starting": "در حال آماده‌سازی پایانه…",
    # keys shown in the footer
    "key.help": "راهنما",
    "key.quit": "خروج",
    "key.void": "ابطال",
    "key.reprint": "چاپ دوباره",
    "key.problems": "رسیدگی",
    "key.sync": "ارسال صف",
    "key.x_report": "گزارش X",
    "key.z_report": "گزارش Z",
    "key.settings": "تنظیمات",
    "key.diagnostics": "عیب‌یابی",
    "key.wallet": "اعتبار",
    "key.quantity": "مقدار",
    "key.price": "قیمت",
    "key.remove": "حذف ردیف",
    "key.review": "بازبینی",
    "key.confirm": "تأیید",
    "key.cancel": "انصراف",
    "key.back": "بازگشت",
    "key.close": "بستن",
    "key.resend": "ارسال دوباره کد",
    "key.new_sale": "خرید جدید",
    "key.handled": "رسیدگی شد",
    "key.close_day": "بستن روز",
    "key.next": "بعدی",
    "key.save": "ذخیره",
    "key.refresh": "بررسی دوباره",
    "key.weigh": "ترازو",
    # always visible: the status bar
    "status.online": "برخط",
    "status.offline": "آفلاین",
    "status.checking": "در حال اتصال",
    "status.queue": "در انتظار ارسال: {count} ({total})",
    "status.queue_empty": "در انتظار ارسال: {count}",
    "status.rules": "قوانین: {age}",
    "status.rules_none": "قوانین: دریافت نشده",
    "status.rules_expired": "قوانین: منقضی",
    "status.scanner": "بارکدخوان: {state}",
    "status.terminal": "پایانه {terminal}",
    "scanner.connected": "متصل",
    "scanner.disconnected": "قطع",
    "scanner.none": "ندارد",
    "scanner.keyboard": "صفحه‌کلید",
    "age.now": "هم‌اکنون",
    "age.minutes": "{n} دقیقه پیش",
    "age.hours": "{n} ساعت پیش",
    "age.days": "{n} روز پیش",
    # identify
    "identify.title": "خرید جدید",
    "identify.prompt": "کارت ملی یا کد QR را اسکن کنید، یا کد ملی را وارد کنید.",
    "identify.hint": "کد خرید یک‌بارمصرف {digits} رقمی هم پذیرفته می‌شود.",
    "identify.placeholder": "کد ملی یا کد خرید",
    "identify.working": "در حال استعلام اعتبار…",
    "identify.product_first": "ابتدا خانوار را شناسایی کنید، سپس کالاها را اسکن کنید.",
    "identify.unreadable": "این کد خوانده نشد. دوباره اسکن کنید یا کد ملی را وارد کنید.",
    "identify.empty": "کد ملی را وارد کنید.",
    "identify.pending": "خرید ناتمام پیدا شد؛ نتیجه آن بررسی می‌شود.",
    # OTP
    "otp.title": "کد تأیید (پیامکی)",
    "otp.sent": (
        "کد تأیید به تلفن همراه سرپرست خانوار پیامک شد. کد را از خریدار بپرسید و وارد کنید."
    ),
    "otp.placeholder": "کد تأیید",
    "otp.requesting": "در حال ارسال کد تأیید…",
    "otp.resend_wait": "ارسال دوباره کد تا {seconds} ثانیه دیگر",
    "otp.resend_ready": "اگر کد نرسید، ارسال دوباره کد را بزنید.",
    "otp.resent": "کد تأیید دوباره فرستاده شد.",
    "otp.empty": "کد تأیید را وارد کنید.",
    "otp.not_digits": "کد تأیید فقط رقم دارد.",
    "otp.wrong": "کد تأیید نادرست است. دوباره بپرسید و وارد کنید.",
    # wallet
    "wallet.title": "اعتبار خانوار",
    "wallet.household": "{name} · کد ملی {nid}",
    "wallet.household_no_id": "{name}",
    "wallet.members": "{n} نفر",
    "wallet.by.national_id": "شناسایی با کد ملی",
    "wallet.by.token": "شناسایی با کد QR",
    "wallet.by.purchase_code": "شناسایی با کد خرید یک‌بارمصرف",
    "wallet.col.purse": "اعتبار",
    "wallet.col.balance": "موجودی",
    "wallet.col.expires": "معتبر تا",
    "wallet.col.city": "شهر",
    "wallet.items_left": "{item}: {quantity}",
    "wallet.package_groups": "{n} گروه کالا، در پایین",
    "wallet.all_cities": "همه شهرها",
    "wallet.offline_allowance": "سقف خرید آفلاین: {amount}",
    "wallet.total": "جمع اعتبار: {amount}",
    "wallet.not_yet": "از {date}",
    "wallet.expired": "منقضی",
    "wallet.no_expiry": "بدون انقضا",
    "wallet.none": "این خانوار اعتبار فعالی ندارد.",
    "wallet.earliest_expiry": "نزدیک‌ترین تاریخ انقضا: {date}",
    # basket
    "basket.title": "سبد خرید",
    "basket.placeholder": "بارکد کالا را اسکن یا وارد کنید",
    "basket.empty": "سبد خالی است. کالاها را اسکن کنید.",
    "basket.col.product": "کالا",
    "basket.col.quantity": "مقدار",
    "basket.col.price": "قیمت واحد",
    "basket.col.amount": "مبلغ",
    "basket.col.payer": "پرداخت",
    "basket.payer.customer": "مشتری",
    "basket.payer.not_eligible": "مشمول کالابرگ نیست",
    "basket.payer.split": "{purse} + مشتری",
    "basket.unknown_product": "کالای خارج از فهرست {gtin}",
    "basket.total": "جمع کل: {amount}",
    "basket.covered": "پرداخت از اعتبار: {amount}",
    "basket.payable": "پرداخت توسط مشتری: {amount}",
    "basket.not_product": "این کد کالا نیست؛ بارکد کالا را اسکن کنید.",
    "basket.quantity_prompt": "مقدار جدید برای «{name}»",
    "basket.measure_prompt": "مقدار «{name}» به {unit}",
    "basket.price_prompt": "قیمت واحد «{name}» به {unit}",
    "basket.price_needed": "قیمت «{name}» در فهرست قیمت فروشگاه نیست؛ قیمت واحد را وارد کنید.",
    "basket.removed": "«{name}» از سبد حذف شد.",
    "basket.no_line": "ابتدا یک ردیف از سبد را انتخاب کنید.",
    "basket.confirm_cancel": "خرید لغو شود؟ سبد خالی می‌شود و چیزی ثبت نمی‌شود.",
    "basket.bad_quantity": "مقدار را با رقم بنویسید، مثلاً {example}.",
    "basket.bad_price": "قیمت را با رقم بنویسید، مثلاً {example}.",
    "basket.weighing": "در حال خواندن وزن از ترازو…",
    "basket.no_scale": "ترازویی وصل نیست.",
    "basket.not_weighed": "این کالا با ترازو فروخته نمی‌شود.",
    "basket.nothing_to_review": "سبد خالی است؛ ابتدا کالاها را اسکن کنید.",
    # review
    "review.title": "بازبینی و تأیید",
    "review.col.purse": "اعتبار",
    "review.col.pays": "پرداخت از اعتبار",
    "review.col.before": "موجودی فعلی",
    "review.col.after": "موجودی پس از خرید",
    "review.total": "جمع کل",
    "review.covered": "پرداخت از اعتبار",
    "review.payable": "پرداخت توسط مشتری",
    "review.waived": "بیش از سقف قیمت (دریافت نمی‌شود)",
    "review.hint": "با تأیید، خرید ثبت می‌شود. برای بازگشت به سبد، بازگشت را بزنید.",
    "review.sending": "در حال ثبت خرید…",
    "review.items": "{quantity} عدد از {item}",
    "review.group": "· {item}",
    "qty.piece": "{n} عدد",
    "qty.piece_one": "{n} عدد",
    "qty.kg": "{n} کیلوگرم",
    "qty.l": "{n} لیتر",
    # result
    "result.approved": "تأیید شد",
    "result.approved_offline": "تأیید آفلاین (در صف ارسال)",
    "result.partially_approved": "بخشی تأیید شد",
    "result.declined": "رد شد",
    "result.refused_offline": "اکنون امکان تأیید نیست",
    "result.unknown": "نتیجه هنوز معلوم نیست",
    "result.voided": "ابطال شد",
    "result.reason": "علت: {reason}",
    "result.receipt_code": "کد رسید: {code}",
    "result.offline_note": "این خرید روی همین پایانه ثبت شد و پس از برقراری ارتباط ارسال می‌شود.",
    "result.refused_note": (
        "ارتباط با سامانه برقرار نیست و این خرید از سقف خرید آفلاین بیشتر است. سبد نگه "
        "داشته شد؛ کمی بعد دوباره تلاش کنید."
    ),
    "result.unknown_note": (
        "پاسخ سامانه نرسید. خرید ذخیره شده و نتیجه آن بعداً بررسی می‌شود؛ دوباره ثبتش نکنید."
    ),
    "result.declined_note": "سبد نگه داشته شد. می‌توانید آن را تغییر دهید و دوباره تأیید کنید.",
    "result.collect": "از مشتری دریافت کنید: {amount}",
    "result.printed": "رسید چاپ شد.",
    "result.print_failed": "چاپ رسید انجام نشد؛ خرید ثبت شده است. بعداً چاپ دوباره را بزنید.",
    "result.no_printer": "چاپگری تنظیم نشده است.",
    "result.back_to_basket": "برای بازگشت به سبد، بازگشت را بزنید.",
    # receipt (on screen)
    "receipt.title": "رسید",
    "receipt.shop": "فروشگاه: {shop}",
    "receipt.terminal": "پایانه: {terminal}",
    "receipt.time": "زمان: {time}",
    "receipt.code": "کد رسید: {code}",
    "receipt.line": "{name} × {quantity}",
    "receipt.total": "جمع کل: {amount}",
    "receipt.covered": "پرداخت از اعتبار: {amount}",
    "receipt.payable": "پرداخت توسط مشتری: {amount}",
    "receipt.balance": "{purse}: {before} ← {after}",
    "receipt.package": "{purse}: پرداخت {amount}",
    "receipt.entitlement": "· {item}: {change}",
    "receipt.balance_after": "{purse}: {after}",
    "receipt.expiry": "نزدیک‌ترین تاریخ انقضا: {date}",
    "receipt.offline": "تأیید آفلاین (در صف ارسال)",
    "receipt.training": "حالت آموزشی",
    # problems
    "problems.title": "موارد نیازمند رسیدگی",
    "problems.empty": "موردی برای رسیدگی نیست.",
    "problems.col.time": "زمان",
    "problems.col.receipt": "کد رسید",
    "problems.col.status": "وضعیت",
    "problems.col.collect": "دریافت از مشتری",
    "problems.col.reason": "علت",
    "problems.hint": "مبلغ ستون «دریافت از مشتری» را از خانوار بگیرید، سپس رسیدگی شد را بزنید.",
    "problems.handled": "مورد رسیدگی‌شده علامت خورد.",
    "problem.kind.declined_after_offline": "رد شد پس از تأیید آفلاین",
    "problem.kind.partially_approved": "بخشی تأیید شد",
    "problem.kind.rejected": "سامانه نپذیرفت",
    "help.screen.identify": "صفحه خرید جدید",
    "help.screen.basket": "سبد خرید",
    "help.screen.result": "نتیجه خرید",
    # reports
    "report.x.title": "گزارش میان‌روز",
    "report.z.title": "گزارش پایان روز",
    "report.number": "شماره گزارش: {number}",
    "report.business_date": "روز کاری: {date}",
    "report.count": "تعداد خرید: {count}",
    "report.covered": "پرداخت از اعتبار: {amount}",
    "report.payable": "پرداخت توسط مشتری: {amount}",
    "report.voided": "ابطال‌شده: {count}",
    "report.program": "{program}: {count} خرید، {amount}",
    "report.unforwarded": "در انتظار ارسال: {count} ({amount})",
    "report.unforwarded_none": "همه خریدها به سامانه ارسال شده‌اند.",
    "report.reconciled": "با تسویه سامانه مطابقت دارد.",
    "report.mismatch": "با تسویه سامانه مطابقت ندارد: {detail}",
    "report.settlement": "تسویه سامانه: {count} خرید، {amount}",
    "report.settlement_unavailable": "تسویه سامانه اکنون در دسترس نیست؛ بعداً دوباره بررسی کنید.",
    "report.z_confirm": "روز کاری بسته شود؟ گزارش پایان روز شماره می‌خورد و ثبت می‌شود.",
    "report.z_done": "روز کاری بسته شد.",
    "report.working": "در حال تهیه گزارش…",
    "report.generated": "زمان گزارش: {time}",
    "report.closed_at": "زمان بستن: {time}",
    "report.sales": "فروش‌ها",
    "report.total": "جمع کل: {amount}",
    "report.waived": "بیش از سقف قیمت (دریافت‌نشده): {amount}",
    "report.by_status": "بر پایه وضعیت",
    "report.by_program": "بر پایه اعتبار",
    "report.status_line": "{status}: {count} خرید، {amount}",
    "report.status.approved": "تأیید شد",
    "report.status.approved_offline": "تأیید آفلاین",
    "report.status.partially_approved": "بخشی تأیید شد",
    "report.status.declined": "رد شد",
    "report.status.refused_offline": "تأیید نشد (بدون ارتباط)",
    "report.status.voided": "ابطال شد",
    "report.status.unresolved": "نتیجه نامعلوم",
    "report.problems": "موارد نیازمند رسیدگی: {count} (دریافت از مشتری: {amount})",
    "report.closed_before": "این روز کاری پیش‌تر با گزارش شماره {number} بسته شده است.",
    "report.reconciliation": "تطبیق با تسویه سامانه",
    "report.agreed": "با تسویه سامانه مطابقت دارد.",
    "report.explained": "با تسویه سامانه مطابقت دارد؛ تفاوت‌ها علت روشن دارند.",
    "report.discrepancy": "با تسویه سامانه مطابقت ندارد: {count} مورد نیازمند رسیدگی.",
    "report.not_reconciled": "تسویه سامانه اکنون در دسترس نیست؛ بعداً تطبیق دوباره را بزنید.",
    "report.journal": "دفتر پایانه: {count} خرید، {amount}",
    "report.finding": "{finding}: {count}",
    "finding.matched": "مطابق",
    "finding.answer_not_recorded": "پاسخ سامانه هنوز ثبت نشده",
    "finding.made_on_another_date": "خرید روز دیگر، امروز ارسال‌شده",
    "finding.void_pending": "در انتظار ابطال",
    "finding.amount_mismatch": "مبلغ ناهمخوان",
    "finding.counted_but_not_sold": "شمرده‌شده ولی فروخته‌نشده",
    "finding.listed_twice": "دوبار آمده",
    "finding.not_forwarded": "هنوز ارسال‌نشده",
    "finding.counted_on_another_date": "در روز دیگر شمرده‌شده",
    "finding.unresolved": "نتیجه نامعلوم",
    "finding.missing_on_ledger": "در سامانه نیست",
    "finding.only_on_ledger": "فقط در سامانه",
    "key.reconcile": "تطبیق دوباره",
    # settings
    "settings.title": "تنظیمات",
    "settings.language": "زبان",
    "settings.currency": "واحد پول",
    "settings.rtl": "چینش راست‌به‌چپ",
    "settings.rtl.app": "توسط برنامه",
    "settings.rtl.terminal": "توسط ترمینال",
    "settings.lang.fa": "فارسی",
    "settings.lang.en": "English",
    "settings.currency.toman": "تومان",
    "settings.currency.rial": "ریال",
    "settings.applied": (
        "تنظیمات ذخیره‌شده روی همین پایانه می‌ماند و از این پس، در اجراهای بعدی هم، به کار می‌رود."
    ),
    "settings.terminal": "پایانه: {terminal}",
    "settings.ledger": "نشانی سامانه: {url}",
    "settings.config": "پرونده تنظیمات: {path}",
    # diagnostics
    "diag.title": "عیب‌یابی",
    "diag.running": "در حال بررسی…",
    "diag.ok": "درست",
    "diag.warn": "هشدار",
    "diag.fail": "خطا",
    "diag.col.check": "بررسی",
    "diag.col.verdict": "نتیجه",
    "diag.col.detail": "توضیح",
    # void and reprint
    "void.confirm": "آخرین خرید (کد رسید {code}، {amount}) ابطال شود؟ اعتبار به خانوار برمی‌گردد.",
    "void.done": "خرید ابطال شد و اعتبار به خانوار برگشت.",
    "void.confirm_any": "آخرین خرید این پایانه ابطال شود؟ اعتبار به خانوار برمی‌گردد.",
    "void.pending": "ارتباط با سامانه برقرار نیست؛ ابطال پس از برقراری ارتباط انجام می‌شود.",
    "void.refused": "ابطال انجام نشد: {reason}",
    "interrupted.title": "خرید ناتمام",
    "interrupted.body": (
        "این خرید پیش از بسته شدن برنامه ثبت شد و نتیجه آن دیده نشد. خرید را ادامه "
        "دهید یا لغو کنید."
    ),
    "interrupted.status": "وضعیت: {status}",
    "interrupted.amount": "پرداخت از اعتبار: {amount}",
    "interrupted.checking": "در حال بررسی نتیجه در سامانه…",
    "interrupted.done": "خرید ناتمام رسیدگی شد.",
    "key.finish": "ادامه خرید",
    "key.cancel_sale": "لغو خرید",
    "key.resolve": "بررسی دوباره",
    "key.abandon": "انصراف از خرید",
    "void.none": "خریدی برای ابطال نیست.",
    "void.working": "در حال ابطال…",
    "reprint.none": "رسیدی برای چاپ نیست.",
    "reprint.done": "رسید دوباره چاپ شد.",
    "sync.started": "ارسال صف آغاز شد.",
    "sync.done": "ارسال صف انجام شد: {count} خرید ارسال شد.",
    # help
    "help.title": "راهنما",
    "help.steps": (
        "۱. خانوار را شناسایی کنید: کارت ملی یا کد QR را اسکن کنید یا کد ملی را وارد "
        "کنید.\n۲. اگر کد تأیید خواسته شد، آن را از خریدار بپرسید و وارد کنید.\n۳. "
        "کالاها را اسکن کنید؛ هر ردیف نشان می‌دهد از کدام اعتبار پرداخت می‌شود.\n۴. "
        "بازبینی را بزنید، تقسیم مبلغ را ببینید و تأیید کنید.\n۵. رسید را به خریدار "
        "بدهید و مبلغ «پرداخت توسط مشتری» را دریافت کنید."
    ),
    "help.keys": "کلیدها",
    "help.demo": "آزمایش در حالت آموزشی",
    "help.demo.scan": "از ترمینال دیگری اسکن بفرستید:",
    "help.demo.households": "خانوارهای نمونه:",
    "help.demo.codes": "کد QR یا کد خرید تازه برای خانوار نمونه:",
    "help.demo.products": "چند کالا برای اسکن:",
    "help.demo.purchase_codes": "کد خرید یک‌بارمصرف (هر کد یک بار):",
    "help.demo.otp": "کد تأیید پیامکی در حالت آموزشی: {code}",
    # confirm dialogs
    "confirm.yes": "بله",
    "confirm.no": "خیر",
    # errors: what went wrong, as a sentence
    "error.unexpected": (
        "خطایی پیش آمد و کار انجام نشد. دوباره تلاش کنید؛ اگر تکرار شد، عیب‌یابی را ببینید."
    ),
    "error.ledger_unavailable": "ارتباط با سامانه کالابرگ برقرار نیست.",
    "error.ledger_error": "سامانه کالابرگ پاسخ درستی نداد.",
    "error.ledger_rejected": "سامانه کالابرگ درخواست را نپذیرفت.",
    "error.unknown_outcome": "پاسخ سامانه نرسید؛ نتیجه بعداً بررسی می‌شود.",
    "error.store_error": "ذخیره روی دیسک ممکن نشد؛ خرید ثبت نشد و چیزی کسر نشد.",
    "error.config_invalid": "تنظیمات پایانه نادرست است.",
    "error.device_error": "دستگاه در دسترس نیست.",
    "error.scanner_error": "بارکدخوان در دسترس نیست.",
    "error.printer_error": "چاپگر در دسترس نیست.",
    "error.scale_error": "ترازو در دسترس نیست یا وزن ثابت نیست.",
    "error.invalid_national_id": "این کد ملی معتبر نیست.",
    "error.length": "کد ملی {digits} رقم است.",
    "error.not_digits": "کد ملی فقط رقم دارد.",
    "error.check_digit": "این کد ملی معتبر نیست (رقم کنترل آن درست نیست).",
    "error.repeated_digits": "این کد ملی معتبر نیست.",
    "error.zero_serial": "این کد ملی معتبر نیست.",
    "error.token_malformed": "کد QR خوانده نشد؛ دوباره اسکن کنید.",
    "error.token_invalid": "کد QR معتبر نیست.",
    "error.token_expired": "کد QR منقضی شده است؛ از خریدار بخواهید کد تازه‌ای نشان دهد.",
    "error.token_not_yet_valid": "کد QR هنوز معتبر نشده است؛ ساعت پایانه را بررسی کنید.",
    "error.token_unknown_key": "کد QR با کلیدی امضا شده که این پایانه نمی‌شناسد.",
    "error.token_used": "این کد QR قبلاً استفاده شده است.",
    "error.purchase_code_invalid": "کد خرید نادرست است یا قبلاً استفاده شده است.",
    "error.beneficiary_not_found": "خانواری با این مشخصات پیدا نشد.",
    "error.beneficiary_blocked": "خرید برای این خانوار مسدود است.",
    "error.otp_invalid": "کد تأیید نادرست است.",
    "error.otp_required": "کد تأیید لازم است.",
    "error.not_voidable": "این خرید دیگر قابل ابطال نیست.",
    "error.offline_identify": "بدون ارتباط با سامانه فقط با کد QR می‌توان خرید کرد.",
    "error.busy": "کار قبلی هنوز تمام نشده است؛ کمی صبر کنید.",
    "error.checkout_error": "این کار اکنون ممکن نیست.",
    "error.checkout_refused": "این خرید پذیرفته نشد.",
    "error.unreadable": "این کد خوانده نشد؛ دوباره اسکن کنید.",
    "error.bad_check_digit": "رقم کنترل بارکد درست نیست؛ دوباره اسکن کنید.",
    "error.not_a_known_code": "این کد شناخته نشد؛ دوباره اسکن کنید یا کد ملی را وارد کنید.",
    "error.not_an_identity": "ابتدا کارت ملی، کد QR یا کد خرید خانوار را اسکن کنید.",
    "error.not_a_product": "این کد کالا نیست؛ بارکد کالا را اسکن کنید.",
    "error.invalid_gtin": "بارکد کالا درست نیست.",
    "error.unknown_item": "کالای این برچسب ترازو در فهرست فروشگاه نیست.",
    "error.quantity_needed": "این کالا را وزن کنید یا مقدار آن را وارد کنید.",
    "error.invalid_quantity": "مقدار درست نیست؛ کالای دانه‌ای فقط عدد صحیح دارد.",
    "error.price_missing": "قیمت این کالا در فهرست قیمت فروشگاه نیست.",
    "error.invalid_price": "قیمت درست نیست.",
    "error.no_such_line": "این ردیف در سبد نیست.",
    "error.empty_basket": "سبد خالی است؛ ابتدا کالاها را اسکن کنید.",
    "error.nothing_covered": "هیچ کالایی از این سبد مشمول اعتبار خانوار نیست.",
    "error.no_rules": "قوانین هنوز از سامانه دریافت نشده است؛ ارتباط را بررسی کنید.",
    "error.otp_no_challenge": "ابتدا کد تأیید را درخواست کنید.",
    "error.otp_not_needed": "برای این خانوار کد تأیید لازم نیست.",
    "error.wrong_stage": "این کار در این مرحله ممکن نیست.",
    "error.nothing_to_void": "خریدی برای ابطال نیست.",
    "error.not_found": "این خرید در دفتر پایانه پیدا نشد.",
    "error.receipt_invalid": "رسید این خرید ساخته نشد؛ خرید ثبت شده است.",
    # decline reasons
    "reason.insufficient_balance": "موجودی کافی نیست",
    "reason.category_not_allowed": "این کالا مشمول این اعتبار نیست",
    "reason.city_mismatch": "این اعتبار در این شهر قابل استفاده نیست",
    "reason.purse_expired": "اعتبار منقضی شده است",
    "reason.purse_not_found": "اعتبار پیدا نشد",
    "reason.over_transaction_limit": "مبلغ خرید از سقف مجاز یک خرید بیشتر است",
    "reason.otp_required": "کد تأیید لازم است",
    "reason.otp_invalid": "کد تأیید نادرست است",
    "reason.token_used": "کد QR قبلاً استفاده شده است",
    "reason.beneficiary_blocked": "خرید برای این خانوار مسدود است",
    "reason.rules_outdated": "قوانین پایانه به‌روز نیست",
    "reason.offline_limit": "از سقف خرید آفلاین بیشتر است",
    "reason.offline_disabled": "تأیید آفلاین در این پایانه خاموش است",
    "reason.identity_online_only": "بدون ارتباط با سامانه فقط با کد QR می‌توان خرید کرد",
    "reason.token_not_verified": "امضای کد QR روی پایانه بررسی نشد",
    "reason.no_rules": "قوانین روی این پایانه نیست",
    "reason.rules_expired": "قوانین پایانه منقضی شده است",
    "reason.never_contacted": "این پایانه هنوز به سامانه وصل نشده است",
    "reason.contact_too_old": "آخرین ارتباط با سامانه خیلی قدیمی است",
    "reason.clock_behind": "ساعت پایانه عقب است",
    "reason.hot_listed": "این خانوار را نمی‌توان آفلاین پذیرفت",
    "reason.nothing_covered": "اعتبار خانوار چیزی از این سبد را پرداخت نمی‌کند",
    "reason.program_not_offline": "این اعتبار خرید آفلاین ندارد",
    "reason.over_program_transaction_limit": "از سقف خرید آفلاین این اعتبار بیشتر است",
    "reason.over_program_daily_limit": "از سقف روزانه خرید آفلاین این خانوار بیشتر است",
    "reason.over_daily_limit": "از سقف روزانه خرید آفلاین این خانوار بیشتر است",
    "reason.over_outstanding_limit": "خریدهای آفلاین ارسال‌نشده این پایانه به سقف رسیده است",
    "reason.over_token_allowance": "از سقف آفلاین کد QR بیشتر است",
    "reason.over_wallet_allowance": "از سقف خرید آفلاین خانوار بیشتر است",
    "reason.ledger_unavailable": "ارتباط با سامانه برقرار نیست",
    "reason.abandoned": "خرید انجام نشد",
    "reason.not_received": "سامانه این خرید را دریافت نکرده است",
    "reason.unknown": "علت نامشخص ({code})",
    # programmes, cities, entitlement groups
    "program.kalabarg": "کالابرگ",
    "program.yasna": "بسته حمایتی مادر و نوزاد (یسنا)",
    "program.donor": "کمک خیرین",
    "city.rasht": "رشت",
    "city.tehran": "تهران",
    "city.isfahan": "اصفهان",
    "city.mashhad": "مشهد",
    "city.tabriz": "تبریز",
    "city.shiraz": "شیراز",
    "unit.toman": "تومان",
    "unit.rial": "ریال",
    "unit.kg": "کیلوگرم",
    "unit.l": "لیتر",
    "unit.piece": "عدد",
    # --- added by store
    "error.store_lost": (
        "فایل ذخیره‌سازی این پایانه هنگام کار حذف یا جابه‌جا شد و خرید تازه از دست می‌رفت؛"
        " فروش متوقف شد. برنامه را ببندید و دوباره اجرا کنید."
    ),
    "error.store_refused": (
        "فایل ذخیره‌سازی این پایانه پیدا نشد یا مال این پایانه نیست؛ چیزی ثبت نشد."
    ),
}

# --------------------------------------------------------------------------- English

_EN: dict[str, str] = {
    "app.title": "Kalabarg checkout",
    "app.training": "Training mode: these sales are not real",
    "app.starting": "Getting the terminal ready…",
    "key.help": "Help",
    "key.quit": "Quit",
    "key.void": "Void",
    "key.reprint": "Reprint",
    "key.problems": "Problems",
    "key.sync": "Send queue",
    "key.x_report": "X report",
    "key.z_report": "Z report",
    "key.settings": "Settings",
    "key.diagnostics": "Diagnostics",
    "key.wallet": "Credit",
    "key.quantity": "Quantity",
    "key.price": "Price",
    "key.remove": "Remove line",
    "key.review": "Review",
    "key.confirm": "Confirm",
    "key.cancel": "Cancel",
    "key.back": "Back",
    "key.close": "Close",
    "key.resend": "Send code again",
    "key.new_sale": "New sale",
    "key.handled": "Handled",
    "key.close_day": "Close day",
    "key.next": "Next",
    "key.save": "Save",
    "key.refresh": "Check again",
    "key.weigh": "Scale",
    "status.online": "Online",
    "status.offline": "Offline",
    "status.checking": "Connecting",
    "status.queue": "Waiting to be sent: {count} ({total})",
    "status.queue_empty": "Waiting to be sent: {count}",
    "status.rules": "Rules: {age}",
    "status.rules_none": "Rules: not received",
    "status.rules_expired": "Rules: expired",
    "status.scanner": "Scanner: {state}",
    "status.terminal": "Terminal {terminal}",
    "scanner.connected": "connected",
    "scanner.disconnected": "disconnected",
    "scanner.none": "none",
    "scanner.keyboard": "keyboard",
    "age.now": "just now",
    "age.minutes": "{n} min ago",
    "age.hours": "{n} h ago",
    "age.days": "{n} days ago",
    "identify.title": "New sale",
    "identify.prompt": "Scan the national card or QR code, or type the national ID.",
    "identify.hint": "Single-use purchase codes ({digits} digits) are accepted too.",
    "identify.placeholder": "National ID or purchase code",
    "identify.working": "Looking up the credit…",
    "identify.product_first": "Identify the household first, then scan the products.",
    "identify.unreadable": "This code could not be read. Scan again or type the national ID.",
    "identify.empty": "Type the national ID.",
    "identify.pending": "An unfinished sale was found; its outcome is being checked.",
    "otp.title": "Verification code (texted)",
    "otp.sent": (
        "A verification code was texted to the head of household's phone. Ask the "
        "customer for it and type it."
    ),
    "otp.placeholder": "Verification code",
    "otp.requesting": "Sending the verification code…",
    "otp.resend_wait": "Send the code again in {seconds} s",
    "otp.resend_ready": "If the code did not arrive, send the code again.",
    "otp.resent": "The verification code was sent again.",
    "otp.empty": "Type the verification code.",
    "otp.not_digits": "The verification code holds only digits.",
    "otp.wrong": "The verification code is wrong. Ask again and type it.",
    "wallet.title": "Household credit",
    "wallet.household": "{name} · national ID {nid}",
    "wallet.household_no_id": "{name}",
    "wallet.members": "household of {n}",
    "wallet.by.national_id": "Identified by national ID",
    "wallet.by.token": "Identified by QR code",
    "wallet.by.purchase_code": "Identified by single-use purchase code",
    "wallet.col.purse": "Credit",
    "wallet.col.balance": "Balance",
    "wallet.col.expires": "Valid until",
    "wallet.col.city": "City",
    "wallet.items_left": "{item}: {quantity}",
    "wallet.package_groups": "{n} item groups, below",
    "wallet.all_cities": "all cities",
    "wallet.offline_allowance": "Offline allowance: {amount}",
    "wallet.total": "Total credit: {amount}",
    "wallet.not_yet": "from {date}",
    "wallet.expired": "expired",
    "wallet.no_expiry": "no expiry",
    "wallet.none": "This household has no active credit.",
    "wallet.earliest_expiry": "Earliest expiry: {date}",
    "basket.title": "Basket",
    "basket.placeholder": "Scan or type a product barcode",
    "basket.empty": "The basket is empty. Scan the products.",
    "basket.col.product": "Product",
    "basket.col.quantity": "Qty",
    "basket.col.price": "Unit price",
    "basket.col.amount": "Amount",
    "basket.col.payer": "Paid by",
    "basket.payer.customer": "customer",
    "basket.payer.not_eligible": "not eligible",
    "basket.payer.split": "{purse} + customer",
    "basket.unknown_product": "Product not on the list {gtin}",
    "basket.total": "Total: {amount}",
    "basket.covered": "Covered by credit: {amount}",
    "basket.payable": "Paid by the customer: {amount}",
    "basket.not_product": "That is not a product barcode; scan a product.",
    "basket.quantity_prompt": "New quantity for “{name}”",
    "basket.measure_prompt": "Quantity of “{name}” in {unit}",
    "basket.price_prompt": "Unit price of “{name}” in {unit}",
    "basket.price_needed": "“{name}” is not in the shop's price list; type its unit price.",
    "basket.removed": "“{name}” was removed from the basket.",
    "basket.no_line": "Select a line of the basket first.",
    "basket.confirm_cancel": "Cancel this sale? The basket is emptied and nothing is recorded.",
    "basket.bad_quantity": "Write the quantity in digits, for example {example}.",
    "basket.bad_price": "Write the price in digits, for example {example}.",
    "basket.weighing": "Reading the weight from the scale…",
    "basket.no_scale": "No scale is connected.",
    "basket.not_weighed": "This product is not sold by weight.",
    "basket.nothing_to_review": "The basket is empty; scan the products first.",
    "review.title": "Review and confirm",
    "review.col.purse": "Credit",
    "review.col.pays": "Covered",
    "review.col.before": "Balance now",
    "review.col.after": "Balance after",
    "review.total": "Total",
    "review.covered": "Covered by credit",
    "review.payable": "Paid by the customer",
    "review.waived": "Above the price cap (not charged)",
    "review.hint": "Confirming records the sale. Press Back to return to the basket.",
    "review.sending": "Recording the sale…",
    "review.items": "{quantity} of {item}",
    "review.group": "· {item}",
    "qty.piece": "{n} pcs",
    "qty.piece_one": "{n} pc",
    "qty.kg": "{n} kg",
    "qty.l": "{n} L",
    "result.approved": "Approved",
    "result.approved_offline": "Approved offline (to be sent)",
    "result.partially_approved": "Partly approved",
    "result.declined": "Declined",
    "result.refused_offline": "Cannot be approved now",
    "result.unknown": "Outcome not known yet",
    "result.voided": "Voided",
    "result.reason": "Reason: {reason}",
    "result.receipt_code": "Receipt code: {code}",
    "result.offline_note": (
        "This sale was recorded on this terminal and will be sent when the connection is back."
    ),
    "result.refused_note": (
        "The ledger cannot be reached and this sale is beyond the offline limits. The "
        "basket is kept; try again shortly."
    ),
    "result.unknown_note": (
        "The ledger did not answer. The sale is saved and its outcome will be checked "
        "later; do not record it again."
    ),
    "result.declined_note": "The basket is kept. You can change it and confirm again.",
    "result.collect": "Collect from the customer: {amount}",
    "result.printed": "Receipt printed.",
    "result.print_failed": "The receipt was not printed; the sale is recorded. Reprint it later.",
    "result.no_printer": "No printer is set up.",
    "result.back_to_basket": "Press Back to return to the basket.",
    "receipt.title": "Receipt",
    "receipt.shop": "Shop: {shop}",
    "receipt.terminal": "Terminal: {terminal}",
    "receipt.time": "Time: {time}",
    "receipt.code": "Receipt code: {code}",
    "receipt.line": "{name} × {quantity}",
    "receipt.total": "Total: {amount}",
    "receipt.covered": "Covered by credit: {amount}",
    "receipt.payable": "Paid by the customer: {amount}",
    "receipt.balance": "{purse}: {before} → {after}",
    "receipt.package": "{purse}: paid {amount}",
    "receipt.entitlement": "· {item}: {change}",
    "receipt.balance_after": "{purse}: {after}",
    "receipt.expiry": "Earliest expiry: {date}",
    "receipt.offline": "Approved offline (to be sent)",
    "receipt.training": "Training mode",
    "problems.title": "Problems",
    "problems.empty": "Nothing needs attention.",
    "problems.col.time": "Time",
    "problems.col.receipt": "Receipt code",
    "problems.col.status": "Status",
    "problems.col.collect": "Collect",
    "problems.col.reason": "Reason",
    "problems.hint": (
        "Collect the amount in the “Collect” column from the household, then press Handled."
    ),
    "problems.handled": "Marked as handled.",
    "problem.kind.declined_after_offline": "Declined after offline approval",
    "problem.kind.partially_approved": "Partly approved",
    "problem.kind.rejected": "Refused by the ledger",
    "help.screen.identify": "New sale screen",
    "help.screen.basket": "Basket",
    "help.screen.result": "Sale result",
    "report.x.title": "Running report (X)",
    "report.z.title": "End-of-day report (Z)",
    "report.number": "Report number: {number}",
    "report.business_date": "Business date: {date}",
    "report.count": "Sales: {count}",
    "report.covered": "Covered by credit: {amount}",
    "report.payable": "Paid by customers: {amount}",
    "report.voided": "Voided: {count}",
    "report.program": "{program}: {count} sales, {amount}",
    "report.unforwarded": "Waiting to be sent: {count} ({amount})",
    "report.unforwarded_none": "Every sale has been sent to the ledger.",
    "report.reconciled": "Matches the ledger's settlement.",
    "report.mismatch": "Does not match the ledger's settlement: {detail}",
    "report.settlement": "Ledger settlement: {count} sales, {amount}",
    "report.settlement_unavailable": (
        "The ledger's settlement cannot be read now; check again later."
    ),
    "report.z_confirm": "Close the business day? The end-of-day report is numbered and recorded.",
    "report.z_done": "The business day is closed.",
    "report.working": "Preparing the report…",
    "report.generated": "Generated: {time}",
    "report.closed_at": "Closed: {time}",
    "report.sales": "Sales",
    "report.total": "Total: {amount}",
    "report.waived": "Above the price cap (not charged): {amount}",
    "report.by_status": "By status",
    "report.by_program": "By credit",
    "report.status_line": "{status}: {count} sales, {amount}",
    "report.status.approved": "Approved",
    "report.status.approved_offline": "Approved offline",
    "report.status.partially_approved": "Partly approved",
    "report.status.declined": "Declined",
    "report.status.refused_offline": "Not approved (no connection)",
    "report.status.voided": "Voided",
    "report.status.unresolved": "Outcome not known",
    "report.problems": "Problems: {count} (to collect: {amount})",
    "report.closed_before": "This business day was closed before, by report number {number}.",
    "report.reconciliation": "Reconciliation with the ledger's settlement",
    "report.agreed": "Matches the ledger's settlement.",
    "report.explained": "Matches the ledger's settlement; every difference has a known cause.",
    "report.discrepancy": "Does not match the ledger's settlement: {count} items need attention.",
    "report.not_reconciled": "The ledger's settlement cannot be read now; press Reconcile later.",
    "report.journal": "Terminal journal: {count} sales, {amount}",
    "report.finding": "{finding}: {count}",
    "finding.matched": "Matched",
    "finding.answer_not_recorded": "Answer not recorded yet",
    "finding.made_on_another_date": "Made on another day, sent today",
    "finding.void_pending": "Void pending",
    "finding.amount_mismatch": "Amounts differ",
    "finding.counted_but_not_sold": "Counted but not sold",
    "finding.listed_twice": "Listed twice",
    "finding.not_forwarded": "Not sent yet",
    "finding.counted_on_another_date": "Counted on another day",
    "finding.unresolved": "Outcome not known",
    "finding.missing_on_ledger": "Missing at the ledger",
    "finding.only_on_ledger": "Only at the ledger",
    "key.reconcile": "Reconcile",
    "settings.title": "Settings",
    "settings.language": "Language",
    "settings.currency": "Currency",
    "settings.rtl": "Right-to-left layout",
    "settings.rtl.app": "by this program",
    "settings.rtl.terminal": "by the terminal",
    "settings.lang.fa": "فارسی",
    "settings.lang.en": "English",
    "settings.currency.toman": "Toman",
    "settings.currency.rial": "Rial",
    "settings.applied": (
        "Saved settings stay on this lane: they apply now and at every start from now on."
    ),
    "settings.terminal": "Terminal: {terminal}",
    "settings.ledger": "Ledger URL: {url}",
    "settings.config": "Configuration file: {path}",
    "diag.title": "Diagnostics",
    "diag.running": "Checking…",
    "diag.ok": "OK",
    "diag.warn": "Warning",
    "diag.fail": "Failed",
    "diag.col.check": "Check",
    "diag.col.verdict": "Verdict",
    "diag.col.detail": "Detail",
    "void.confirm": (
        "Void the last sale (receipt code {code}, {amount})? The credit goes back to the household."
    ),
    "void.done": "The sale was voided and the credit returned to the household.",
    "void.confirm_any": "Void this terminal's last sale? The credit goes back to the household.",
    "void.pending": "The ledger cannot be reached; the sale will be voided when it is back.",
    "void.refused": "The sale was not voided: {reason}",
    "interrupted.title": "Unfinished sale",
    "interrupted.body": (
        "This sale was recorded before the program closed and its outcome was never "
        "seen. Finish it or cancel it."
    ),
    "interrupted.status": "Status: {status}",
    "interrupted.amount": "Covered by credit: {amount}",
    "interrupted.checking": "Checking its outcome with the ledger…",
    "interrupted.done": "The unfinished sale was dealt with.",
    "key.finish": "Finish sale",
    "key.cancel_sale": "Cancel sale",
    "key.resolve": "Check again",
    "key.abandon": "Give up sale",
    "void.none": "There is no sale to void.",
    "void.working": "Voiding…",
    "reprint.none": "There is no receipt to print.",
    "reprint.done": "The receipt was printed again.",
    "sync.started": "Sending the queue.",
    "sync.done": "Queue sent: {count} sales forwarded.",
    "help.title": "Help",
    "help.steps": (
        "1. Identify the household: scan the national card or QR code, or type the "
        "national ID.\n2. If a verification code is asked for, ask the customer and "
        "type it.\n3. Scan the products; each line shows which credit pays for it.\n4. "
        "Press Review, check the split and confirm.\n5. Give the receipt to the "
        "customer and collect what the customer pays."
    ),
    "help.keys": "Keys",
    "help.demo": "Trying it in training mode",
    "help.demo.scan": "Send scans from another terminal:",
    "help.demo.households": "Demo households:",
    "help.demo.codes": "A fresh QR token or purchase code for a demo household:",
    "help.demo.products": "Some products to scan:",
    "help.demo.purchase_codes": "Single-use purchase codes (each works once):",
    "help.demo.otp": "Texted verification code in training mode: {code}",
    "confirm.yes": "Yes",
    "confirm.no": "No",
    "error.unexpected": (
        "Something went wrong and nothing was done. Try again; if it happens again, "
        "open diagnostics."
    ),
    "error.ledger_unavailable": "The Kalabarg ledger cannot be reached.",
    "error.ledger_error": "The Kalabarg ledger gave an answer that makes no sense.",
    "error.ledger_rejected": "The Kalabarg ledger refused the request.",
    "error.unknown_outcome": "The ledger did not answer; the outcome will be checked later.",
    "error.store_error": (
        "Saving to disk failed; the sale was not recorded and nothing was charged."
    ),
    "error.config_invalid": "The terminal's configuration is wrong.",
    "error.device_error": "The device cannot be reached.",
    "error.scanner_error": "The scanner cannot be reached.",
    "error.printer_error": "The printer cannot be reached.",
    "error.scale_error": "The scale cannot be reached or the weight is not steady.",
    "error.invalid_national_id": "This national ID is not valid.",
    "error.length": "A national ID has {digits} digits.",
    "error.not_digits": "A national ID holds only digits.",
    "error.check_digit": "This national ID is not valid (its check digit is wrong).",
    "error.repeated_digits": "This national ID is not valid.",
    "error.zero_serial": "This national ID is not valid.",
    "error.token_malformed": "The QR code could not be read; scan it again.",
    "error.token_invalid": "The QR code is not valid.",
    "error.token_expired": "The QR code has expired; ask the customer to show a fresh one.",
    "error.token_not_yet_valid": "The QR code is not valid yet; check the terminal's clock.",
    "error.token_unknown_key": "The QR code is signed by a key this terminal does not know.",
    "error.token_used": "This QR code has been used already.",
    "error.purchase_code_invalid": "The purchase code is wrong or has been used already.",
    "error.beneficiary_not_found": "No household was found for this.",
    "error.beneficiary_blocked": "Sales to this household are blocked.",
    "error.otp_invalid": "The verification code is wrong.",
    "error.otp_required": "A verification code is needed.",
    "error.not_voidable": "This sale can no longer be voided.",
    "error.offline_identify": "Without the ledger, only a QR code can be used to buy.",
    "error.busy": "The previous step has not finished yet; wait a moment.",
    "error.checkout_error": "That cannot be done now.",
    "error.checkout_refused": "This sale was not accepted.",
    "error.unreadable": "This code could not be read; scan it again.",
    "error.bad_check_digit": "The barcode's check digit is wrong; scan it again.",
    "error.not_a_known_code": "This code is not recognised; scan again or type the national ID.",
    "error.not_an_identity": "Scan the household's national card, QR code or purchase code first.",
    "error.not_a_product": "That is not a product barcode; scan a product.",
    "error.invalid_gtin": "The product barcode is not valid.",
    "error.unknown_item": "This scale label's item is not in the shop's list.",
    "error.quantity_needed": "Weigh this product or type its quantity.",
    "error.invalid_quantity": "The quantity is not valid; pieces are sold whole.",
    "error.price_missing": "This product is not in the shop's price list.",
    "error.invalid_price": "The price is not valid.",
    "error.no_such_line": "There is no such line in the basket.",
    "error.empty_basket": "The basket is empty; scan the products first.",
    "error.nothing_covered": "Nothing in this basket is covered by the household's credit.",
    "error.no_rules": "The rules have not been received from the ledger yet; check the connection.",
    "error.otp_no_challenge": "Ask for a verification code first.",
    "error.otp_not_needed": "This household needs no verification code.",
    "error.wrong_stage": "That cannot be done at this step.",
    "error.nothing_to_void": "There is no sale to void.",
    "error.not_found": "This sale is not in the terminal's journal.",
    "error.receipt_invalid": "The receipt for this sale could not be made; the sale is recorded.",
    "reason.insufficient_balance": "insufficient balance",
    "reason.category_not_allowed": "this product is not covered by this credit",
    "reason.city_mismatch": "this credit cannot be spent in this city",
    "reason.purse_expired": "the credit has expired",
    "reason.purse_not_found": "the credit was not found",
    "reason.over_transaction_limit": "the sale is above the limit for one purchase",
    "reason.otp_required": "a verification code is needed",
    "reason.otp_invalid": "the verification code is wrong",
    "reason.token_used": "the QR code has been used already",
    "reason.beneficiary_blocked": "sales to this household are blocked",
    "reason.rules_outdated": "the terminal's rules are out of date",
    "reason.offline_limit": "above the offline limits",
    "reason.offline_disabled": "offline approval is off on this terminal",
    "reason.identity_online_only": "without the ledger only a QR code can be used",
    "reason.token_not_verified": "the QR code's signature was not checked on the terminal",
    "reason.no_rules": "this terminal holds no rules",
    "reason.rules_expired": "the terminal's rules have expired",
    "reason.never_contacted": "this terminal has never reached the ledger",
    "reason.contact_too_old": "the last contact with the ledger is too long ago",
    "reason.clock_behind": "the terminal's clock is behind",
    "reason.hot_listed": "this household cannot be served offline",
    "reason.nothing_covered": "the household's credit pays nothing in this basket",
    "reason.program_not_offline": "this credit cannot be spent offline",
    "reason.over_program_transaction_limit": "above this credit's offline limit per sale",
    "reason.over_program_daily_limit": "above the household's daily offline limit",
    "reason.over_daily_limit": "above the household's daily offline limit",
    "reason.over_outstanding_limit": "this terminal's unsent offline sales reached their limit",
    "reason.over_token_allowance": "above the QR code's offline allowance",
    "reason.over_wallet_allowance": "above the household's offline allowance",
    "reason.ledger_unavailable": "the ledger cannot be reached",
    "reason.abandoned": "the sale did not go ahead",
    "reason.not_received": "the ledger never received this sale",
    "reason.unknown": "unknown reason ({code})",
    "program.kalabarg": "Kalabarg",
    "program.yasna": "Yasna (mother and infant)",
    "program.donor": "Donor credit",
    "city.rasht": "Rasht",
    "city.tehran": "Tehran",
    "city.isfahan": "Isfahan",
    "city.mashhad": "Mashhad",
    "city.tabriz": "Tabriz",
    "city.shiraz": "Shiraz",
    "unit.toman": "Toman",
    "unit.rial": "Rial",
    "unit.kg": "kg",
    "unit.l": "litres",
    "unit.piece": "pieces",
    # --- added by store
    "error.store_lost": (
        "The terminal's store file was deleted or moved while it ran, so a new sale would be"
        " lost; selling has stopped. Close the program and start it again."
    ),
    "error.store_refused": (
        "The terminal's store file is missing or is not this terminal's; nothing was recorded."
    ),
}

# Free packages' group names are shared with printed receipts (services).
_FA.update({f"group.{k}": v for k, v in GROUP_NAMES["fa"].items()})
_EN.update({f"group.{k}": v for k, v in GROUP_NAMES["en"].items()})

FA: Final[Mapping[str, str]] = MappingProxyType(_FA)
EN: Final[Mapping[str, str]] = MappingProxyType(_EN)
_CATALOGS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType({"fa": FA, "en": EN})


#: Error codes whose sentence depends on the error's class, not its code.
_CLASS_KEYS: Final = (
    ("UnknownOutcome", "error.unknown_outcome"),
    ("LedgerUnavailable", "error.ledger_unavailable"),
    ("LedgerRejected", "error.ledger_rejected"),
    ("LedgerError", "error.ledger_error"),
    ("StoreError", "error.store_error"),
    ("ConfigError", "error.config_invalid"),
    ("ScannerError", "error.scanner_error"),
    ("PrinterError", "error.printer_error"),
    ("ScaleError", "error.scale_error"),
    ("DeviceError", "error.device_error"),
    ("InvalidNationalId", "error.invalid_national_id"),
    ("TokenError", "error.token_invalid"),
    ("CheckoutRefused", "error.checkout_refused"),
    ("CheckoutError", "error.checkout_error"),
)


#: Reasons a scan could not be read (see ``UnknownScan``): one sentence for them all.
_SCAN_REASONS: Final = frozenset(
    {
        "empty",
        "too_long",
        "control_characters",
        "invalid_characters",
        "unsupported_symbology",
        "unknown_ai",
        "malformed_gs1",
        "fractional_price",
        "foreign_currency",
        "zero_measure",
        "not_text",
        "malformed_token",
    }
)


def placeholders(text: str) -> frozenset[str]:
    """The ``{names}`` a text expects."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


@dataclass(frozen=True, slots=True)
class Texts:
    """The lane's language, currency and right-to-left setting, and the texts in it."""

    lang: Lang = "fa"
    currency: MoneyUnit = "toman"
    rtl: RtlMode = RtlMode.APP

    @property
    def base(self) -> Direction:
        """The paragraph direction of the interface."""
        return "rtl" if self.lang == "fa" else "ltr"

    @property
    def persian(self) -> bool:
        return self.lang == "fa"

    def has(self, key: str) -> bool:
        return key in _CATALOGS[self.lang]

    def t(self, key: str, **params: object) -> str:
        """The text for ``key`` (logical order), its ``{params}`` filled in.

        An ``int`` parameter is written with Persian digits in Persian; any
        parameter without right-to-left letters (numbers, IDs, codes, Latin
        names) is isolated left to right in Persian text.
        """
        template = _CATALOGS[self.lang][key]
        if not params:
            return template
        return template.format(**{name: self.value(value) for name, value in params.items()})

    def value(self, value: object) -> str:
        """One value ready to go inside a sentence of this language."""
        text = self.number(value) if isinstance(value, int) else str(value)
        if not text or _isolated(text):
            return text
        if self.persian and not has_rtl(text):
            return ltr(text)
        if not self.persian and has_rtl(text):
            return rtl_isolate(text)
        return text

    def data(self, text: str) -> str:
        """Data from the ledger or the catalog (a name, a label) as it should stand in a line."""
        return self.value(text)

    def show_data(self, text: str) -> str:
        """A cell of data (a name, a label) for the terminal, in its own direction."""
        base: Direction = "rtl" if self.persian else base_of(text)
        return render_line(text, mode=self.rtl, base=base)

    def show(self, text: str) -> str:
        """Logical text as the terminal should receive it (one line)."""
        return render_line(text, mode=self.rtl, base=self.base)

    def line(self, key: str, **params: object) -> str:
        """``t(key, **params)`` as the terminal should receive it (one line)."""
        return self.show(self.t(key, **params))

    # ---- numbers and money

    def digits(self, text: str) -> str:
        """``text`` with Persian digits in Persian, as it is in English."""
        return to_persian_digits(text) if self.persian else text

    def number(self, value: int) -> str:
        """An integer with thousands grouped (``۱٬۲۳۴`` / ``1,234``)."""
        return format_amount(
            value, unit="rial", with_unit=False, digits="fa" if self.persian else "ascii"
        )

    def code(self, text: str) -> str:
        """An ID or code kept left to right (digits stay ASCII: codes are read out)."""
        return ltr(text) if self.persian else text

    def amount(self, rial: int, *, with_unit: bool = True) -> str:
        """An amount of Rials in the lane's currency, its number left to right."""
        return format_amount(
            rial,
            unit=self.currency,
            digits="fa" if self.persian else "ascii",
            lang=self.lang,
            with_unit=with_unit,
            isolate=self.persian,
        )

    def currency_word(self) -> str:
        return self.t(f"unit.{self.currency}")

    def quantity(self, quantity_milli: int, unit: Unit | str = Unit.PIECE) -> str:
        return format_quantity(
            quantity_milli,
            Unit(unit),
            digits="fa" if self.persian else "ascii",
            lang=self.lang,
            isolate=self.persian,
        )

    def price_from_input(self, value: int) -> int:
        """A price typed in the lane's currency, in Rials."""
        return value * 10 if self.currency == "toman" else value

    # ---- dates and times

    def date(self, moment: datetime) -> str:
        """The date in Tehran: Jalali with Persian digits, or ISO in English."""
        local = moment.astimezone(TEHRAN)
        if self.persian:
            jalali = jdatetime.date.fromgregorian(date=local.date())
            return ltr(to_persian_digits(f"{jalali.year:04d}/{jalali.month:02d}/{jalali.day:02d}"))
        return local.strftime("%Y-%m-%d")

    def date_of(self, day: calendar_date) -> str:
        """A calendar date (a business date): Jalali in Persian, ISO in English."""
        if self.persian:
            jalali = jdatetime.date.fromgregorian(date=day)
            return ltr(to_persian_digits(f"{jalali.year:04d}/{jalali.month:02d}/{jalali.day:02d}"))
        return day.isoformat()

    def time(self, moment: datetime) -> str:
        local = moment.astimezone(TEHRAN)
        return self.value(self.digits(local.strftime("%H:%M")))

    def datetime(self, moment: datetime) -> str:
        return f"{self.date(moment)} {self.time(moment)}"

    def age(self, elapsed: timedelta) -> str:
        """How long ago, in whole minutes, hours or days."""
        minutes = max(0, int(elapsed.total_seconds() // 60))
        if minutes < 1:
            return self.t("age.now")
        if minutes < 60:
            return self.t("age.minutes", n=minutes)
        if minutes < 48 * 60:
            return self.t("age.hours", n=minutes // 60)
        return self.t("age.days", n=minutes // (24 * 60))

    # ---- names the ledger gives as ids

    def program(self, program_id: str) -> str:
        key = f"program.{program_id}"
        return self.t(key) if self.has(key) else program_id

    def city(self, city: str | None) -> str:
        if city is None:
            return self.t("wallet.all_cities")
        key = f"city.{city}"
        return self.t(key) if self.has(key) else city

    def group(self, group: str) -> str:
        key = f"group.{group}"
        return self.t(key) if self.has(key) else group

    # ---- errors and reasons

    def reason(self, code: str | None) -> str:
        """A decline reason in words."""
        code = code or "unknown"
        for key in (f"reason.{code}", f"error.{code}"):
            if self.has(key):
                return self.t(key)
        return self.t("reason.unknown", code=code)

    def error(self, exc: BaseException) -> str:
        """What went wrong, as a sentence: never an exception's own text."""
        if isinstance(exc, PosError):
            code = exc.code
            if code == "length":
                return self.t("error.length", digits=10)
            key = f"error.{code}"
            if self.has(key):
                return self.t(key)
            if code in _SCAN_REASONS:
                return self.t("error.unreadable")
            names = {cls.__name__ for cls in type(exc).__mro__}
            for name, class_key in _CLASS_KEYS:
                if name in names:
                    return self.t(class_key)
        return self.t("error.unexpected")

    def with_lang(self, lang: Lang) -> Texts:
        return Texts(lang=lang, currency=self.currency, rtl=self.rtl)


def _isolated(text: str) -> bool:
    return text.startswith(("\u2066", "\u2067", "\u2068")) and text.endswith("\u2069")
