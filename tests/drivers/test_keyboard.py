"""Keyboard-mode scanners: bursts of keys are scans, a person's typing is not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanner.keyboard import BurstDetector, KeyboardLine
from pos_client.errors import ScannerError


def type_keys(detector: BurstDetector, text: str, *, start: float, gap: float) -> float:
    at = start
    for char in text:
        detector.key(char, at)
        at += gap
    return at  # when the next key (Enter) would come


def test_a_scanner_burst_is_a_scan() -> None:
    detector = BurstDetector()
    enter_at = type_keys(detector, "6261234567892", start=100.0, gap=0.008)
    line = detector.enter(enter_at)
    assert line == KeyboardLine(text="6261234567892", is_scan=True)
    assert line.kind == "scan"


def test_a_person_typing_is_not_a_scan() -> None:
    detector = BurstDetector()
    enter_at = type_keys(detector, "0499370899", start=5.0, gap=0.18)
    line = detector.enter(enter_at)
    assert line == KeyboardLine(text="0499370899", is_scan=False)
    assert line.kind == "typed"


def test_a_scan_after_some_typing_keeps_the_typed_part_apart() -> None:
    detector = BurstDetector()
    at = type_keys(detector, "12", start=0.0, gap=0.2)
    at = type_keys(detector, "62612345", start=at + 0.5, gap=0.01)
    line = detector.enter(at)
    assert line is not None
    assert (line.text, line.is_scan, line.typed_prefix) == ("62612345", True, "12")


def test_a_short_fast_burst_is_typing() -> None:
    detector = BurstDetector(min_length=6)
    at = type_keys(detector, "12345", start=0.0, gap=0.005)
    assert detector.enter(at) == KeyboardLine(text="12345", is_scan=False)


def test_enter_long_after_the_burst_is_a_person() -> None:
    detector = BurstDetector()
    at = type_keys(detector, "62612345", start=0.0, gap=0.005)
    line = detector.enter(at + 0.4)
    assert line is not None and not line.is_scan


def test_one_slow_gap_in_the_middle_splits_the_run() -> None:
    detector = BurstDetector(min_length=6)
    at = type_keys(detector, "626", start=0.0, gap=0.01)
    at = type_keys(detector, "12345", start=at + 0.3, gap=0.01)
    line = detector.enter(at)
    assert line is not None and not line.is_scan  # only 5 fast keys at the end
    assert line.text == "62612345"


def test_backspace_means_a_person() -> None:
    detector = BurstDetector()
    at = type_keys(detector, "6261234", start=0.0, gap=0.01)
    detector.backspace(at)
    at = type_keys(detector, "5", start=at + 0.01, gap=0.01)
    line = detector.enter(at)
    assert line == KeyboardLine(text="6261235", is_scan=False)


def test_burst_in_progress_lets_the_ui_hide_the_echo() -> None:
    detector = BurstDetector()
    assert not detector.burst_in_progress(0.0)
    at = type_keys(detector, "626", start=0.0, gap=0.01)
    assert detector.burst_in_progress(at)
    assert not detector.burst_in_progress(at + 1.0)


def test_empty_enter_and_clear() -> None:
    detector = BurstDetector()
    assert detector.enter(1.0) is None
    detector.key("x", 1.0)
    detector.clear()
    assert detector.text == "" and detector.enter(2.0) is None


def test_bad_settings_and_keys_are_refused() -> None:
    with pytest.raises(ScannerError):
        BurstDetector(max_gap=0.01, max_mean_gap=0.02)
    with pytest.raises(ScannerError):
        BurstDetector().key("ab", 0.0)


def test_repr_hides_the_text() -> None:
    assert "0499370899" not in repr(KeyboardLine(text="0499370899", is_scan=False))


_chars = st.text(alphabet="0123456789ABCKB.-_", min_size=6, max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    text=_chars,
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.029), min_size=61, max_size=61),
    start=st.floats(min_value=0, max_value=1e6),
)
def test_property_any_fast_enough_burst_is_a_scan(
    text: str, gaps: list[float], start: float
) -> None:
    detector = BurstDetector(max_gap=0.05, max_mean_gap=0.03, min_length=6)
    at = start
    for char, gap in zip(text, gaps, strict=False):
        at += gap
        detector.key(char, at)
    line = detector.enter(at + gaps[-1])
    assert line == KeyboardLine(text=text, is_scan=True)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet="0123456789", min_size=1, max_size=30),
    gaps=st.lists(st.floats(min_value=0.06, max_value=2.0), min_size=31, max_size=31),
)
def test_property_a_person_never_scans(text: str, gaps: list[float]) -> None:
    detector = BurstDetector()
    at = 0.0
    for char, gap in zip(text, gaps, strict=False):
        at += gap
        detector.key(char, at)
    line = detector.enter(at + gaps[-1])
    assert line == KeyboardLine(text=text, is_scan=False)
