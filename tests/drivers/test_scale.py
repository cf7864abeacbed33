"""Mettler Toledo 8217 scales: the protocol, the virtual scale on a pty, and failures."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import open_scale
from drivers.scale import ScaleStatus, Toledo8217Scale, VirtualScale, VirtualScaleDevice
from drivers.scale.toledo import encode_status, encode_weight, parse_answer
from drivers.virtual import VirtualTty
from pos_client.errors import ScaleError

# ---- the protocol (pure) ----------------------------------------------------------------


def test_a_stable_weight_is_read_in_grams() -> None:
    reading = parse_answer(b"\x0201.234\r")
    assert (reading.grams, reading.stable, reading.net) == (1234, True, False)
    assert parse_answer(b"\x0200.250N\r").grams == 250
    assert parse_answer(b"\x0200.250N\r").net
    assert parse_answer(b"\x0201234\r").grams == 1234  # no decimal point: three implied
    assert parse_answer(b"\x020123\r", decimals=2).grams == 1230


def test_the_parity_bit_is_ignored() -> None:
    with_parity = bytes(b | 0x80 for b in b"\x0201.500\r")
    assert parse_answer(with_parity).grams == 1500


@pytest.mark.parametrize(
    ("status_byte", "expected"),
    [
        (0x41, ScaleStatus(motion=True)),
        (0x42, ScaleStatus(over_capacity=True)),
        (0x44, ScaleStatus(under_zero=True)),
        (0x50, ScaleStatus(center_of_zero=True)),
        (0x69, ScaleStatus(motion=True, outside_zero_range=True, net=True)),
    ],
)
def test_status_answers_are_decoded(status_byte: int, expected: ScaleStatus) -> None:
    reading = parse_answer(b"\x02?" + bytes([status_byte]) + b"\r")
    assert reading.grams is None and not reading.stable
    assert reading.status == expected
    assert encode_status(expected) == b"\x02?" + bytes([status_byte]) + b"\r"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (b"\x02ab.cde\r", "scale_protocol"),
        (b"\x02?\r", "scale_protocol"),
        (b"\x02\r", "scale_protocol"),
        (b"\x0212.34\r", "scale_units"),  # two decimals: pounds, not kilograms
        (b"\x021.2.3\r", "scale_protocol"),
    ],
)
def test_garbled_answers_raise(answer: bytes, code: str) -> None:
    with pytest.raises(ScaleError) as info:
        parse_answer(answer)
    assert info.value.code == code


@settings(max_examples=80, deadline=None)
@given(grams=st.integers(min_value=0, max_value=99_999), net=st.booleans())
def test_property_every_weight_survives_the_wire(grams: int, net: bool) -> None:
    reading = parse_answer(encode_weight(grams, net=net))
    assert (reading.grams, reading.net) == (grams, net)


def test_a_weight_that_does_not_fit_cannot_be_sent() -> None:
    with pytest.raises(ScaleError):
        encode_weight(100_000)


# ---- the virtual scale on a real pty ------------------------------------------------------


@pytest.fixture
def scale(runtime_dir: Path) -> VirtualScale:
    opened = open_scale("virtual-scale://meat?weight=1250&poll_ms=5&timeout_ms=300")
    assert isinstance(opened, VirtualScale)
    yield opened  # type: ignore[misc]
    opened.close()


def test_virtual_scale_answers_a_stable_weight(scale: VirtualScale, runtime_dir: Path) -> None:
    assert (runtime_dir / "scales" / "meat").is_symlink()
    assert scale.read_weight(timeout=2) == 1250
    assert scale.read_once().grams == 1250


def test_only_a_stable_weight_is_taken(scale: VirtualScale) -> None:
    scale.device.put(845, settle=3)
    before = scale.device.requests
    assert scale.read_weight(timeout=3) == 845
    assert scale.device.requests - before == 4  # three answers in motion, then the weight


def test_a_weight_that_never_settles_times_out(scale: VirtualScale) -> None:
    scale.device.put(845, settle=10**6)
    assert scale.read_once().status == ScaleStatus(motion=True)
    with pytest.raises(ScaleError) as info:
        scale.read_weight(timeout=0.2)
    assert info.value.code == "scale_unstable"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (VirtualScaleDevice.set_over_capacity, "scale_over_capacity"),
        (VirtualScaleDevice.set_under_zero, "scale_under_zero"),
    ],
)
def test_over_and_under_are_never_a_weight(scale: VirtualScale, fault: object, code: str) -> None:
    fault(scale.device)  # type: ignore[operator]
    with pytest.raises(ScaleError) as info:
        scale.read_weight(timeout=0.2)
    assert info.value.code == code


def test_an_empty_platter_weighs_zero(scale: VirtualScale) -> None:
    scale.device.put(0)
    assert scale.read_weight(timeout=2) == 0


def test_a_silent_scale_times_out(scale: VirtualScale) -> None:
    scale.device.set_silent()
    with pytest.raises(ScaleError) as info:
        scale.read_weight(timeout=0.2)
    assert info.value.code == "scale_timeout"
    scale.device.set_silent(False)
    assert scale.read_weight(timeout=2) == 1250


def test_an_unplugged_scale_fails_then_comes_back(scale: VirtualScale) -> None:
    scale.device.unplug()
    with pytest.raises(ScaleError) as info:
        scale.read_weight(timeout=0.5)
    assert info.value.code in ("scale_unavailable", "scale_timeout")
    scale.device.plug()
    assert scale.read_weight(timeout=2) == 1250  # reopened at the same path


def test_loop_port_echoing_the_question_is_no_answer() -> None:
    port = serial.serial_for_url("loop://", timeout=0.1)
    reader = Toledo8217Scale(port="loop://", source="loop", port_factory=lambda: port)
    with pytest.raises(ScaleError) as info:
        reader.read_weight(timeout=0.2)
    assert info.value.code == "scale_timeout"
    reader.close()
    with pytest.raises(ScaleError):
        reader.read_once()


def test_a_virtual_scale_name_is_taken_once(scale: VirtualScale) -> None:
    with pytest.raises(ScaleError) as info:
        open_scale("virtual-scale://meat")
    assert info.value.code == "device_busy"


@pytest.mark.parametrize(
    "url",
    [
        "serial:///dev/no-such-scale",
        "serial://ttyUSB0",
        "serial:///dev/ttyUSB0?parity=x",
        "virtual-scale://meat?weight=heavy",
        "virtual-scale://",
        "scale://meat",
    ],
)
def test_bad_or_missing_scales_raise_scale_error(url: str, runtime_dir: Path) -> None:
    with pytest.raises(ScaleError):
        open_scale(url)


# ---- another process puts an item on the running virtual scale ------------------------------


def _scale_command(runtime_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pos_client.cli", "scale", "--runtime-dir", str(runtime_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_another_process_puts_an_item_on_the_running_scale(
    scale: VirtualScale, runtime_dir: Path
) -> None:
    assert scale.read_weight(timeout=2) == 1250
    put = _scale_command(runtime_dir, "--lane", "meat", "845", "--settle", "2")
    assert put.returncode == 0, put.stderr
    before = scale.device.requests
    assert scale.read_weight(timeout=3) == 845
    assert scale.device.requests - before == 3  # two answers in motion, then the weight
    weight_file = runtime_dir / "scales" / "meat.weight"
    assert stat.S_IMODE(weight_file.stat().st_mode) == 0o600
    assert _scale_command(runtime_dir, "--lane", "meat", "0").returncode == 0
    assert scale.read_weight(timeout=3) == 0  # taken off


def test_putting_on_a_scale_no_lane_holds_or_a_bad_weight_says_so(
    scale: VirtualScale, runtime_dir: Path
) -> None:
    missing = _scale_command(runtime_dir, "--lane", "fish", "500")
    assert missing.returncode == 1 and "no running lane has a virtual scale" in missing.stderr
    for bad in (["-5"], ["12.5"], ["100000"], ["500", "--settle", "x"]):
        refused = _scale_command(runtime_dir, "--lane", "meat", *bad)
        assert refused.returncode == 2, (bad, refused.stderr)
        assert "Traceback" not in refused.stderr and "pos-client:" in refused.stderr
    assert scale.read_weight(timeout=2) == 1250  # nothing changed


# ---- a weight above the scale's capacity is never a weight ---------------------------------


class ScaleAnswering:
    """A scale on a real pty that answers every ``W`` with ``answer``, whatever is on it."""

    def __init__(self, link: Path, answer: bytes) -> None:
        self.answer = answer
        self.tty = VirtualTty(link, responder=self._respond, error=ScaleError)

    def _respond(self, data: bytes) -> bytes:
        return b"".join(self.answer for byte in data if byte & 0x7F == ord("W"))


@pytest.mark.parametrize(
    ("answer", "options", "read"),
    [
        (b"\x02123456.789\r", "", "123,456.789 kg"),  # 123,456,789 g: the 30 kg default
        (b"\x02123456789\r", "&decimals=0", "123,456,789 kg"),  # no decimal point, none implied
        (b"\x0230.001\r", "", "30.001 kg"),
        (b"\x0215.500\r", "&capacity_g=15000", "15.5 kg"),
    ],
)
def test_a_reading_above_the_scales_capacity_is_refused_naming_it(
    runtime_dir: Path, answer: bytes, options: str, read: str
) -> None:
    far_end = ScaleAnswering(runtime_dir / "scale", answer)
    with far_end.tty:
        reader = open_scale(f"serial://{far_end.tty.link}?timeout_ms=300&poll_ms=5{options}")
        try:
            with pytest.raises(ScaleError) as info:
                reader.read_weight(timeout=1)
        finally:
            reader.close()
    assert info.value.code == "scale_over_capacity"
    capacity = "15 kg" if "capacity_g" in options else "30 kg"
    assert f"read {read}, more than its capacity of {capacity}" in info.value.message


def test_a_reading_up_to_the_capacity_is_a_weight(runtime_dir: Path) -> None:
    far_end = ScaleAnswering(runtime_dir / "scale", b"\x0215.000\r")
    with far_end.tty:
        reader = open_scale(f"serial://{far_end.tty.link}?timeout_ms=300&capacity_g=15000")
        try:
            assert reader.read_weight(timeout=1) == 15_000
        finally:
            reader.close()


def test_a_virtual_scale_says_over_capacity_above_its_capacity(runtime_dir: Path) -> None:
    scale = open_scale("virtual-scale://small?weight=20000&capacity_g=15000&timeout_ms=300")
    try:
        assert isinstance(scale, VirtualScale) and scale.device.capacity_g == 15_000
        with pytest.raises(ScaleError) as info:
            scale.read_weight(timeout=0.2)
        assert info.value.code == "scale_over_capacity"
        scale.device.put(15_000)
        assert scale.read_weight(timeout=2) == 15_000
    finally:
        scale.close()


@pytest.mark.parametrize("capacity", ["0", "100000", "heavy", "-5"])
def test_a_capacity_the_8217_cannot_have_is_a_bad_url(runtime_dir: Path, capacity: str) -> None:
    with pytest.raises(ScaleError) as info:
        open_scale(f"virtual-scale://odd?capacity_g={capacity}")
    assert info.value.code == "device_url_invalid"
    assert "capacity_g" in info.value.message
