"""Money and quantities: arithmetic, display and typed input (pos_client.domain.money)."""

from __future__ import annotations

import unicodedata
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.errors import ContractError
from pos_client.domain.models import Unit
from pos_client.domain.money import (
    LRI,
    MAX_INT64,
    PDI,
    format_amount,
    format_quantity,
    line_amount,
    parse_amount,
    parse_quantity_milli,
    rial_to_toman,
    round_half_up_div,
    to_ascii_digits,
    to_persian_digits,
)

PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"


def half_up(value: Fraction) -> int:
    """Reference rounding: half away from zero, from exact fractions."""
    magnitude = abs(value)
    whole = int(magnitude)  # floor, as magnitude >= 0
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return whole if value >= 0 else -whole


amounts = st.integers(min_value=-(10**15), max_value=10**15)


# --------------------------------------------------------------------------- arithmetic


@settings(max_examples=300)
@given(
    st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=10**6)
)
def test_round_half_up_div_matches_fractions(numerator: int, denominator: int) -> None:
    assert round_half_up_div(numerator, denominator) == half_up(Fraction(numerator, denominator))


@settings(max_examples=300)
@given(
    quantity_milli=st.integers(min_value=0, max_value=10**9),
    unit_price_rial=st.integers(min_value=0, max_value=10**10),
)
def test_line_amount_matches_fractions(quantity_milli: int, unit_price_rial: int) -> None:
    expected = half_up(Fraction(quantity_milli * unit_price_rial, 1000))
    assert line_amount(quantity_milli, unit_price_rial) == expected


@pytest.mark.parametrize(
    ("quantity_milli", "price", "numerator"),
    [(1250, 14_500_001, 1250 * 14_500_001), (1, 500, 500), (1, 499, 499), (3000, 7, 21000)],
)
def test_line_amount_halves(quantity_milli: int, price: int, numerator: int) -> None:
    assert line_amount(quantity_milli, price) == half_up(Fraction(numerator, 1000))


def test_round_half_up_div_refuses_non_positive_denominator() -> None:
    with pytest.raises(ValueError):
        round_half_up_div(1, 0)
    with pytest.raises(ValueError):
        round_half_up_div(1, -10)


@given(amounts)
def test_rial_to_toman(rial: int) -> None:
    assert rial_to_toman(rial) == half_up(Fraction(rial, 10))


# --------------------------------------------------------------------------- digits


@given(st.text(alphabet="0123456789abc ,.-٫٬" + PERSIAN + ARABIC_INDIC, max_size=40))
def test_digit_conversions(text: str) -> None:
    persian = to_persian_digits(text)
    ascii_text = to_ascii_digits(text)
    assert not any(ch in "0123456789" + ARABIC_INDIC for ch in persian)
    assert not any(ch in PERSIAN + ARABIC_INDIC for ch in ascii_text)
    assert to_ascii_digits(persian) == ascii_text
    assert to_persian_digits(ascii_text) == persian
    assert len(persian) == len(text) == len(ascii_text)


def test_digit_tables() -> None:
    assert to_persian_digits("0123456789") == PERSIAN
    assert to_persian_digits(ARABIC_INDIC) == PERSIAN
    assert to_ascii_digits(PERSIAN) == "0123456789"
    assert to_ascii_digits(ARABIC_INDIC) == "0123456789"
    assert [unicodedata.digit(ch) for ch in PERSIAN] == list(range(10))
    assert to_persian_digits("کد ۱۲ab3") == "کد ۱۲ab۳"


# --------------------------------------------------------------------------- format_amount


def test_format_amount_examples() -> None:
    assert format_amount(12_345_670) == "۱٬۲۳۴٬۵۶۷ تومان"
    assert format_amount(12_345_670, unit="rial") == "۱۲٬۳۴۵٬۶۷۰ ریال"
    assert format_amount(12_345_670, unit="rial", digits="ascii", lang="en") == "12,345,670 Rial"
    assert format_amount(12_345_670, digits="ascii", lang="en") == "1,234,567 Toman"
    assert format_amount(5, digits="ascii", with_unit=False) == "1"  # 0.5 Toman rounds up
    assert format_amount(4, digits="ascii", with_unit=False) == "0"
    assert format_amount(-15, digits="ascii", with_unit=False) == "-2"
    assert format_amount(-1_000, unit="rial", digits="ascii", with_unit=False) == "-1,000"
    assert format_amount(0, unit="rial") == "۰ ریال"
    assert format_amount(999, unit="rial", digits="ascii", with_unit=False) == "999"


def test_format_amount_isolates_only_when_asked() -> None:
    plain = format_amount(1_500_000)
    isolated = format_amount(1_500_000, isolate=True)
    assert LRI not in plain and PDI not in plain
    assert isolated == f"{LRI}۱۵۰٬۰۰۰{PDI} تومان"
    assert format_amount(-10, unit="rial", isolate=True, with_unit=False) == f"{LRI}-۱۰{PDI}"


def test_format_amount_separator_is_the_persian_one() -> None:
    text = format_amount(1_000_000, unit="rial", with_unit=False)
    assert "\u066c" in text and "," not in text


@pytest.mark.parametrize("bad", [1.5, True, "100", None])
def test_format_amount_refuses_non_int(bad: object) -> None:
    with pytest.raises(TypeError):
        format_amount(bad)  # type: ignore[arg-type]


def test_format_amount_refuses_unknown_options() -> None:
    with pytest.raises(ValueError):
        format_amount(1, unit="dollar")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_amount(1, digits="roman")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_amount(1, lang="de")  # type: ignore[arg-type]


@settings(max_examples=300)
@given(
    rial=amounts,
    digits=st.sampled_from(["fa", "ascii"]),
    isolate=st.booleans(),
)
def test_format_then_parse_amount_round_trip(rial: int, digits: str, isolate: bool) -> None:
    text = format_amount(rial, unit="rial", digits=digits, with_unit=False, isolate=isolate)  # type: ignore[arg-type]
    assert parse_amount(text, allow_negative=True) == rial
    toman_text = format_amount(rial, digits=digits, with_unit=False, isolate=isolate)  # type: ignore[arg-type]
    assert parse_amount(toman_text, allow_negative=True) == half_up(Fraction(rial, 10))


@settings(max_examples=200)
@given(rial=st.integers(min_value=0, max_value=10**15), lang=st.sampled_from(["fa", "en"]))
def test_formatted_amount_shape(rial: int, lang: str) -> None:
    text = format_amount(rial, unit="rial", lang=lang)  # type: ignore[arg-type]
    number, word = text.split(" ")
    assert word == ("ریال" if lang == "fa" else "Rial")
    groups = number.split("\u066c")
    assert 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
    assert all(ch in PERSIAN for ch in "".join(groups))


# --------------------------------------------------------------------------- format_quantity


def test_format_quantity_examples() -> None:
    assert format_quantity(1250, Unit.KG, digits="ascii") == "1.25 kg"
    assert format_quantity(1250, Unit.KG) == "۱٫۲۵ کیلوگرم"
    assert format_quantity(3000, Unit.PIECE) == "۳"
    assert format_quantity(3000, Unit.PIECE, digits="ascii") == "3"
    assert format_quantity(1500, Unit.PIECE, digits="ascii") == "1.5"
    assert format_quantity(500, Unit.LITRE) == "۰٫۵ لیتر"
    assert format_quantity(500, Unit.LITRE, digits="ascii") == "0.5 L"
    assert format_quantity(1, Unit.KG, digits="ascii", with_unit=False) == "0.001"
    assert format_quantity(1_234_000, Unit.KG, digits="ascii") == "1,234 kg"
    assert format_quantity(1250, Unit.KG, digits="ascii", lang="fa") == "1.25 کیلوگرم"
    assert format_quantity(1250, Unit.KG, isolate=True) == f"{LRI}۱٫۲۵{PDI} کیلوگرم"
    assert format_quantity(-250, Unit.KG, digits="ascii") == "-0.25 kg"


@settings(max_examples=300)
@given(
    quantity_milli=st.integers(min_value=0, max_value=10**12),
    unit=st.sampled_from(list(Unit)),
    digits=st.sampled_from(["fa", "ascii"]),
    isolate=st.booleans(),
)
def test_format_then_parse_quantity_round_trip(
    quantity_milli: int, unit: Unit, digits: str, isolate: bool
) -> None:
    text = format_quantity(quantity_milli, unit, digits=digits, with_unit=False, isolate=isolate)  # type: ignore[arg-type]
    assert parse_quantity_milli(text) == quantity_milli


# --------------------------------------------------------------------------- parse_amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12000", 12000),
        ("۱۲۰۰۰", 12000),
        ("١٢٠٠٠", 12000),
        ("12,000", 12000),
        ("۱۲٬۰۰۰", 12000),
        ("۱۲،۰۰۰", 12000),
        ("1 234 567", 1234567),
        ("1\u202f234", 1234),
        ("  42 ", 42),
        ("\u200f۴۲\u200e", 42),
        (f"{LRI}۱٬۰۰۰{PDI}", 1000),
        ("+7", 7),
        ("0", 0),
        ("007", 7),
        ("۱2٣", 123),
    ],
)
def test_parse_amount_accepts(text: str, expected: int) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "12.5",
        "۱۲٫۵",
        "12.000",
        "12,34",
        "1,,234",
        "1234,567",
        ",123",
        "123,",
        "12a",
        "۱۲ تومان",
        "1e5",
        "0x10",
        "½",
        "١٢/٥",
        "--5",
        "-5",  # negative unless asked
        "5-",
        "9" * 20,  # larger than a 64-bit integer
        "1" * 70,  # too long to be typed
        "١٢\n٣",
    ],
)
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_amount(text)
    assert excinfo.value.reason == "invalid_amount"


def test_parse_amount_negative_only_when_allowed() -> None:
    assert parse_amount("-5", allow_negative=True) == -5
    assert parse_amount("\u2212۵", allow_negative=True) == -5
    assert parse_amount(str(MAX_INT64)) == MAX_INT64
    with pytest.raises(ContractError):
        parse_amount(str(MAX_INT64 + 1))


def test_parse_amount_refuses_non_text() -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_amount(12000)  # type: ignore[arg-type]
    assert excinfo.value.reason == "invalid_amount"


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_parse_amount_any_text_gives_int_or_contract_error(text: str) -> None:
    try:
        value = parse_amount(text)
    except ContractError as exc:
        assert exc.reason == "invalid_amount"
    else:
        assert type(value) is int and 0 <= value <= MAX_INT64


# --------------------------------------------------------------------------- parse_quantity_milli


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.25", 1250),
        ("۱٫۲۵", 1250),
        ("١٫٢٥", 1250),
        ("۱.۲۵", 1250),
        ("3", 3000),
        ("0.5", 500),
        (".5", 500),
        ("0.001", 1),
        ("2.100", 2100),
        ("1,000.5", 1_000_500),
        (" ۰٫۷۵ ", 750),
        ("0", 0),
    ],
)
def test_parse_quantity_accepts(text: str, expected: int) -> None:
    assert parse_quantity_milli(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "1.",
        "1.2345",  # finer than a thousandth
        "1.2.3",
        "1,5",  # a decimal comma is ambiguous
        "1/2",
        "-1",
        "1.5kg",
        "1e3",
        "NaN",
        "inf",
        "1.-5",
        "1. 5",
        "9" * 20,
    ],
)
def test_parse_quantity_refuses(text: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_quantity_milli(text)
    assert excinfo.value.reason == "invalid_quantity"


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_parse_quantity_any_text_gives_int_or_contract_error(text: str) -> None:
    try:
        value = parse_quantity_milli(text)
    except ContractError as exc:
        assert exc.reason == "invalid_quantity"
    else:
        assert type(value) is int and 0 <= value <= MAX_INT64


@settings(max_examples=200)
@given(
    whole=st.integers(min_value=0, max_value=10**9),
    fraction=st.from_regex(r"[0-9]{1,3}", fullmatch=True),
)
def test_parse_quantity_is_exact(whole: int, fraction: str) -> None:
    expected = Fraction(f"{whole}.{fraction}") * 1000
    assert expected.denominator == 1
    assert parse_quantity_milli(f"{whole}.{fraction}") == expected.numerator
    assert parse_quantity_milli(to_persian_digits(f"{whole}٫{fraction}")) == expected.numerator
