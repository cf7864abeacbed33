"""GS1 element strings as the world prints them: every AI GS1 defines, dates, bare GTINs."""

from __future__ import annotations

import calendar
import re
from datetime import date
from functools import cache

import pytest
from biip import ParseConfig, ParseError
from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS
from biip.gs1_messages import GS1Message
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.barcodes import (
    DATE_AIS,
    GS,
    Gs1Scan,
    ProductScan,
    UnknownScan,
    classify_scan,
    gtin_check_digit,
    parse_gs1,
)

EAN13 = "6260000000019"
GTIN14 = "0" + EAN13
CHICKEN = "06260000000118"  # a GTIN-14 for a product sold by the kilogram
NID = "0499370899"

#: GS1's table as biip holds it (the AIs, their patterns, where FNC1 must follow).
TABLE = _GS1_APPLICATION_IDENTIFIERS


def gs1(text: str, **kwargs: object) -> Gs1Scan:
    scan = classify_scan(text, **kwargs)  # type: ignore[arg-type]
    assert isinstance(scan, Gs1Scan), scan
    return scan


def unknown(scan: object, reason: str) -> UnknownScan:
    assert isinstance(scan, UnknownScan), scan
    assert scan.reason == reason, scan
    return scan


# ---- what the lane takes from biip --------------------------------------------------


def test_the_ai_table_is_prefix_free() -> None:
    """No AI starts another: the first AI found at a position is the only one."""
    ais = list(TABLE)
    for ai in ais:
        assert not any(other != ai and other.startswith(ai) for other in ais), ai


def test_every_ai_pattern_captures_its_whole_value() -> None:
    """The reader moves on by len(AI) + len(value): biip's value must be all it matched."""
    for ai, spec in TABLE.items():
        assert spec.pattern.startswith("^" + ai) and spec.pattern.endswith("$"), ai
        body = spec.pattern[1 + len(ai) : -1]
        stripped = re.sub(r"\((?!\?)(?:[^()]|\((?:[^()])*\))*\)\??", "", body)
        assert stripped == "", (ai, spec.pattern)


def test_the_ais_gs1_defines_are_known() -> None:
    """Labels with AIs a hand-kept table lacked: fresh meat, fish, medicines, ..."""
    examples = {
        "235": "TPX1",  # third-party controlled serial
        "4330": "003200-",  # maximum temperature, °F
        "7002": "1A",  # UN/ECE meat carcasses classification
        "7005": "27",  # catch area
        "7006": "261201",  # first freeze date
        "7007": "261201261205",  # harvest date range
        "7030": "364AB12",  # processor approval number, ISO country code
        "7240": "PROTOCOL1",  # protocol ID
        "8030": "ABC-_9",  # digital signature
    }
    for ai, value in examples.items():
        scan = gs1(f"]C101{GTIN14}{ai}{value}")
        assert scan.elements[ai] == value
        assert (scan.gtin, scan.net_weight_milli, scan.price_rial) == (EAN13, None, None)


def test_an_ai_gs1_does_not_define_is_refused() -> None:
    # (3106) would be micrograms of a kilogram: GS1 stops at (3105).
    unknown(classify_scan(f"]C101{GTIN14}3106001250"), "unknown_ai")
    unknown(classify_scan(f"(01){GTIN14}(3106)001250"), "unknown_ai")
    unknown(classify_scan(f"(01){GTIN14}(0106)123456789012"), "unknown_ai")


# ---- the two reported labels --------------------------------------------------------


@pytest.mark.parametrize("expect", ["any", "identify", "product"])
def test_a_bare_gtin_element_without_aim_is_a_product(expect: str) -> None:
    """A DataBar or GS1-128 with only (01), from a scanner that sends no AIM identifier."""
    scan = gs1("01" + GTIN14, expect=expect)
    assert (scan.symbology, scan.gtin, dict(scan.elements)) == (None, EAN13, {"01": GTIN14})
    assert (scan.net_weight_milli, scan.price_rial) == (None, None)
    other = gs1("01" + "1" + EAN13[:-1] + str(gtin_check_digit("1" + EAN13[:-1])) + "\r\n")
    assert other.gtin == other.elements["01"]


def test_a_bare_gtin_element_with_a_wrong_check_digit_is_refused() -> None:
    unknown(classify_scan("01" + GTIN14[:-1] + "0"), "bad_check_digit")


@pytest.mark.parametrize(
    "text",
    [
        "01" + EAN13,  # 15 digits
        "02" + GTIN14,  # 16 digits, not (01)
        "1" + "01" + EAN13,
        NID + "012345",
        "۰۱" + GTIN14,  # typed Persian digits are no element string
    ],
)
def test_other_digit_runs_are_still_no_code(text: str) -> None:
    unknown(classify_scan(text), "not_a_known_code")


def test_other_codes_keep_their_kind() -> None:
    assert isinstance(classify_scan(EAN13), ProductScan)
    assert isinstance(classify_scan(GTIN14, expect="product"), ProductScan)
    assert classify_scan(NID).kind == "national_id"
    assert classify_scan("12345678", expect="identify").kind == "purchase_code"


FRESH_MEAT = "".join(
    [
        "]C1" + "01" + CHICKEN + "3103" + "001250",  # 1.250 kg
        "7003" + "2612311200" + GS,  # use by 31 Dec 2026, 12:00
        "8008" + "2612010830" + GS,  # produced 1 Dec 2026, 08:30
        "7030" + "364AB12",  # processor's approval number
    ]
)


def test_a_fresh_meat_label_with_expiry_and_production_times() -> None:
    scan = gs1(FRESH_MEAT)
    assert (scan.gtin, scan.net_weight_milli, scan.price_rial) == (CHICKEN[1:], 1250, None)
    assert dict(scan.elements) == {
        "01": CHICKEN,
        "3103": "001250",
        "7003": "2612311200",
        "8008": "2612010830",
        "7030": "364AB12",
    }
    hri = gs1(f"(01){CHICKEN}(3103)001250(7003)2612311200(8008)2612010830(7030)364AB12")
    assert dict(hri.elements) == dict(scan.elements)


def test_a_fixed_length_element_may_lack_the_fnc1_after_it() -> None:
    """(7003) has ten digits, always: a printer that omits the FNC1 after it is still read."""
    scan = gs1("]C1" + "01" + CHICKEN + "3103001250" + "7003" + "2612311200" + "80082612010830")
    assert scan.elements["7003"] == "2612311200"
    assert scan.elements["8008"] == "2612010830"
    assert scan.net_weight_milli == 1250


@pytest.mark.parametrize(
    "text",
    [
        # A variable-length price followed by a weight without FNC1: refused, never guessed.
        "]C1" + "01" + GTIN14 + "3922" + "150000" + "3103002000",
        "]C1" + "01" + GTIN14 + "3920" + "1" * 15 + "3103002000",
        # (8008) may carry minutes and seconds: its end is not known without FNC1.
        "]C1" + "01" + GTIN14 + "8008" + "26120108" + "3103002000",
    ],
)
def test_a_variable_length_element_must_end_at_an_fnc1(text: str) -> None:
    unknown(classify_scan(text), "malformed_gs1")


def test_other_ais_never_change_the_price_or_the_weight() -> None:
    text = "]C1" + "01" + GTIN14 + "3103001250" + "8005" + "012345" + GS + "3902" + "99900"
    scan = gs1(text + GS + "3302" + "001500")  # price per unit, amount payable, gross weight
    assert (scan.gtin, scan.net_weight_milli, scan.price_rial) == (EAN13, 1250, None)


# ---- dates --------------------------------------------------------------------------


def real_date(yy: int, mm: int, dd: int) -> bool:
    """Independent oracle: a YYMMDD of this century, day 00 the month's last day."""
    try:
        last = calendar.monthrange(2000 + yy, mm)[1]
        date(2000 + yy, mm, dd or last)
    except (ValueError, calendar.IllegalMonthError):
        return False
    return True


SIX_DIGIT_DATE_AIS = sorted(ai for ai, layout in DATE_AIS.items() if layout == "D")
MONTHS = st.one_of(st.integers(0, 13), st.integers(0, 99))
DAYS = st.one_of(st.integers(0, 32), st.integers(0, 99))


def test_the_date_ais_are_the_ones_gs1_defines() -> None:
    assert set(SIX_DIGIT_DATE_AIS) == {"11", "12", "13", "15", "16", "17", "4326", "7006"}
    for ai in DATE_AIS:
        assert ai in TABLE, ai


@given(st.sampled_from(SIX_DIGIT_DATE_AIS), st.integers(0, 99), MONTHS, DAYS)
@settings(max_examples=600)
def test_dates_are_checked_as_dates(ai: str, yy: int, mm: int, dd: int) -> None:
    value = f"{yy:02}{mm:02}{dd:02}"
    for text in (f"]C101{GTIN14}{ai}{value}", f"(01){GTIN14}({ai}){value}"):
        scan = classify_scan(text)
        if real_date(yy, mm, dd):
            assert isinstance(scan, Gs1Scan), (text, scan)
            assert scan.elements[ai] == value
        else:
            unknown(scan, "invalid_date")


@given(st.dates(date(2000, 1, 1), date(2099, 12, 31)), st.booleans())
@settings(max_examples=300)
def test_every_calendar_day_is_a_date(day: date, month_end: bool) -> None:
    value = day.strftime("%y%m") + ("00" if month_end else day.strftime("%d"))
    assert gs1(f"]C101{GTIN14}17{value}10LOT").elements["17"] == value


@pytest.mark.parametrize(
    ("ai", "value"),
    [
        ("17", "261331"),  # month 13
        ("17", "260000"),  # month 00
        ("15", "260230"),  # 30 February
        ("15", "270229"),  # 29 February of a common year
        ("11", "260431"),  # 31 April
        ("7003", "2612312400"),  # hour 24
        ("7003", "2612311260"),  # minute 60
        ("8008", "2612012400"),
        ("8008", "261201083060"),  # second 60
        ("7007", "261201261301"),  # the range's end in month 13
        ("7011", "2612312500"),
        ("4324", "2612312500"),
    ],
)
def test_what_is_not_a_date_is_refused_in_words(ai: str, value: str) -> None:
    text = f"]C101{GTIN14}{ai}{value}"
    for form in (text, text + GS + "10LOT", f"(01){GTIN14}({ai}){value}"):
        scan = unknown(classify_scan(form), "invalid_date")
        assert f"({ai})" in scan.detail


@pytest.mark.parametrize(
    ("ai", "value"),
    [
        ("15", "280229"),  # 29 February of a leap year
        ("17", "260200"),  # day 00: the end of February
        ("7003", "2612312359"),
        ("8008", "26120123"),  # hours only
        ("8008", "261201235959"),
        ("7007", "261201"),
        ("7007", "261201261231"),
        ("7011", "261231"),
        ("7011", "2612312359"),
        ("4324", "2612319999"),  # GS1's "time unknown"
    ],
)
def test_real_dates_and_times_are_read(ai: str, value: str) -> None:
    assert gs1(f"]C101{GTIN14}{ai}{value}").elements[ai] == value


# ---- why biip alone does not decide -------------------------------------------------


def test_biip_date_check_refuses_a_harvest_range_the_lane_accepts() -> None:
    text = "01" + GTIN14 + "7007" + "261201261205"
    with pytest.raises(ParseError):
        GS1Message.parse(text)  # its own date check reads the second date as a time
    assert gs1("]C1" + text).elements["7007"] == "261201261205"


def test_biip_takes_persian_digits_for_digits_the_lane_does_not() -> None:
    text = "01" + GTIN14 + "3103" + "۰۰۱۲۵۰"
    message = GS1Message.parse(text, config=ParseConfig(gs1_element_strings_verify_date=False))
    assert message.element_strings[1].value == "۰۰۱۲۵۰"
    unknown(classify_scan("]C1" + text), "malformed_gs1")


def test_biip_skips_runs_of_fnc1_the_lane_refuses() -> None:
    text = "01" + GTIN14 + GS + GS + "10LOT"
    assert len(GS1Message.parse(text).element_strings) == 2
    unknown(classify_scan("]C1" + text), "malformed_gs1")


def test_a_bare_gtin_element_is_read_without_biip() -> None:
    assert parse_gs1("01" + GTIN14) == {"01": GTIN14}
    assert parse_gs1(GS + "01" + GTIN14 + GS) == {"01": GTIN14}


# ---- properties ---------------------------------------------------------------------

#: AIs whose values the lane prices by, or checks as dates, are covered above.
FREE_AIS = sorted(
    ai for ai in TABLE if ai != "01" and ai not in DATE_AIS and ai[:3] not in ("310", "392", "393")
)


@cache
def values_of(ai: str) -> st.SearchStrategy[str]:
    pattern = re.compile(TABLE[ai].pattern, re.ASCII)
    return st.from_regex(pattern, fullmatch=True).map(lambda text: text[len(ai) :])


@st.composite
def element_lists(draw: st.DrawFn) -> list[tuple[str, str]]:
    ais = draw(st.lists(st.sampled_from(FREE_AIS), min_size=1, max_size=5, unique=True))
    return [(ai, draw(values_of(ai))) for ai in ais]


@given(element_lists(), st.sampled_from(["]C1", "]d2", "]Q3", "]e0", "", GS]))
@settings(max_examples=400, deadline=None)
def test_element_strings_of_any_gs1_ais_parse_back(pairs: list[tuple[str, str]], lead: str) -> None:
    text = "01" + GTIN14
    for n, (ai, value) in enumerate(pairs):
        last = n == len(pairs) - 1
        text += ai + value + (GS if TABLE[ai].separator_required and not last else "")
    scan = gs1(lead + text)
    assert dict(scan.elements) == {"01": GTIN14, **dict(pairs)}
    assert (scan.gtin, scan.net_weight_milli, scan.price_rial) == (EAN13, None, None)


@given(element_lists())
@settings(max_examples=200, deadline=None)
def test_the_printed_form_of_any_gs1_ais_parses_back(pairs: list[tuple[str, str]]) -> None:
    pairs = [(ai, value) for ai, value in pairs if "(" not in value and ")" not in value]
    text = f"(01){GTIN14}" + "".join(f"({ai}){value}" for ai, value in pairs)
    assert dict(gs1(text).elements) == {"01": GTIN14, **dict(pairs)}


@given(st.text(st.sampled_from("0123456789" + GS + "()ABC-/"), max_size=40))
@settings(max_examples=500)
def test_any_element_string_is_read_or_refused(tail: str) -> None:
    for text in ("]C101" + GTIN14 + tail, "01" + GTIN14 + tail, f"(01){GTIN14}{tail}"):
        scan = classify_scan(text)
        assert scan.kind in ("gs1", "unknown"), scan
