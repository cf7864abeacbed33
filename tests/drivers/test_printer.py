"""Receipt printers: the bytes sent, the QR code read back from the raster, and failures."""

from __future__ import annotations

import socket
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops

from drivers import open_printer
from drivers.printer import (
    EscposPrinter,
    PaperStatus,
    Receipt,
    ReceiptLine,
    ReceiptPayment,
    ReceiptPurse,
    ReceiptRenderer,
    VirtualPrinter,
)
from drivers.printer.base import ASK_PAPER, ASK_PRINTER, status_from_bytes
from drivers.printer.raster import raster_images, raster_page
from drivers.printer.render import DEFAULT_FONT, format_amount, jalali, visual
from drivers.virtual import VirtualTty
from pos_client.domain.models import Unit
from pos_client.errors import PrinterError
from tests.drivers.conftest import WAIT
from tests.drivers.netprinter import LoopbackPrinter

ISSUED = datetime(2025, 8, 3, 10, 30, tzinfo=UTC)  # 12 Mordad 1404, 14:00 in Tehran


def make_receipt(**changes: object) -> Receipt:
    fields: dict[str, object] = {
        "shop_name": "فروشگاه نمونه",
        "terminal_id": "T-0001",
        "issued_at": ISSUED,
        "receipt_code": "R-7Q2K-93XD",
        "lines": (
            ReceiptLine(
                "شیر کم‌چرب", 2000, 120_000, 240_000, Unit.PIECE, (ReceiptPayment("k", 240_000),)
            ),
            ReceiptLine(
                "گوشت قرمز", 1250, 8_000_000, 10_000_000, Unit.KG, (ReceiptPayment("k", 6_000_000),)
            ),
            ReceiptLine(
                "پوشک", 1000, 950_000, 950_000, Unit.PIECE, (ReceiptPayment("y", 950_000),)
            ),
            ReceiptLine("نوشابه", 1000, 300_000, 300_000),
        ),
        "purses": (
            ReceiptPurse("k", "کالابرگ مرحله ۳", 6_240_000, 0, ISSUED + timedelta(days=20)),
            ReceiptPurse("y", "یسنا", 1_900_000, 950_000, ISSUED + timedelta(days=60)),
        ),
        "beneficiary": "049*****99",
    }
    fields.update(changes)
    return Receipt(**fields)  # type: ignore[arg-type]


def decode_qr(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


# ---- the receipt value ------------------------------------------------------------------


def test_receipt_adds_up() -> None:
    receipt = make_receipt()
    assert receipt.total_rial == 240_000 + 10_000_000 + 950_000 + 300_000
    assert receipt.covered_rial == 240_000 + 6_000_000 + 950_000
    assert receipt.household_rial == receipt.total_rial - receipt.covered_rial
    assert receipt.paid_by_purse("k") == 6_240_000
    assert receipt.lines[1].household_rial == 4_000_000
    # the Kalabarg purse is empty after the sale: the earliest expiry with credit left is Yasna's
    assert receipt.earliest_expiry == ISSUED + timedelta(days=60)


@pytest.mark.parametrize(
    "bad",
    [
        {"issued_at": datetime(2025, 8, 3, 10, 30)},  # no time zone
        {"receipt_code": ""},
        {"currency": "dollar"},
        {"lines": (ReceiptLine("x", 1000, 10, 10, Unit.PIECE, (ReceiptPayment("nobody", 10),)),)},
    ],
)
def test_a_receipt_that_does_not_add_up_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(PrinterError) as info:
        make_receipt(**bad)
    assert info.value.code == "receipt_invalid"


def test_a_purse_cannot_pay_more_than_the_line() -> None:
    with pytest.raises(PrinterError):
        ReceiptLine("x", 1000, 10, 10, Unit.PIECE, (ReceiptPayment("k", 11),))
    with pytest.raises(PrinterError):
        ReceiptLine("x", 0, 10, 10)
    with pytest.raises(PrinterError):
        ReceiptPayment("k", -1)


# ---- Persian text -----------------------------------------------------------------------


def test_amounts_dates_and_text_direction() -> None:
    assert format_amount(1_234_567) == "۱٬۲۳۴٬۵۶۷ ریال"
    assert format_amount(1_234_565, "toman") == "۱۲۳٬۴۵۶٫۵ تومان"
    assert format_amount(1_234_560, "toman") == "۱۲۳٬۴۵۶ تومان"
    assert jalali(ISSUED) == "۱۴۰۴/۰۵/۱۲ ساعت ۱۴:۰۰"
    assert jalali(ISSUED, with_time=False) == "۱۴۰۴/۰۵/۱۲"
    assert visual("T-0001") == "T-0001"
    shown = visual("تأیید (در صف)")
    assert shown[0] == "("  # the closing bracket, mirrored, ends up on the left
    assert all("\ufb50" <= c <= "\ufeff" or c in " ()" for c in shown)  # joined letter forms


# ---- the dummy printer's bytes ------------------------------------------------------------


@pytest.mark.parametrize(("width", "dots"), [("58", 384), ("80", 576)])
def test_dummy_printer_gets_init_raster_and_cut(width: str, dots: int) -> None:
    printer = open_printer(f"dummy://?width={width}")
    assert printer.width_px == dots
    printer.print_receipt(make_receipt())
    output = printer.device.output  # type: ignore[attr-defined]
    assert output.startswith(b"\x1b@")  # ESC @
    assert b"\x1dv0" in output  # GS v 0 raster image
    header = output[output.index(b"\x1dv0") + 4 :][:2]
    assert header[0] | header[1] << 8 == dots // 8  # bytes per row
    assert output.endswith(b"\x1dV\x00")  # GS V 0: full cut
    assert all(image.width == dots for image in raster_images(output))


def test_partial_cut_and_no_cut() -> None:
    partial = open_printer("dummy://?cut=partial")
    partial.print_receipt(make_receipt())
    assert partial.device.output.endswith(b"\x1dV\x01")  # type: ignore[attr-defined]
    none = open_printer("dummy://?cut=none")
    none.print_receipt(make_receipt())
    assert b"\x1dV" not in none.device.output  # type: ignore[attr-defined]


def test_the_qr_code_is_read_back_from_the_printed_raster() -> None:
    receipt = make_receipt(receipt_code="RC-20250803-000123", training=True, offline=True)
    printer = open_printer("dummy://?width=58")
    printer.print_receipt(receipt)
    page = raster_page(printer.device.output)  # type: ignore[attr-defined]
    assert decode_qr(page) == ["RC-20250803-000123"]
    # the raster is exactly the rendered receipt: nothing lost on the way
    rendered = ReceiptRenderer(width_px=384).render(receipt)
    assert rendered.size == page.size
    assert ImageChops.difference(rendered.convert("L"), page.convert("L")).getbbox() is None


def test_receipts_are_long_enough_to_be_sent_in_fragments() -> None:
    many = tuple(ReceiptLine(f"کالا {i}", 1000, 1000, 1000) for i in range(40))
    printer = open_printer("dummy://")
    printer.print_receipt(make_receipt(lines=many, purses=()))
    images = raster_images(printer.device.output)  # type: ignore[attr-defined]
    assert len(images) > 1 and all(i.height <= 960 for i in images)
    assert decode_qr(raster_page(printer.device.output)) == ["R-7Q2K-93XD"]  # type: ignore[attr-defined]


def test_test_page_prints() -> None:
    printer = open_printer("dummy://?name=front")
    printer.print_test_page(rows=(("شهر", "rasht"),))
    assert printer.source == "front"
    assert decode_qr(raster_page(printer.device.output)) == ["آزمایش چاپگر"]  # type: ignore[attr-defined]


# ---- paper and presence -------------------------------------------------------------------


def test_out_of_paper_refuses_quickly_and_prints_nothing() -> None:
    printer = open_printer("dummy://?paper=out")
    with pytest.raises(PrinterError) as info:
        printer.print_receipt(make_receipt())
    assert info.value.code == "printer_out_of_paper"
    assert printer.device.output == b""  # type: ignore[attr-defined]
    printer.device.paper = PaperStatus.OK  # type: ignore[attr-defined]
    printer.print_receipt(make_receipt())  # a reprint after a new roll works
    assert decode_qr(raster_page(printer.device.output)) == ["R-7Q2K-93XD"]  # type: ignore[attr-defined]


def test_an_offline_printer_is_refused() -> None:
    device = VirtualPrinter(online=False)
    printer = EscposPrinter(device, source="dummy://", width_px=576)
    with pytest.raises(PrinterError) as info:
        printer.print_receipt(make_receipt())
    assert info.value.code == "printer_offline"
    assert printer.status().online is False


@pytest.mark.parametrize(
    ("printer_answer", "paper_answer", "online", "paper"),
    [
        (0x12, 0x12, True, PaperStatus.OK),
        (0x1A, 0x12, False, PaperStatus.OK),
        (0x12, 0x1E, True, PaperStatus.LOW),
        (0x12, 0x72, True, PaperStatus.OUT),
        (0x12, None, True, PaperStatus.UNKNOWN),
        (0xFF, 0xFF, None, PaperStatus.UNKNOWN),  # not a status answer at all
    ],
)
def test_realtime_status_bytes(
    printer_answer: int | None, paper_answer: int | None, online: bool | None, paper: PaperStatus
) -> None:
    status = status_from_bytes(printer_answer, paper_answer)
    assert (status.online, status.paper) == (online, paper)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        "tcp://127.0.0.1:{port}?timeout_ms=2000",
        "file:///dev/no-such-printer",
        "serial:///dev/no-such-tty?timeout_ms=500",
        "usb://0416:5011?timeout_ms=500",
    ],
)
def test_a_missing_printer_raises_printer_error(url: str) -> None:
    printer = open_printer(url.format(port=_closed_port()))
    with pytest.raises(PrinterError) as info:
        printer.print_receipt(make_receipt())
    assert info.value.code == "printer_unavailable"
    with pytest.raises(PrinterError):
        printer.status()


@pytest.mark.parametrize(
    "url",
    [
        "dummy://?width=70",
        "dummy://?width=58&width_px=384",
        "dummy://?colour=red",
        "usb://vendor:product",
        "usb://0416",
        "tcp://:9100",
        "tcp://printer:99999",
        "serial://ttyS0",
        "laser://office",
        f"dummy://?font={Path('/no/such/font.ttf')}",
    ],
)
def test_bad_printer_urls_raise_printer_error(url: str) -> None:
    with pytest.raises(PrinterError):
        open_printer(url)


def test_the_font_can_be_chosen() -> None:
    printer = open_printer(f"dummy://?font={DEFAULT_FONT}&bold_font={DEFAULT_FONT}")
    printer.print_receipt(make_receipt())
    assert decode_qr(raster_page(printer.device.output)) == ["R-7Q2K-93XD"]  # type: ignore[attr-defined]


# ---- real transports on this machine ------------------------------------------------------


def test_file_printer_writes_a_private_capture(tmp_path: Path) -> None:
    capture = tmp_path / "job.bin"
    printer = open_printer(f"file://{capture}")
    printer.print_receipt(make_receipt())
    printer.close()
    assert stat.S_IMODE(capture.stat().st_mode) == 0o600
    data = capture.read_bytes()
    assert data.startswith(b"\x1b@")
    assert decode_qr(raster_page(data)) == ["R-7Q2K-93XD"]


class SerialPrinterSimulator:
    """An ESC/POS printer at the far end of a pty: records the job, answers DLE EOT."""

    def __init__(self, link: Path, *, paper: int = 0x12) -> None:
        self.paper = paper
        self.received = bytearray()
        self.cut = threading.Event()
        self.tty = VirtualTty(link, responder=self.answer, error=PrinterError)

    def answer(self, data: bytes) -> bytes:
        self.received += data
        if self.received.endswith(b"\x1dV\x00"):
            self.cut.set()
        out = b""
        for request, answer in ((ASK_PRINTER, 0x12), (ASK_PAPER, self.paper)):
            if request in data:
                out += bytes([answer])
        return out


def test_serial_printer_over_a_pty_checks_paper_then_prints(runtime_dir: Path) -> None:
    printer_sim = SerialPrinterSimulator(runtime_dir / "lp", paper=0x72)
    with printer_sim.tty:
        printer = open_printer(f"serial://{printer_sim.tty.link}?baudrate=19200&timeout_ms=3000")
        with pytest.raises(PrinterError) as info:
            printer.print_receipt(make_receipt())
        assert info.value.code == "printer_out_of_paper"
        printer_sim.paper = 0x12  # a new roll
        printer.print_receipt(make_receipt())
        assert printer_sim.cut.wait(WAIT)
        printer.close()
    job = bytes(printer_sim.received)
    job = job[job.index(b"\x1b@") :]  # after the status questions
    assert decode_qr(raster_page(job)) == ["R-7Q2K-93XD"]
    assert job.endswith(b"\x1dV\x00")


def test_a_stalled_serial_printer_times_out(runtime_dir: Path) -> None:
    import os
    import tty

    master, slave = os.openpty()  # nobody reads the far end: the job can never drain
    tty.setraw(slave)
    try:
        printer = open_printer(f"serial://{os.ttyname(slave)}?timeout_ms=300")
        with pytest.raises(PrinterError) as info:
            printer.print_receipt(make_receipt())
        assert info.value.code == "printer_failed"
        printer.close()
    finally:
        os.close(master)
        os.close(slave)


def test_network_printer_prints_over_tcp() -> None:
    received = bytearray()
    done = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(WAIT)
    port = server.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(WAIT)
            while chunk := conn.recv(65536):
                received.extend(chunk)
                for request in (ASK_PRINTER, ASK_PAPER):
                    if chunk.endswith(request):
                        conn.sendall(b"\x12")
        done.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        printer = open_printer(f"tcp://127.0.0.1:{port}")
        assert printer.device.connect_per_job  # type: ignore[attr-defined]
        printer.print_receipt(make_receipt())
        assert done.wait(WAIT)  # the job's connection was closed after it
    finally:
        server.close()
        thread.join(WAIT)
    job = bytes(received)
    assert decode_qr(raster_page(job[job.index(b"\x1b@") :])) == ["R-7Q2K-93XD"]


# ---- a network printer that stops taking the receipt --------------------------------------


def _job_size(receipt: Receipt) -> int:
    dummy = open_printer("dummy://")
    dummy.print_receipt(receipt)
    return len(dummy.device.output)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("stop_after", "then_close"),
    [
        (200, False),  # jammed after a few bytes, the connection kept open
        (-12_000, False),  # stops with the end of the receipt still on its way
        (200, True),  # switched off after a few bytes
        (-12_000, True),
    ],
)
def test_a_network_printer_that_stops_mid_receipt_has_not_printed_it(
    stop_after: int, then_close: bool
) -> None:
    receipt = make_receipt()
    if stop_after < 0:
        stop_after += _job_size(receipt)
    with LoopbackPrinter(stop_after=stop_after, then_close=then_close) as far_end:
        printer = open_printer(f"{far_end.url}?timeout_ms=300")
        with pytest.raises(PrinterError) as info:
            printer.print_receipt(receipt)
        assert far_end.stopped.is_set()
    assert info.value.code == "printer_incomplete"
    assert "cut short" in info.value.message and "127.0.0.1" in info.value.message
    assert "Traceback" not in info.value.message


def test_a_network_printer_that_takes_the_whole_receipt_has_printed_it() -> None:
    receipt = make_receipt()
    with LoopbackPrinter() as far_end:
        printer = open_printer(f"{far_end.url}?timeout_ms=2000")
        printer.print_receipt(receipt)
        printer.close()
        assert far_end.stopped.wait(WAIT)
    assert len(far_end.job()) == _job_size(receipt)
    assert decode_qr(raster_page(far_end.job())) == ["R-7Q2K-93XD"]
