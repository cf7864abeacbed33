"""Scan classification: AIM identifiers, GTINs, variable-measure labels, GS1, IDs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.barcodes import (
    DEFAULT_TEMPLATES,
    GS,
    MAX_SCAN_CHARS,
    Gs1Scan,
    NationalIdScan,
    ProductScan,
    PurchaseCodeScan,
    TokenScan,
    UnknownScan,
    VariableMeasureScan,
    VariableMeasureTemplate,
    catalog_gtin,
    classify_scan,
    gtin_check_digit,
    is_valid_gtin,
    parse_aim,
    parse_gs1,
    price_verifier_digit,
)
from pos_client.domain.errors import BarcodeError

NID = "0499370899"  # a valid national ID


def ref_check(body: str) -> int:
    """Independent GS1 mod-10: weight 3 on the digit next to the check digit."""
    total = 0
    weight = 3
    for digit in reversed(body):
        total += int(digit) * weight
        weight = 4 - weight
    return -total % 10


def with_check(body: str) -> str:
    return body + str(ref_check(body))


def corrupt_last(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


EAN13 = with_check("626000000001")  # 6260000000019
EAN8 = with_check("1234567")  # 12345670
UPCA = "036000291452"
GTIN14_LEADING_0 = "0" + EAN13
GTIN14 = with_check("1626000000001")
TOKEN = "KB1.eyJ2IjoxfQ.c2lnbmF0dXJl_-"


def unknown(scan: object, reason: str) -> None:
    assert isinstance(scan, UnknownScan), scan
    assert scan.reason == reason, scan


# ---- helpers ------------------------------------------------------------------------


def test_known_check_digits() -> None:
    assert EAN13 == "6260000000019"
    assert gtin_check_digit("400638133393") == 1
    assert gtin_check_digit("03600029145") == 2
    assert gtin_check_digit("9638507") == 4
    assert is_valid_gtin("4006381333931")
    assert is_valid_gtin(UPCA)
    assert is_valid_gtin("96385074")
    assert is_valid_gtin(GTIN14)
    assert not is_valid_gtin("4006381333932")
    assert not is_valid_gtin("400638133393")  # 12 digits, wrong check for a UPC
    assert not is_valid_gtin("123456789")
    assert not is_valid_gtin("۴۰۰۶۳۸۱۳۳۳۹۳۱")  # only ASCII here


@pytest.mark.parametrize("body", ["", "12a", "1" * 18, "١٢٣"])
def test_gtin_check_digit_refuses_non_digits(body: str) -> None:
    with pytest.raises(BarcodeError):
        gtin_check_digit(body)


def test_catalog_gtin() -> None:
    assert catalog_gtin(EAN8) == EAN8
    assert catalog_gtin(UPCA) == "0" + UPCA
    assert catalog_gtin(EAN13) == EAN13
    assert catalog_gtin(GTIN14_LEADING_0) == EAN13
    assert catalog_gtin(GTIN14) == GTIN14
    assert catalog_gtin("000000" + EAN8) == EAN8
    with pytest.raises(BarcodeError) as info:
        catalog_gtin(corrupt_last(EAN13))
    assert info.value.reason == "bad_check_digit"


def test_price_verifier_digit_examples() -> None:
    # Worked examples of the GS1 price/measure verifier (4 and 5 digits).
    assert price_verifier_digit("2875") == 9
    assert price_verifier_digit("14685") == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("]E06260000000019", ("]E0", "6260000000019")),
        ("]Q1KB1.a.b", ("]Q1", "KB1.a.b")),
        ("]d2\x1d01", ("]d2", "\x1d01")),
        ("6260000000019", (None, "6260000000019")),
        ("]E", (None, "]E")),
        ("]", (None, "]")),
        ("]0E1", (None, "]0E1")),
        ("]E-1", (None, "]E-1")),
        ("", (None, "")),
    ],
)
def test_parse_aim(text: str, expected: tuple[str | None, str]) -> None:
    assert parse_aim(text) == expected


# ---- AIM prefixes -------------------------------------------------------------------

GS1_BODY = "01" + GTIN14_LEADING_0 + "3103001250"


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("]E0" + EAN13, ProductScan, EAN13),
        ("]E0" + UPCA, ProductScan, "0" + UPCA),
        ("]E4" + EAN8, ProductScan, EAN8),
        ("]E3" + EAN13 + "12", ProductScan, EAN13),
        ("]E3" + EAN13 + "52495", ProductScan, EAN13),
        ("]C0" + EAN13, ProductScan, EAN13),
        ("]C0" + "12345678", PurchaseCodeScan, "12345678"),
        ("]C1" + GS1_BODY, Gs1Scan, EAN13),
        ("]Q1" + TOKEN, TokenScan, TOKEN),
        ("]Q1" + NID, NationalIdScan, NID),
        ("]Q3" + GS1_BODY, Gs1Scan, EAN13),
        ("]d1" + TOKEN, TokenScan, TOKEN),
        ("]d2" + GS1_BODY, Gs1Scan, EAN13),
        ("]L0" + NID, NationalIdScan, NID),
        ("]A0" + NID, NationalIdScan, NID),
        ("]I0" + GTIN14, ProductScan, GTIN14),
        ("]e0" + GS1_BODY, Gs1Scan, EAN13),
        ("]X0" + "87654321", PurchaseCodeScan, "87654321"),
    ],
)
def test_aim_prefixes(text: str, kind: type, value: str) -> None:
    scan = classify_scan(text)
    assert isinstance(scan, kind), scan
    assert scan.symbology == text[:3]
    assert scan.raw == text
    field = {
        ProductScan: "gtin",
        Gs1Scan: "gtin",
        TokenScan: "token",
        NationalIdScan: "national_id",
        PurchaseCodeScan: "code",
    }[kind]
    assert getattr(scan, field) == value


def test_ean_add_on_is_kept() -> None:
    scan = classify_scan("]E3" + EAN13 + "52495")
    assert isinstance(scan, ProductScan)
    assert scan.add_on == "52495"
    scan = classify_scan("]E3" + UPCA + "07")
    assert isinstance(scan, ProductScan)
    assert (scan.gtin, scan.add_on) == ("0" + UPCA, "07")


@pytest.mark.parametrize("text", ["]E112", "]E252495"])
def test_add_on_alone_is_unsupported(text: str) -> None:
    unknown(classify_scan(text), "unsupported_symbology")


def test_unknown_symbology_letter() -> None:
    unknown(classify_scan("]Y0" + EAN13), "unsupported_symbology")


def test_ean_symbology_with_wrong_length() -> None:
    unknown(classify_scan("]E0" + NID), "not_a_known_code")
    unknown(classify_scan("]E4" + EAN13), "not_a_known_code")


# ---- GTINs --------------------------------------------------------------------------


def test_ean13() -> None:
    scan = classify_scan(EAN13)
    assert scan == ProductScan(raw=EAN13, symbology=None, gtin=EAN13)
    assert scan.kind == "product"


def test_ean8_under_e4_with_any() -> None:
    scan = classify_scan("]E4" + EAN8)
    assert isinstance(scan, ProductScan)
    assert scan.gtin == EAN8


def test_upc_a_becomes_13_digits() -> None:
    scan = classify_scan(UPCA)
    assert isinstance(scan, ProductScan)
    assert scan.gtin == "0036000291452"


def test_upc_e_is_expanded() -> None:
    # UPC-E 0 123456 5 expands to UPC-A 0 12345 00006 5.
    scan = classify_scan("]E001234565")
    assert isinstance(scan, ProductScan)
    assert scan.gtin == "0012345000065"
    unknown(classify_scan("]E001234564"), "bad_check_digit")


def test_gtin14() -> None:
    for code, expected in [(GTIN14_LEADING_0, EAN13), (GTIN14, GTIN14), ("000000" + EAN8, EAN8)]:
        scan = classify_scan(code, expect="product")
        assert isinstance(scan, ProductScan)
        assert scan.gtin == expected


@pytest.mark.parametrize("code", [EAN13, UPCA, GTIN14, "]E0" + EAN13])
def test_bad_check_digit(code: str) -> None:
    unknown(classify_scan(corrupt_last(code)), "bad_check_digit")


def test_persian_digits_typed_product() -> None:
    persian = "".join("۰۱۲۳۴۵۶۷۸۹"[int(d)] for d in EAN13)
    scan = classify_scan(persian)
    assert isinstance(scan, ProductScan)
    assert scan.gtin == EAN13


# ---- variable measure ---------------------------------------------------------------


def test_default_weight_template() -> None:
    code = with_check("21" + "12345" + "01250")
    scan = classify_scan(code)
    assert isinstance(scan, VariableMeasureScan)
    assert (scan.prefix, scan.item_code) == ("21", "12345")
    assert scan.weight_milli == 1250
    assert scan.price_rial is None
    assert scan.lookup_key == "2112345"
    assert scan.template is DEFAULT_TEMPLATES[0]
    assert scan.kind == "variable_measure"


def test_default_price_template_in_tomans() -> None:
    code = with_check("26" + "1234" + "015000")
    scan = classify_scan(code)
    assert isinstance(scan, VariableMeasureScan)
    assert scan.item_code == "1234"
    assert scan.price_rial == 150_000
    assert scan.weight_milli is None
    assert scan.lookup_key == "261234"


WEIGHT_10G = VariableMeasureTemplate(
    prefixes=("23",), item_digits=6, value="weight", value_digits=4, value_multiplier=10
)
PRICE_VERIFIED = VariableMeasureTemplate(
    prefixes=("28", "29"), item_digits=4, value="price", value_digits=5, price_check_digit=True
)
CUSTOM = (WEIGHT_10G, PRICE_VERIFIED)


def test_custom_weight_template() -> None:
    code = with_check("23" + "000042" + "0125")
    scan = classify_scan(code, templates=CUSTOM)
    assert isinstance(scan, VariableMeasureScan)
    assert scan.item_code == "000042"
    assert scan.weight_milli == 1250
    # The same digits read under the default template mean something else.
    default = classify_scan(code)
    assert isinstance(default, VariableMeasureScan)
    assert (default.item_code, default.weight_milli) == ("00004", 20125)


def test_custom_price_template_with_verifier_digit() -> None:
    verifier = price_verifier_digit("14685")
    code = with_check("28" + "1234" + str(verifier) + "14685")
    scan = classify_scan(code, templates=CUSTOM)
    assert isinstance(scan, VariableMeasureScan)
    assert (scan.prefix, scan.item_code, scan.price_rial) == ("28", "1234", 14685)
    wrong = with_check("28" + "1234" + str((verifier + 1) % 10) + "14685")
    bad = classify_scan(wrong, templates=CUSTOM)
    unknown(bad, "bad_check_digit")


def test_prefix_without_template_is_a_product() -> None:
    code = with_check("25" + "1234" + "015000")
    scan = classify_scan(code, templates=CUSTOM)
    assert isinstance(scan, ProductScan)
    assert scan.gtin == code
    assert isinstance(classify_scan(code, templates=()), ProductScan)


def test_variable_measure_zero_and_bad_check() -> None:
    unknown(classify_scan(with_check("21" + "12345" + "00000")), "zero_measure")
    unknown(classify_scan(corrupt_last(with_check("21" + "12345" + "01250"))), "bad_check_digit")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prefixes": (), "item_digits": 5, "value": "weight", "value_digits": 5},
        {"prefixes": ("2a",), "item_digits": 5, "value": "weight", "value_digits": 5},
        {"prefixes": ("2", "21"), "item_digits": 5, "value": "weight", "value_digits": 5},
        {"prefixes": ("21",), "item_digits": 5, "value": "weight", "value_digits": 4},
        {"prefixes": ("21",), "item_digits": 4, "value": "volume", "value_digits": 6},
        {
            "prefixes": ("21",),
            "item_digits": 3,
            "value": "price",
            "value_digits": 6,
            "price_check_digit": True,
        },
        {
            "prefixes": ("21",),
            "item_digits": 5,
            "value": "price",
            "value_digits": 5,
            "value_multiplier": 0,
        },
    ],
)
def test_bad_templates_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(BarcodeError) as info:
        VariableMeasureTemplate(**kwargs)  # type: ignore[arg-type]
    assert info.value.reason == "invalid_template"


# ---- GS1 ----------------------------------------------------------------------------


def gs1(text: str, **kwargs: object) -> Gs1Scan:
    scan = classify_scan(text, **kwargs)  # type: ignore[arg-type]
    assert isinstance(scan, Gs1Scan), scan
    return scan


def test_gs1_with_leading_fnc1_and_separators() -> None:
    text = "]C1" + GS + "01" + GTIN14_LEADING_0 + "3102001250" + "10LOT7" + GS + "21SER9"
    scan = gs1(text)
    assert scan.gtin == EAN13
    assert scan.net_weight_milli == 12_500
    assert scan.price_rial is None
    assert dict(scan.elements) == {
        "01": GTIN14_LEADING_0,
        "3102": "001250",
        "10": "LOT7",
        "21": "SER9",
    }
    assert scan.kind == "gs1"


def test_gs1_without_fnc1() -> None:
    scan = gs1("]C1" + "01" + GTIN14 + "17261231" + "3103001250")
    assert scan.gtin == GTIN14
    assert scan.net_weight_milli == 1250
    assert scan.elements["17"] == "261231"


def test_gs1_bare_digits_without_aim() -> None:
    scan = gs1("01" + GTIN14_LEADING_0 + "3103000750")
    assert scan.symbology is None
    assert scan.net_weight_milli == 750


@pytest.mark.parametrize(
    ("ai", "value", "milli"),
    [
        ("3100", "000002", 2000),
        ("3102", "001250", 12_500),
        ("3103", "001250", 1250),
        ("3105", "001235", 12),  # 0.01235 kg = 12.35 g: rounded
        ("3105", "001250", 13),  # 12.5 g: half rounds up
    ],
)
def test_gs1_weights(ai: str, value: str, milli: int) -> None:
    scan = gs1("]C1" + "01" + GTIN14_LEADING_0 + ai + value)
    assert scan.net_weight_milli == milli


@pytest.mark.parametrize(
    ("ai", "value", "rial"),
    [("3920", "1500000", 1_500_000), ("3922", "150000000", 1_500_000), ("3931", "36412340", 1234)],
)
def test_gs1_prices(ai: str, value: str, rial: int) -> None:
    scan = gs1("]C1" + "01" + GTIN14_LEADING_0 + ai + value)
    assert scan.price_rial == rial


def test_gs1_fractional_and_foreign_prices_are_refused() -> None:
    unknown(classify_scan("]C1" + "01" + GTIN14_LEADING_0 + "3922150050"), "fractional_price")
    unknown(classify_scan("]C1" + "01" + GTIN14_LEADING_0 + "393197812340"), "foreign_currency")


def test_gs1_price_and_weight_together_with_separator() -> None:
    text = "]d2" + "01" + GTIN14_LEADING_0 + "3922150000" + GS + "3103002000"
    scan = gs1(text)
    assert (scan.price_rial, scan.net_weight_milli) == (1500, 2000)


def test_gs1_parentheses_form() -> None:
    text = f"(01){GTIN14_LEADING_0}(3103)001250(3920)250000(10)A1"
    scan = gs1(text)
    assert scan.symbology is None
    assert (scan.gtin, scan.net_weight_milli, scan.price_rial) == (EAN13, 1250, 250_000)
    assert scan.elements["10"] == "A1"
    spaced = gs1(f"(01) {GTIN14_LEADING_0} (3103) 001250")
    assert spaced.net_weight_milli == 1250
    with_aim = gs1(f"]C1(01){GTIN14}(3102)000100")
    assert (with_aim.gtin, with_aim.net_weight_milli) == (GTIN14, 1000)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("]C1" + "01" + GTIN14_LEADING_0 + "2312", "unknown_ai"),
        (f"(01){GTIN14_LEADING_0}(23)12", "unknown_ai"),
        ("]C1" + "01" + corrupt_last(GTIN14_LEADING_0), "bad_check_digit"),
        ("]C1" + "01" + GTIN14_LEADING_0[:-2], "malformed_gs1"),
        ("]C1" + "10LOT", "malformed_gs1"),  # no GTIN
        ("]C1", "empty"),
        ("]C1" + GS, "empty"),
        ("]C1" + "01" + GTIN14_LEADING_0 + "3103" + "12AB56", "malformed_gs1"),
        ("]C1" + "01" + GTIN14_LEADING_0 + GS + GS + "10A", "malformed_gs1"),
        ("]C1" + "01" + GTIN14_LEADING_0 + "3103001250" + "3102001250", "malformed_gs1"),
        ("]C1" + "01" + GTIN14_LEADING_0 + "01" + GTIN14, "malformed_gs1"),
        ("]C1" + "01" + GTIN14_LEADING_0 + "10" + "X" * 21, "malformed_gs1"),
        ("]C1" + "01" + GTIN14_LEADING_0 + "10A b", "malformed_gs1"),
        ("]C1" + "01" + GTIN14_LEADING_0 + "3103000000", "zero_measure"),
        (f"(01){GTIN14_LEADING_0}junk", "malformed_gs1"),
        ("(01", "malformed_gs1"),
    ],
)
def test_gs1_refusals(text: str, reason: str) -> None:
    unknown(classify_scan(text), reason)


def test_gs1_same_ai_twice_with_same_value_is_tolerated() -> None:
    elements = parse_gs1("01" + GTIN14_LEADING_0 + "01" + GTIN14_LEADING_0)
    assert elements == {"01": GTIN14_LEADING_0}


def test_gs1_scan_is_hashable_and_read_only() -> None:
    scan = gs1("]C1" + GS1_BODY)
    assert hash(scan) == hash(gs1("]C1" + GS1_BODY))
    with pytest.raises(TypeError):
        scan.elements["01"] = "x"  # type: ignore[index]


# ---- identification and ambiguity ---------------------------------------------------


def test_eight_digits_depend_on_expect() -> None:
    assert classify_scan(EAN8) == PurchaseCodeScan(raw=EAN8, symbology=None, code=EAN8)
    assert isinstance(classify_scan(EAN8, expect="identify"), PurchaseCodeScan)
    product = classify_scan(EAN8, expect="product")
    assert isinstance(product, ProductScan)
    assert product.gtin == EAN8
    # A purchase code with a wrong EAN-8 check digit is still a purchase code...
    assert isinstance(classify_scan(corrupt_last(EAN8)), PurchaseCodeScan)
    # ... but not a product.
    unknown(classify_scan(corrupt_last(EAN8), expect="product"), "bad_check_digit")
    # Under ]E4: an EAN-8 with "any" and "product", a purchase code when identifying.
    assert isinstance(classify_scan("]E4" + EAN8), ProductScan)
    assert isinstance(classify_scan("]E4" + EAN8, expect="identify"), PurchaseCodeScan)


def test_ten_digits_depend_on_expect() -> None:
    for expect in ("any", "identify"):
        scan = classify_scan(NID, expect=expect)
        assert isinstance(scan, NationalIdScan)
        assert scan.national_id == NID
        assert scan.masked == "049*****99"
        assert scan.kind == "national_id"
    unknown(classify_scan(NID, expect="product"), "not_a_known_code")


def test_national_id_refusals() -> None:
    unknown(classify_scan("0499370898"), "bad_check_digit")
    scan = classify_scan("1111111111")
    unknown(scan, "invalid_national_id")
    assert isinstance(scan, UnknownScan)
    assert scan.detail == "repeated_digits"


def test_typed_national_id_in_persian_with_dashes_and_marks() -> None:
    for text in ["۰۴۹۹۳۷۰۸۹۹", "٠٤٩-٩٣٧-٠٨٩٩", "\u200f۰۴۹ ۹۳۷ ۰۸۹۹\u200e", "499370899"]:
        scan = classify_scan(text, expect="identify")
        assert isinstance(scan, NationalIdScan), text
        assert scan.national_id == NID


def test_typed_purchase_code_in_groups() -> None:
    scan = classify_scan("۱۲۳۴ ۵۶۷۸", expect="identify")
    assert isinstance(scan, PurchaseCodeScan)
    assert scan.code == "12345678"


def test_products_are_classified_whatever_is_expected() -> None:
    scan = classify_scan(EAN13, expect="identify")
    assert isinstance(scan, ProductScan)


def test_tokens() -> None:
    scan = classify_scan(TOKEN + "\r\n")
    assert isinstance(scan, TokenScan)
    assert scan.token == TOKEN
    assert scan.kind == "token"
    for bad in ["KB1.abc", "KB1.a+b.c", "KB1..c", "KB1.a.b.c", "KB1.a.b="]:
        unknown(classify_scan(bad), "malformed_token")


def test_repr_hides_secrets() -> None:
    scans = [
        classify_scan(NID),
        classify_scan(TOKEN),
        classify_scan("12345678", expect="identify"),
    ]
    for scan in scans:
        text = repr(scan)
        assert NID not in text
        assert "eyJ2IjoxfQ" not in text
        assert "12345678" not in text


# ---- what a scanner may send --------------------------------------------------------


def test_one_trailing_terminator_is_stripped() -> None:
    for end in ["\r", "\n", "\r\n"]:
        scan = classify_scan(EAN13 + end)
        assert isinstance(scan, ProductScan)
        assert scan.raw == EAN13 + end
    unknown(classify_scan(EAN13 + "\r\n\r\n"), "control_characters")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("\r\n", "empty"),
        ("   ", "empty"),
        ("\u200f", "empty"),
        ("]E0", "empty"),
        ("626\x0000000019", "control_characters"),
        ("\t" + EAN13, "control_characters"),
        ("\x1b[A", "control_characters"),
        (EAN13 + "\ud800", "invalid_characters"),
        ("1" * (MAX_SCAN_CHARS + 1), "too_long"),
        ("hello", "not_a_known_code"),
        ("12345", "not_a_known_code"),
        ("123456789012345", "not_a_known_code"),
        ("https://example.org/01/06260000000019", "not_a_known_code"),
    ],
)
def test_unknown_reasons(text: str, reason: str) -> None:
    unknown(classify_scan(text), reason)


def test_too_long_raw_is_bounded() -> None:
    scan = classify_scan("x" * (MAX_SCAN_CHARS * 3))
    assert len(scan.raw) == MAX_SCAN_CHARS


def test_not_text_and_bad_expect() -> None:
    unknown(classify_scan(b"123"), "not_text")  # type: ignore[arg-type]
    with pytest.raises(BarcodeError):
        classify_scan(EAN13, expect="everything")  # type: ignore[arg-type]


# ---- properties ---------------------------------------------------------------------

ANY_CHAR = st.one_of(
    st.characters(),
    st.sampled_from(["\x1d", "\r", "\n", "\x00", "\ud800", "\udfff", "(", ")", "]", "\u200f"]),
    st.sampled_from("0123456789۰۱۲۳۴۵۶۷۸۹"),
)
PREFIXES = st.sampled_from(
    ["", "]E0", "]E3", "]E4", "]C1", "]Q3", "]d2", "]e0", "]X0", "KB1.", "(01)", "01", "2", "\x1d"]
)


@given(PREFIXES, st.text(ANY_CHAR, max_size=60), st.sampled_from(["any", "identify", "product"]))
@settings(max_examples=1500)
def test_classify_never_raises(prefix: str, text: str, expect: str) -> None:
    scan = classify_scan(prefix + text, expect=expect)  # type: ignore[arg-type]
    assert scan.raw == prefix + text
    assert scan.kind in {
        "national_id",
        "token",
        "purchase_code",
        "product",
        "variable_measure",
        "gs1",
        "unknown",
    }


@given(st.text(max_size=200))
@settings(max_examples=500)
def test_classify_never_raises_on_plain_text(text: str) -> None:
    assert classify_scan(text).raw == text


GTIN_BODIES = st.sampled_from([7, 11, 12, 13]).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n)
)


def expected_catalog_form(code: str) -> str:
    padded = "0" * (14 - len(code)) + code
    if padded[:6] == "000000":
        return padded[6:]
    if padded[0] == "0":
        return padded[1:]
    return padded


@given(GTIN_BODIES, st.sampled_from(["", "]E0", "]C0", "]I0"]))
@settings(max_examples=400)
def test_valid_gtins_round_trip(body: str, aim: str) -> None:
    code = with_check(body)
    if aim == "]E0" and len(code) not in (12, 13):
        aim = ""
    scan = classify_scan(aim + code, expect="product", templates=())
    assert isinstance(scan, ProductScan), scan
    assert scan.gtin == expected_catalog_form(code)
    assert is_valid_gtin(code)
    assert catalog_gtin(scan.gtin) == scan.gtin


@given(GTIN_BODIES, st.data())
@settings(max_examples=400)
def test_one_digit_corruption_is_never_the_same_product(body: str, data: st.DataObject) -> None:
    code = with_check(body)
    position = data.draw(st.integers(0, len(code) - 1))
    delta = data.draw(st.integers(1, 9))
    corrupted = code[:position] + str((int(code[position]) + delta) % 10) + code[position + 1 :]
    assert not is_valid_gtin(corrupted)
    original = classify_scan(code, expect="product")
    scan = classify_scan(corrupted, expect="product")
    assert scan != original
    if isinstance(scan, ProductScan):
        raise AssertionError(f"corrupted {code} read as product {scan.gtin}")
    assert not isinstance(scan, VariableMeasureScan | Gs1Scan)
