"""Serial scanners through pyserial: loop:// for framing, real ptys for unplug and replug."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest
import serial

from drivers.scanner import (
    ScannerGroup,
    ScannerStatus,
    SerialScanner,
    Suffix,
    VirtualScannerPort,
    open_scanner,
    open_scanners,
    send_to_lane,
)
from drivers.scanner.framing import Dropped, Frame, Framer, encode_frame
from pos_client.domain.barcodes import gtin_check_digit
from pos_client.errors import ScannerError
from tests.drivers.conftest import FAST_BACKOFF, WAIT, Recorder

EAN = "626123456789" + str(gtin_check_digit("626123456789"))


class WatchedFramer(Framer):
    """A framer that says when it holds ``partial`` bytes of a frame (so a test knows
    the reader got them)."""

    def __init__(self, *, partial: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.partial = partial
        self.holds_partial = threading.Event()

    def feed(self, chunk: bytes, now: float) -> list[Frame | Dropped]:
        out = super().feed(chunk, now)
        if self.pending >= self.partial:
            self.holds_partial.set()
        return out


def loop_scanner(recorder: Recorder, framer: Framer) -> tuple[SerialScanner, serial.SerialBase]:
    port = serial.serial_for_url("loop://", timeout=None)
    scanner = SerialScanner(
        port="loop://",
        source="loop",
        on_scan=recorder.on_scan,
        on_state=recorder.on_state,
        framer=framer,
        port_factory=lambda: port,
    )
    return scanner, port


@pytest.mark.parametrize("suffix", list(Suffix))
def test_loop_scanner_frames_every_suffix_and_passes_aim_on(
    recorder: Recorder, suffix: Suffix
) -> None:
    scanner, port = loop_scanner(recorder, Framer(suffix=suffix))
    with scanner:
        recorder.wait_state(ScannerStatus.CONNECTED)
        sent = [f"]E0{EAN}", "0499370899", "]Q1KB1.abc.def"]
        port.write(b"".join(encode_frame(t, suffix) for t in sent))
        assert recorder.wait_scans(3) == sent
    assert [s.symbology for s in recorder.scans] == ["]E0", None, "]Q1"]
    assert recorder.scans[0].payload == EAN
    assert {s.source for s in recorder.scans} == {"loop"}
    assert all(s.received_at.tzinfo is not None for s in recorder.scans)
    assert recorder.states[-1].status is ScannerStatus.STOPPED


def test_garbage_and_overlong_frames_are_dropped_with_a_reason(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="drivers.scanner")
    scanner, port = loop_scanner(recorder, Framer(suffix=Suffix.CR, max_length=20))
    with scanner:
        recorder.wait_state(ScannerStatus.CONNECTED)
        port.write(b"\x01\x07junk\r")  # control characters: line noise
        port.write(b"\xff\xfe\xfd\r")  # not text
        port.write(b"9" * 50 + b"\r")  # longer than max_length
        port.write(b"GOOD-1\r")
        assert recorder.wait_scans(1) == ["GOOD-1"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "noise" in messages
    assert "too_long" in messages
    assert "GOOD" not in messages and "9999" not in messages  # no scanned data in logs


def test_a_failing_consumer_does_not_stop_the_scanner(recorder: Recorder) -> None:
    calls: list[str] = []

    def on_scan(frame: object) -> None:
        calls.append("x")
        if len(calls) == 1:
            raise RuntimeError("consumer bug")
        recorder.on_scan(frame)  # type: ignore[arg-type]

    port = serial.serial_for_url("loop://", timeout=None)
    scanner = SerialScanner(
        port="loop://",
        source="loop",
        on_scan=on_scan,
        on_state=recorder.on_state,
        framer=Framer(),
        port_factory=lambda: port,
    )
    with scanner:
        recorder.wait_state(ScannerStatus.CONNECTED)
        port.write(b"first\rsecond\r")
        assert recorder.wait_scans(1) == ["second"]


def test_virtual_scanner_reads_a_real_tty(runtime_dir: Path, recorder: Recorder) -> None:
    scanner = open_scanner(
        "virtual://lane-1?suffix=crlf",
        on_scan=recorder.on_scan,
        on_state=recorder.on_state,
        backoff=FAST_BACKOFF,
    )
    with scanner:
        recorder.wait_state(ScannerStatus.CONNECTED)
        link = runtime_dir / "scanners" / "lane-1"
        assert link.is_symlink() and Path(link.resolve()).is_char_device()
        assert runtime_dir.stat().st_mode & 0o777 == 0o700
        assert link.parent.stat().st_mode & 0o777 == 0o700
        scanner.send(f"]E0{EAN}")  # type: ignore[attr-defined]
        assert recorder.wait_scans(1) == [f"]E0{EAN}"]
    assert not link.exists()


def test_unplug_and_replug_lose_and_duplicate_nothing(
    runtime_dir: Path, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="drivers.scanner")
    device = VirtualScannerPort("by-id-usb-1", suffix=Suffix.CR).open()
    framer = WatchedFramer(suffix=Suffix.CR, partial=len(b"PARTIAL"))
    scanner = SerialScanner(
        port=str(device.link),
        source="usb-1",
        on_scan=recorder.on_scan,
        on_state=recorder.on_state,
        framer=framer,
        backoff=FAST_BACKOFF,
    )
    try:
        scanner.start()
        recorder.wait_state(ScannerStatus.CONNECTED)
        before = [f"A{i}" for i in range(5)]
        for text in before:
            device.send(text)
        assert recorder.wait_scans(5) == before
        device.send_bytes(b"PARTIAL")  # the cable is pulled in the middle of a scan
        assert framer.holds_partial.wait(WAIT)
        device.unplug()
        recorder.wait_state(ScannerStatus.DISCONNECTED)
        assert "unplugged" in recorder.states[-1].detail
        assert not device.link.exists()
        device.plug()  # a new pty at the same by-id path
        recorder.wait_state(ScannerStatus.CONNECTED, nth=2)
        after = [f"B{i}" for i in range(5)]
        for text in after:
            device.send(text)
        device.send("END")
        recorder.wait_scans(11)
        assert recorder.data() == [*before, *after, "END"]
    finally:
        scanner.stop()
        device.close()
    assert any("7 bytes (incomplete)" in r.getMessage() for r in caplog.records)


def test_a_scanner_plugged_in_after_start_is_picked_up(
    runtime_dir: Path, recorder: Recorder
) -> None:
    device = VirtualScannerPort("late")
    scanner = SerialScanner(
        port=str(device.link),
        source="late",
        on_scan=recorder.on_scan,
        on_state=recorder.on_state,
        framer=Framer(),
        backoff=FAST_BACKOFF,
    )
    with scanner:
        recorder.wait_state(ScannerStatus.DISCONNECTED)
        assert "not there" in recorder.states[-1].detail
        with device:
            recorder.wait_state(ScannerStatus.CONNECTED)
            device.send("hello")
            assert recorder.wait_scans(1) == ["hello"]


def test_two_scanners_on_one_lane(runtime_dir: Path, recorder: Recorder) -> None:
    group = open_scanners(
        ["virtual://front", "virtual://back?suffix=stx_etx"],
        on_scan=recorder.on_scan,
        on_state=recorder.on_state,
        backoff=FAST_BACKOFF,
    )
    assert isinstance(group, ScannerGroup)
    front, back = group.scanners
    with group:
        recorder.wait_state(ScannerStatus.CONNECTED, source="virtual://front")
        recorder.wait_state(ScannerStatus.CONNECTED, source="virtual://back")
        assert group.status is ScannerStatus.CONNECTED
        for i in range(4):
            front.send(f"F{i}")  # type: ignore[attr-defined]
            back.send(f"K{i}")  # type: ignore[attr-defined]
        recorder.wait_scans(8)
    by_source: dict[str, list[str]] = {}
    for scan in recorder.scans:
        by_source.setdefault(scan.source, []).append(scan.data)
    assert by_source == {
        "virtual://front": ["F0", "F1", "F2", "F3"],
        "virtual://back": ["K0", "K1", "K2", "K3"],
    }


def test_a_port_held_by_another_reader_is_reported_busy(
    runtime_dir: Path, recorder: Recorder
) -> None:
    other = Recorder()
    with VirtualScannerPort("shared") as device:
        first = SerialScanner(
            port=str(device.link),
            source="first",
            on_scan=other.on_scan,
            on_state=other.on_state,
            framer=Framer(),
        )
        second = SerialScanner(
            port=str(device.link),
            source="second",
            on_scan=recorder.on_scan,
            on_state=recorder.on_state,
            framer=Framer(),
            backoff=FAST_BACKOFF,
        )
        with first:
            other.wait_state(ScannerStatus.CONNECTED)
            with second:
                recorder.wait_state(ScannerStatus.DISCONNECTED)
                assert "in use by another program" in recorder.states[-1].detail


def test_a_virtual_name_is_taken_once(runtime_dir: Path, recorder: Recorder) -> None:
    with VirtualScannerPort("taken"):
        scanner = open_scanner("virtual://taken", on_scan=print, on_state=print)
        with pytest.raises(ScannerError) as info:
            scanner.start()
        assert info.value.code == "device_busy"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/dev/ttyACM0",
        "serial://dev/ttyACM0",
        "serial:///dev/ttyACM0?suffix=tab",
        "serial:///dev/ttyACM0?baudrate=fast",
        "serial:///dev/ttyACM0?speed=9600",
        "serial:///dev/ttyACM0?suffix=cr&suffix=lf",
        "virtual://bad/name",
        "virtual://../etc",
        "virtual://lane?encoding=klingon",
        "bluetooth://scanner",
    ],
)
def test_bad_scanner_urls_raise_scanner_error(url: str) -> None:
    with pytest.raises(ScannerError):
        open_scanner(url, on_scan=print, on_state=print)


def test_a_lane_cannot_list_one_scanner_twice() -> None:
    with pytest.raises(ScannerError):
        open_scanners(["virtual://a", "virtual://a"], on_scan=print, on_state=print)


def test_stop_is_prompt_while_blocked_in_read(runtime_dir: Path, recorder: Recorder) -> None:
    scanner = open_scanner("virtual://idle", on_scan=recorder.on_scan, on_state=recorder.on_state)
    scanner.start()
    recorder.wait_state(ScannerStatus.CONNECTED)
    scanner.stop()  # would hang here if the read were not cancelled
    assert scanner.status is ScannerStatus.STOPPED
    scanner.stop()  # idempotent


def test_scan_to_lane_uses_the_scanners_own_suffix(runtime_dir: Path, recorder: Recorder) -> None:
    scanner = open_scanner(
        "virtual://stx-lane?suffix=stx_etx", on_scan=recorder.on_scan, on_state=recorder.on_state
    )
    with scanner:
        recorder.wait_state(ScannerStatus.CONNECTED)
        assert send_to_lane("stx-lane", ["]C1" + EAN, "کد ۱۲"]) == 2
        assert recorder.wait_scans(2) == ["]C1" + EAN, "کد ۱۲"]
    with pytest.raises(ScannerError) as info:
        send_to_lane("stx-lane", ["late"])  # the lane has stopped
    assert info.value.code == "no_such_scanner"


def test_a_network_scanner_through_pyserials_socket_url(recorder: Recorder) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(WAIT)
    port = server.getsockname()[1]
    scanner = open_scanner(
        f"socket://127.0.0.1:{port}?suffix=lf&name=ser2net",
        on_scan=recorder.on_scan,
        on_state=recorder.on_state,
        backoff=FAST_BACKOFF,
    )
    try:
        scanner.start()
        conn, _ = server.accept()
        with conn:
            recorder.wait_state(ScannerStatus.CONNECTED)
            conn.sendall(b"0499370899\n" + EAN.encode() + b"\r\n")
            assert recorder.wait_scans(2) == ["0499370899", EAN]
            assert {s.source for s in recorder.scans} == {"ser2net"}
        recorder.wait_state(ScannerStatus.DISCONNECTED)  # the far end closed
    finally:
        scanner.stop()
        server.close()
