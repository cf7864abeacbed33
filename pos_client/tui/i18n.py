"""Every text the checkout screen shows, in Persian and English, by key.

Screens never hold a user-facing string literal: they ask :class:`Texts` for
``texts.t("basket.title")`` and get the sentence in the lane's language. The
sentences live in gettext catalogs, ``pos_client/locale/<lang>/LC_MESSAGES/tui.po``
(read by :mod:`pos_client.locale`), keyed by the same ``basket.title``; to add
or port texts see ``python -m pos_client.locale --help``. The Persian follows
the project glossary: Persian letters ی and ک, the zero-width non-joiner where
a word needs it (می‌شود), Persian digits; numbers, IDs and codes are wrapped in
LRI … PDI (here, not in the catalogs) so they stay left to right inside a
Persian line. Plural and right-to-left rules stay here, in Python.

:class:`Texts` also formats the values a sentence carries: amounts in Toman or
Rial (:func:`pos_client.domain.money.format_amount`), quantities, Jalali dates
in Persian and Gregorian ones in English (Asia/Tehran), ages, errors and
decline reasons as sentences (never an exception's text).

The texts here are *logical* (in reading order). Turning them into what the
terminal prints (shaping and visual order) is :mod:`pos_client.tui.rtl`'s job,
done by the widgets at the width they have.

Imports the domain's formatting, the catalogs of :mod:`pos_client.locale`,
the group names of :mod:`pos_client.services.group_names`, jdatetime and
:mod:`pos_client.tui.rtl`; never textual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date as calendar_date
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

import jdatetime

from pos_client.domain.errors import PosError
from pos_client.domain.models import Unit
from pos_client.domain.money import (
    Lang,
    MoneyUnit,
    format_amount,
    format_quantity,
    to_persian_digits,
)
from pos_client.locale import catalog, placeholders
from pos_client.services.group_names import GROUP_NAMES

from .rtl import Direction, RtlMode, base_of, has_rtl, ltr, render_line, rtl_isolate

__all__ = [
    "DOMAIN",
    "EN",
    "FA",
    "LANGUAGES",
    "TEHRAN",
    "Lang",
    "MoneyUnit",
    "Texts",
    "placeholders",
]

LANGUAGES: Final[tuple[Lang, ...]] = ("fa", "en")
TEHRAN: Final = ZoneInfo("Asia/Tehran")
#: The gettext domain of the screen's texts: ``pos_client/locale/<lang>/LC_MESSAGES/tui.po``.
DOMAIN: Final = "tui"


def _screen_texts(lang: Lang) -> Mapping[str, str]:
    """The ``tui`` catalog of ``lang``, with the free packages' group names.

    Group names are shared with printed receipts, so they stay in
    :mod:`pos_client.services.group_names`.
    """
    groups = {f"group.{k}": v for k, v in GROUP_NAMES.get(lang, {}).items()}
    return MappingProxyType({**catalog(DOMAIN, lang), **groups})


_CATALOGS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {lang: _screen_texts(lang) for lang in LANGUAGES}
)
FA: Final[Mapping[str, str]] = _CATALOGS["fa"]
EN: Final[Mapping[str, str]] = _CATALOGS["en"]


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
