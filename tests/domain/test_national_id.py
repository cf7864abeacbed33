"""National ID normalising, checking, masking and hashing."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.errors import DomainError, InvalidNationalId
from pos_client.domain.national_id import (
    is_valid_national_id,
    mask_national_id,
    national_id_check_digit,
    national_id_hash,
    normalize_national_id,
)

PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
SCRIPTS = ["0123456789", PERSIAN, ARABIC_INDIC]


def in_script(code: str, script: str) -> str:
    return "".join(script[int(d)] for d in code)


def reference_check(nine: str) -> int:
    """Independent spelling of the mod-11 rule for the tests."""
    total = 0
    for position, digit in enumerate(nine):
        total += int(digit) * (10 - position)
    r = total % 11
    return r if r < 2 else 11 - r


def reason_of(text: str) -> str:
    with pytest.raises(InvalidNationalId) as info:
        normalize_national_id(text)
    return info.value.reason


# ---- worked example and fixed cases -------------------------------------------------


def test_worked_example_is_valid() -> None:
    assert normalize_national_id("0499370899") == "0499370899"
    assert is_valid_national_id("0499370899")
    assert national_id_check_digit("049937089") == 9


@pytest.mark.parametrize("digit", "0123456789")
def test_repeated_digit_codes_are_refused(digit: str) -> None:
    code = digit * 10
    # They do pass the checksum, which is why they need their own rule.
    assert reference_check(code[:9]) == int(code[9])
    assert reason_of(code) == "repeated_digits"
    assert not is_valid_national_id(code)


@pytest.mark.parametrize("digit", "123456789")
def test_repeated_digit_codes_are_refused_in_persian(digit: str) -> None:
    assert reason_of(in_script(digit * 10, PERSIAN)) == "repeated_digits"


def test_persian_digits() -> None:
    assert normalize_national_id("۰۴۹۹۳۷۰۸۹۹") == "0499370899"


def test_arabic_indic_digits() -> None:
    assert normalize_national_id("٠٤٩٩٣٧٠٨٩٩") == "0499370899"


def test_mixed_scripts_spaces_dashes_and_marks() -> None:
    text = "\u200f ۰۴۹-٩٣7 ۰۸۹۹\u200e\n"
    assert normalize_national_id(text) == "0499370899"
    assert normalize_national_id("\u2067049-937089-9\u2069") == "0499370899"
    assert normalize_national_id("\u202b0499\u200c370899\u202c") == "0499370899"
    assert normalize_national_id("\ufeff049\u00a0937\u2013089\u20139") == "0499370899"


def test_nine_and_eight_digits_are_left_padded() -> None:
    assert normalize_national_id("499370899") == "0499370899"
    # 0049370898 is valid: check digit of 004937089 is 8.
    assert reference_check("004937089") == 8
    assert normalize_national_id("49370898") == "0049370898"
    assert normalize_national_id("۴۹۳۷۰۸۹۸") == "0049370898"
    assert reason_of("49370892") == "check_digit"


@pytest.mark.parametrize("text", ["", "   ", "-", "1234567", "04993708991", "0" * 20])
def test_length(text: str) -> None:
    assert reason_of(text) == "length"


@pytest.mark.parametrize(
    "text",
    [
        "049937089X",
        "0499370899.",
        "049_937_0899",
        "０４９９３７０８９９",  # full-width digits
        "०४९९३७०८९९",  # Devanagari digits
        "04993\t70899",  # a tab is not a separator inside the ID
        "049937089\ud800",  # lone surrogate
        "+0499370899",
    ],
)
def test_not_digits(text: str) -> None:
    assert reason_of(text) == "not_digits"


def test_check_digit() -> None:
    assert reason_of("0499370898") == "check_digit"
    assert reason_of("۰۴۹۹۳۷۰۸۹۰") == "check_digit"


def test_zero_serial() -> None:
    # Serial (digits 4-9) all zero: refused even with a correct check digit.
    nine = "123000000"
    code = nine + str(reference_check(nine))
    assert reason_of(code) == "zero_serial"
    # ... and checked before the check digit.
    assert reason_of("0010000000") == "zero_serial"


def test_error_is_a_value_error_and_a_domain_error() -> None:
    with pytest.raises(ValueError):
        normalize_national_id("x")
    with pytest.raises(DomainError) as info:
        normalize_national_id("x")
    assert info.value.code == "not_digits"


# ---- mask and hash ------------------------------------------------------------------


def test_mask() -> None:
    assert mask_national_id("0499370899") == "049*****99"
    assert mask_national_id("۰۴۹۹۳۷۰۸۹۹") == "049*****99"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("", ""),
        ("12", "**"),
        ("12345", "*****"),
        ("123456", "123*56"),
        ("abcdefghij", "abc*****ij"),
    ],
)
def test_mask_odd_input(text: str, masked: str) -> None:
    assert mask_national_id(text) == masked


@given(st.text(max_size=40))
@settings(max_examples=200)
def test_mask_never_raises_and_hides_the_middle(text: str) -> None:
    masked = mask_national_id(text)
    assert isinstance(masked, str)
    if len(masked) >= 6:
        assert set(masked[3:-2]) == {"*"}
    else:
        assert set(masked) <= {"*"}


def test_hash_is_sha256_of_ascii_digits() -> None:
    expected = hashlib.sha256(b"0499370899").hexdigest()
    assert national_id_hash("0499370899") == expected
    assert national_id_hash("۰۴۹-۹۳۷-۰۸۹۹") == expected
    with pytest.raises(InvalidNationalId):
        national_id_hash("0499370898")


# ---- properties ---------------------------------------------------------------------


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    area = draw(st.text("0123456789", min_size=3, max_size=3))
    serial = draw(st.text("0123456789", min_size=6, max_size=6).filter(lambda s: s != "000000"))
    nine = area + serial
    code = nine + str(reference_check(nine))
    if len(set(code)) == 1:  # only possible with a zero serial, kept for safety
        code = "0499370899"
    return code


@given(valid_ids(), st.sampled_from(SCRIPTS), st.data())
@settings(max_examples=300)
def test_valid_ids_normalize_to_themselves(code: str, script: str, data: st.DataObject) -> None:
    pieces: list[str] = []
    for ch in in_script(code, script):
        pieces.append(ch)
        pieces.append(data.draw(st.sampled_from(["", "", "", " ", "-", "\u200e"])))
    text = data.draw(st.sampled_from(["", " ", "\u200f"])) + "".join(pieces)
    assert normalize_national_id(text) == code
    assert is_valid_national_id(text)


def mod11(nine: str) -> int:
    return sum(int(d) * (10 - i) for i, d in enumerate(nine)) % 11


@given(valid_ids(), st.integers(0, 9), st.integers(1, 9))
@settings(max_examples=500)
def test_single_digit_change_is_refused(code: str, position: int, delta: int) -> None:
    """Any one-digit change is refused, save the standard rule's one blind spot.

    The rule maps both remainders 1 and 10 to check digit 1, so a change that
    moves the weighted sum's remainder between 1 and 10 keeps the check digit.
    Every other change (and every change of the check digit itself) is caught.
    """
    changed = code[:position] + str((int(code[position]) + delta) % 10) + code[position + 1 :]
    assert changed != code
    blind_spot = position < 9 and {mod11(code[:9]), mod11(changed[:9])} == {1, 10}
    if blind_spot:
        assert normalize_national_id(changed) == changed
        return
    with pytest.raises(InvalidNationalId) as info:
        normalize_national_id(changed)
    assert info.value.reason in {"check_digit", "repeated_digits", "zero_serial"}


def test_the_checksum_blind_spot_is_the_standard_one() -> None:
    # Remainders 1 and 10 share check digit 1: both of these are valid IDs.
    assert (mod11("123456789"), mod11("323456789")) == (1, 10)
    assert normalize_national_id("1234567891") == "1234567891"
    assert normalize_national_id("3234567891") == "3234567891"


@given(valid_ids(), st.integers(1, 9))
@settings(max_examples=100)
def test_changing_the_check_digit_is_always_refused(code: str, delta: int) -> None:
    changed = code[:9] + str((int(code[9]) + delta) % 10)
    assert reason_of(changed) == "check_digit"


@given(st.text(max_size=30))
@settings(max_examples=300)
def test_arbitrary_text_raises_only_invalid_national_id(text: str) -> None:
    try:
        result = normalize_national_id(text)
    except InvalidNationalId as exc:
        assert exc.reason in {
            "length",
            "not_digits",
            "check_digit",
            "repeated_digits",
            "zero_serial",
        }
    else:
        assert len(result) == 10
        assert result.isascii()
        assert result.isdigit()
        assert reference_check(result[:9]) == int(result[9])


@given(st.text(alphabet=st.sampled_from("0123456789۰۱۲۳۴۵۶۷۸۹ -"), max_size=14))
@settings(max_examples=300)
def test_digit_heavy_text_raises_only_invalid_national_id(text: str) -> None:
    assert is_valid_national_id(text) in {True, False}
