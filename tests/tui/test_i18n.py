"""Texts in Persian and English: same keys, same placeholders, careful Persian."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from pos_client.domain.errors import InvalidNationalId, TokenError
from pos_client.errors import LedgerRejected, LedgerUnavailable, StoreError, UnknownOutcome
from pos_client.locale import read_catalog
from pos_client.services.group_names import GROUP_NAMES
from pos_client.tui.i18n import EN, FA, Texts, placeholders
from pos_client.tui.rtl import LRI, PDI, RtlMode, strip_controls


def test_both_languages_have_the_same_keys_and_placeholders():
    assert set(FA) == set(EN)
    for key in FA:
        assert placeholders(FA[key]) == placeholders(EN[key]), key


@pytest.mark.parametrize("key", sorted(FA))
def test_persian_texts_use_persian_letters_and_digits(key):
    text = FA[key]
    assert not re.search("[\u064a\u0643]", text), "Arabic ي or ك instead of Persian ی or ک"
    assert not re.search("[0-9]", text), "ASCII digits in a Persian text"
    assert not re.search("[\u0660-\u0669]", text), "Arabic-Indic digits in a Persian text"
    assert "  " not in text


def test_words_that_need_a_zero_width_non_joiner_have_one():
    assert FA["result.approved_offline"] == "تأیید آفلاین (در صف ارسال)"
    joined = "".join(FA.values())
    for word in ("می‌شود", "یک‌بارمصرف", "عیب‌یابی", "باقی‌مانده"):
        if word.replace("\u200c", "") in joined.replace("\u200c", ""):
            assert word in joined, word


def test_numbers_are_persian_and_isolated_in_persian():
    texts = Texts(lang="fa")
    text = texts.t("status.queue", count=3, total=texts.amount(1_234_500))
    assert text == f"در انتظار ارسال: {LRI}۳{PDI} ({LRI}۱۲۳٬۴۵۰{PDI} تومان)"


def test_numbers_are_ascii_and_plain_in_english():
    texts = Texts(lang="en", currency="rial")
    assert texts.t("status.queue", count=3, total=texts.amount(1_234_500)) == (
        "Waiting to be sent: 3 (1,234,500 Rial)"
    )


def test_ids_and_codes_stay_left_to_right_in_persian():
    texts = Texts(lang="fa")
    text = texts.t("result.receipt_code", code="R-12AB")
    assert f"{LRI}R-12AB{PDI}" in text
    assert "R-12AB" in texts.show(text)


def test_persian_names_are_not_isolated():
    texts = Texts(lang="fa")
    assert texts.t("basket.removed", name="برنج") == "«برنج» از سبد حذف شد."


def test_dates_are_jalali_in_persian_and_gregorian_in_english():
    moment = datetime(2026, 11, 23, 20, 45, tzinfo=UTC)  # 00:15 on 24 Nov in Tehran
    assert strip_controls(Texts(lang="fa").date(moment)) == "۱۴۰۵/۰۹/۰۳"
    assert Texts(lang="en").date(moment) == "2026-11-24"
    assert strip_controls(Texts(lang="fa").time(moment)) == "۰۰:۱۵"


def test_ages():
    texts = Texts(lang="en")
    assert texts.age(timedelta(seconds=20)) == "just now"
    assert texts.age(timedelta(minutes=5)) == "5 min ago"
    assert texts.age(timedelta(hours=3, minutes=59)) == "3 h ago"
    assert texts.age(timedelta(days=4)) == "4 days ago"
    assert strip_controls(Texts().age(timedelta(hours=2))) == "۲ ساعت پیش"


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (LedgerUnavailable("connect timeout to 10.0.0.1"), "error.ledger_unavailable"),
        (UnknownOutcome("read timeout"), "error.unknown_outcome"),
        (StoreError("disk I/O error"), "error.store_error"),
        (InvalidNationalId("check_digit"), "error.check_digit"),
        (TokenError("token_expired"), "error.token_expired"),
        (
            LedgerRejected("x", status=404, code="beneficiary_not_found"),
            "error.beneficiary_not_found",
        ),
        (LedgerRejected("x", status=418, code="teapot"), "error.ledger_rejected"),
        (RuntimeError("Traceback (most recent call last)"), "error.unexpected"),
    ],
)
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_errors_become_sentences_in_the_users_language(error, key, lang):
    texts = Texts(lang=lang)
    assert texts.error(error) == texts.t(key)
    assert "Traceback" not in texts.error(error)
    assert "10.0.0.1" not in texts.error(error)


def test_decline_reasons_in_words_and_unknown_ones_named():
    texts = Texts(lang="fa")
    assert texts.reason("insufficient_balance") == "موجودی کافی نیست"
    assert "mystery" in strip_controls(texts.reason("mystery"))


def test_amounts_follow_the_currency_setting():
    assert strip_controls(Texts(lang="fa", currency="toman").amount(125_000)) == "۱۲٬۵۰۰ تومان"
    assert strip_controls(Texts(lang="fa", currency="rial").amount(125_000)) == "۱۲۵٬۰۰۰ ریال"
    assert Texts(lang="en", currency="toman").price_from_input(12_500) == 125_000


def test_show_respects_the_rtl_setting():
    logical = Texts(lang="fa").t("basket.title")
    assert Texts(lang="fa", rtl=RtlMode.TERMINAL).show(logical) == logical
    assert Texts(lang="fa", rtl=RtlMode.APP).show(logical) != logical


def test_the_screen_reads_its_texts_from_the_catalogs():
    for lang, texts in (("fa", FA), ("en", EN)):
        sentences = read_catalog("tui", lang).translations()
        groups = {f"group.{k}": v for k, v in GROUP_NAMES[lang].items()}
        assert dict(texts) == {**sentences, **groups}
    assert Texts(lang="fa").t("basket.title") == "سبد خرید"
