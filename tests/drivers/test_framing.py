"""The framer cuts byte streams into scans for every suffix; pure, with explicit times."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scanner.framing import (
    Dropped,
    Frame,
    Framer,
    Suffix,
    decode_frame,
    encode_frame,
)
from pos_client.errors import ScannerError


def frames(items: list[Frame | Dropped]) -> list[bytes]:
    return [i.data for i in items if isinstance(i, Frame)]


def drops(items: list[Frame | Dropped]) -> list[str]:
    return [i.reason for i in items if isinstance(i, Dropped)]


@pytest.mark.parametrize(
    ("suffix", "stream"),
    [
        (Suffix.CR, b"6260000000017\r]E0123\r"),
        (Suffix.LF, b"6260000000017\n]E0123\n"),
        (Suffix.CRLF, b"6260000000017\r\n]E0123\r\n"),
        (Suffix.STX_ETX, b"\x026260000000017\x03\x02]E0123\x03"),
    ],
)
def test_every_suffix_frames_two_scans(suffix: Suffix, stream: bytes) -> None:
    out = Framer(suffix=suffix).feed(stream, now=0.0)
    assert frames(out) == [b"6260000000017", b"]E0123"]
    assert drops(out) == []


def test_cr_scanner_sending_crlf_gives_no_empty_frames() -> None:
    out = Framer(suffix=Suffix.CR).feed(b"A\r\nB\r\n", now=0.0)
    assert frames(out) == [b"A", b"B"]


def test_lf_scanner_sending_crlf_drops_the_cr() -> None:
    out = Framer(suffix=Suffix.LF).feed(b"A\r\nB\n", now=0.0)
    assert frames(out) == [b"A", b"B"]


def test_crlf_keeps_a_lone_cr_inside_the_data() -> None:
    out = Framer(suffix=Suffix.CRLF).feed(b"A\rB\r\n", now=0.0)
    assert frames(out) == [b"A\rB"]


def test_a_frame_split_over_many_chunks_is_one_frame() -> None:
    framer = Framer(suffix=Suffix.CRLF)
    out: list[Frame | Dropped] = []
    for i, byte in enumerate(b"0499370899\r\n"):
        out += framer.feed(bytes([byte]), now=i * 0.001)
    assert frames(out) == [b"0499370899"]


def test_overlong_frame_is_dropped_up_to_its_terminator() -> None:
    framer = Framer(suffix=Suffix.CR, max_length=8)
    out = framer.feed(b"123456789012345\rOK\r", now=0.0)
    assert frames(out) == [b"OK"]
    assert drops(out) == ["too_long"]


def test_frame_of_exactly_max_length_passes() -> None:
    out = Framer(suffix=Suffix.CRLF, max_length=4).feed(b"ABCD\r\n", now=0.0)
    assert frames(out) == [b"ABCD"]


def test_overlong_stx_frame_is_dropped_up_to_etx() -> None:
    out = Framer(suffix=Suffix.STX_ETX, max_length=4).feed(b"\x02ABCDEFG\x03\x02OK\x03", now=0.0)
    assert frames(out) == [b"OK"]
    assert drops(out) == ["too_long"]


def test_bytes_outside_stx_etx_are_noise() -> None:
    out = Framer(suffix=Suffix.STX_ETX).feed(b"zz\x02A\x03\r\nqq\x02B\x03", now=0.0)
    assert frames(out) == [b"A", b"B"]
    assert drops(out) == ["noise", "noise"]


def test_stx_inside_a_frame_restarts_it() -> None:
    out = Framer(suffix=Suffix.STX_ETX).feed(b"\x02half\x02whole\x03", now=0.0)
    assert frames(out) == [b"whole"]
    assert drops(out) == ["restarted"]


def test_a_stale_partial_frame_is_not_glued_to_the_next_scan() -> None:
    framer = Framer(suffix=Suffix.CR, gap=0.5)
    assert framer.feed(b"1234", now=10.0) == []
    out = framer.feed(b"5678\r", now=11.0)
    assert frames(out) == [b"5678"]
    assert drops(out) == ["incomplete"]


def test_bytes_within_the_gap_stay_one_frame() -> None:
    framer = Framer(suffix=Suffix.CR, gap=0.5)
    framer.feed(b"1234", now=10.0)
    assert frames(framer.feed(b"5678\r", now=10.4)) == [b"12345678"]


def test_reset_reports_the_partial_frame_cut_off() -> None:
    framer = Framer(suffix=Suffix.CRLF)
    framer.feed(b"PARTIAL\r", now=0.0)
    assert framer.reset() == [Dropped("incomplete", 8)]
    assert frames(framer.feed(b"NEXT\r\n", now=1.0)) == [b"NEXT"]


def test_decode_keeps_aim_and_gs1_separators() -> None:
    assert decode_frame(Frame(b"]C101062600000000171\x1d3103001250")) == (
        "]C101062600000000171\x1d3103001250"
    )


@pytest.mark.parametrize("data", [b"\x01\x07junk", b"\xff\xfe\xfd", b"ab\x00cd", b"x\x7f"])
def test_decode_refuses_noise(data: bytes) -> None:
    with pytest.raises(ScannerError) as info:
        decode_frame(Frame(data))
    assert info.value.code == "noise"


def test_decode_reads_persian_text_in_utf8() -> None:
    assert decode_frame(Frame("کد ۱۲".encode())) == "کد ۱۲"


_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("۰۱۲کی\x1d"),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    suffix=st.sampled_from(list(Suffix)),
    texts=st.lists(_text, min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_any_chunking_gives_back_the_scans_sent(
    suffix: Suffix, texts: list[str], cuts: list[int]
) -> None:
    stream = b"".join(encode_frame(t, suffix) for t in texts)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    framer = Framer(suffix=suffix, max_length=4096)
    out: list[Frame | Dropped] = []
    for i, (a, b) in enumerate(itertools.pairwise(points)):
        out += framer.feed(stream[a:b], now=i * 0.001)
    assert [decode_frame(f) for f in out if isinstance(f, Frame)] == texts
    assert drops(out) == []
