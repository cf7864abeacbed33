"""The visual order of Persian text for terminals that do no bidi (``rtl = app``)."""

from __future__ import annotations

import unicodedata

import arabic_reshaper
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.tui.rtl import (
    LRI,
    PDI,
    RtlMode,
    has_rtl,
    ltr,
    render_line,
    render_lines,
    strip_controls,
    visual,
    wrap,
)


def shaped(text: str) -> str:
    return strip_controls(arabic_reshaper.reshape(text))


def reversed_shaped(text: str) -> str:
    """A word of Persian letters as a terminal must receive it: shaped, then reversed."""
    return shaped(text)[::-1]


def test_a_persian_word_is_shaped_and_reversed():
    assert visual("سلام") == reversed_shaped("سلام")
    # presentation forms, one cell each, and none of the plain letters left
    assert all("\ufb50" <= ch <= "\ufeff" for ch in visual("سلام"))


def test_words_of_a_persian_sentence_run_right_to_left():
    # logical: word1 word2 -> visual, read left to right: word2 word1, each reversed
    assert visual("کد ملی") == reversed_shaped("ملی") + " " + reversed_shaped("کد")


def test_a_number_and_an_id_stay_left_to_right_inside_persian():
    text = f"کد ملی {ltr('049*****99')} مبلغ {ltr('۱٬۲۳۴٬۵۰۰')} تومان"
    out = visual(text)
    # Read left to right on the screen: the last Persian word first, the first last.
    expected = " ".join(
        [
            reversed_shaped("تومان"),
            "۱٬۲۳۴٬۵۰۰",
            reversed_shaped("مبلغ"),
            "049*****99",
            reversed_shaped("ملی"),
            reversed_shaped("کد"),
        ]
    )
    assert out == expected
    assert LRI not in out and PDI not in out


def test_without_an_isolate_a_masked_id_would_be_broken():
    # This is why every ID is isolated: the bidi algorithm alone reverses it.
    assert "049*****99" not in visual("کد ملی 049*****99")
    assert "049*****99" in visual(f"کد ملی {ltr('049*****99')}")


def test_latin_codes_and_terminal_ids_stay_whole():
    out = visual(f"پایانه {ltr('T-0001')} کد رسید {ltr('R-7F3A-22')}")
    assert "T-0001" in out and "R-7F3A-22" in out
    assert out.index("R-7F3A-22") < out.index("T-0001")  # the later phrase is further left


def test_brackets_are_mirrored_where_they_run_right_to_left():
    out = visual("تأیید آفلاین (در صف ارسال)")
    # the opening bracket, read first from the right, must look like "(" on the left side
    assert out.startswith("(") and out.endswith(reversed_shaped("تأیید"))
    assert out.index("(") < out.index(")")


def test_zero_width_non_joiner_breaks_joining_and_takes_no_cell():
    out = visual("می‌شود")
    assert "\u200c" not in out
    assert len(out) == len("میشود")
    # "می" ends in its final form: the ZWNJ stopped it joining "شود"
    assert out == reversed_shaped("شود") + reversed_shaped("می")


def test_english_base_keeps_latin_order_and_reverses_embedded_persian():
    assert visual("Total (کل) 12", base="ltr") == "Total (" + reversed_shaped("کل") + ") 12"
    assert visual("Receipt R-12", base="ltr") == "Receipt R-12"


def test_terminal_mode_passes_logical_text_through():
    text = f"کد ملی {ltr('049*****99')}"
    assert render_line(text, mode=RtlMode.TERMINAL) == text
    assert render_line(text, mode=RtlMode.APP) == visual(text)


def test_wrapping_happens_before_ordering():
    text = "یک دو سه چهار پنج شش"
    lines = render_lines(text, width=10, mode=RtlMode.APP)
    logical = wrap(text, 10)
    assert len(lines) == len(logical) > 1
    # the first visual line holds the first words, not the last
    assert lines[0] == visual(logical[0])
    assert reversed_shaped("یک") in lines[0]
    assert all(len(line) <= 10 for line in lines)


def test_an_isolated_number_is_never_split_across_lines():
    text = f"مبلغ {ltr('1 234 567')} تومان"
    for width in range(9, 20):
        lines = wrap(text, width)
        assert any("1 234 567" in strip_controls(line) for line in lines), (width, lines)


def test_has_rtl():
    assert has_rtl("سلام") and has_rtl("ok سلام")
    assert not has_rtl("T-0001 12") and not has_rtl("۱۲۳")


persian_words = st.lists(
    st.text(alphabet="ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی", min_size=1, max_size=6),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(words=persian_words, number=st.integers(min_value=0, max_value=10**9))
def test_any_persian_sentence_with_a_number_keeps_the_number_whole(words, number):
    digits = f"{number:,}"
    text = " ".join(words[:1]) + f" {ltr(digits)} " + " ".join(words[1:])
    out = visual(text.strip())
    assert digits in out
    # every character takes one cell: no controls, no combining marks left
    assert all(unicodedata.category(ch) not in ("Cf", "Mn") for ch in out)
    # the words appear in reverse order around the number
    assert out.rstrip().endswith(reversed_shaped(words[0]))


@settings(max_examples=60, deadline=None)
@given(words=persian_words, width=st.integers(min_value=4, max_value=30))
def test_wrapped_lines_fit_and_lose_no_word(words, width):
    text = " ".join(words)
    lines = wrap(text, width)
    assert all(len(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
