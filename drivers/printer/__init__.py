"""Receipt printers (ESC/POS), each opened from a URL; see :func:`open_printer`.

URLs::

    usb://0416:5011                     vendor:product in hex (``lsusb`` shows them)
    serial:///dev/ttyS0?baudrate=19200  (also by-id paths; flow=rtscts|dsrdtr|xonxoff)
    tcp://HOST:9100                     network printers, raw port (9100 by default)
    file:///dev/usb/lp0                 the kernel's usblp device
    dummy://                            records the bytes (tests, demos); ?paper=out|low

Options for all: ``width`` 58|80 (mm, default 80) or ``width_px``; ``font``
and ``bold_font`` (a TTF with Persian glyphs; default the bundled Vazirmatn);
``image`` raster|graphics|column (the ESC/POS image command; default raster);
``cut`` full|partial|none; ``timeout_ms`` (default 5000) for connecting and
writing; ``status`` true|false (ask for paper/online before each job; default
true); ``name``. USB also takes ``in_ep`` and ``out_ep`` (hex, defaults 0x82, 0x01).

Opening does not connect: the first job or :meth:`Printer.status` does, so a
lane starts with its printer switched off and prints once it is on.

This package must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

from typing import Any

import serial

from drivers.printer.base import EscposPrinter, PaperStatus, Printer, PrinterStatus
from drivers.printer.devicefile import FilePrinter
from drivers.printer.dummy import VirtualPrinter
from drivers.printer.network import NetworkPrinter
from drivers.printer.render import PAPER_WIDTHS, ReceiptRenderer
from drivers.printer.serialport import SerialPrinter
from drivers.printer.usbport import UsbPrinter
from drivers.urls import DeviceUrl, parse_device_url
from pos_client.domain.receipt import Receipt, ReceiptLine, ReceiptPayment, ReceiptPurse
from pos_client.errors import PrinterError

__all__ = [
    "PAPER_WIDTHS",
    "EscposPrinter",
    "PaperStatus",
    "Printer",
    "PrinterStatus",
    "Receipt",
    "ReceiptLine",
    "ReceiptPayment",
    "ReceiptPurse",
    "ReceiptRenderer",
    "VirtualPrinter",
    "open_printer",
]

_COMMON = ("width", "width_px", "font", "bold_font", "image", "cut", "timeout_ms", "status", "name")
_SERIAL = ("baudrate", "bytesize", "parity", "stopbits", "flow")
_PARITY = {"n": serial.PARITY_NONE, "e": serial.PARITY_EVEN, "o": serial.PARITY_ODD}


def _width(url: DeviceUrl) -> int:
    if "width_px" in url.params:
        if "width" in url.params:
            raise url.fail("give width or width_px, not both", code="printer_config")
        return url.integer("width_px", 576, minimum=200, maximum=2048)
    return PAPER_WIDTHS[int(url.choice("width", "80", ("58", "80")))]


def _hex(url: DeviceUrl, text: str, what: str) -> int:
    raw = text[2:] if text.lower().startswith("0x") else text
    try:
        value = int(raw, 16)
    except ValueError:
        value = -1
    if not 0 <= value <= 0xFFFF or not raw:
        raise url.fail(f"{what} must be hexadecimal, like 0416, not {text!r}")
    return value


def _transport(url: DeviceUrl, timeout: float) -> Any:
    scheme = url.scheme
    if scheme == "dummy":
        url.check_params((*_COMMON, "paper"))
        paper = PaperStatus(url.choice("paper", "ok", ("ok", "low", "out")))
        return VirtualPrinter(paper=paper)
    if scheme == "usb":
        url.check_params((*_COMMON, "in_ep", "out_ep"))
        vendor, _, product = url.host.partition(":")
        if not product or url.path not in ("", "/"):
            raise url.fail("write a USB printer as usb://VID:PID, e.g. usb://0416:5011")
        return UsbPrinter(
            _hex(url, vendor, "the vendor id"),
            _hex(url, product, "the product id"),
            timeout=timeout,
            in_ep=_hex(url, url.text("in_ep", "82"), "in_ep"),
            out_ep=_hex(url, url.text("out_ep", "01"), "out_ep"),
        )
    if scheme == "serial":
        url.check_params(_COMMON + _SERIAL)
        if url.host or not url.path.startswith("/"):
            raise url.fail("write a serial printer as serial:///dev/ttyS0 (three slashes)")
        flow = url.choice("flow", "none", ("none", "rtscts", "dsrdtr", "xonxoff"))
        options = {
            "baudrate": url.integer("baudrate", 9600, minimum=50, maximum=4_000_000),
            "bytesize": url.integer("bytesize", 8, minimum=7, maximum=8),
            "parity": _PARITY[url.choice("parity", "n", tuple(_PARITY))],
            "stopbits": url.integer("stopbits", 1, minimum=1, maximum=2),
            "rtscts": flow == "rtscts",
            "dsrdtr": flow == "dsrdtr",
            "xonxoff": flow == "xonxoff",
        }
        return SerialPrinter(url.path, serial_options=options, timeout=timeout)
    if scheme == "tcp":
        url.check_params(_COMMON)
        host, _, port_text = url.host.rpartition(":") if ":" in url.host else (url.host, "", "")
        host = host.strip("[]")
        if not host or url.path not in ("", "/"):
            raise url.fail("write a network printer as tcp://HOST:9100")
        port = 9100
        if port_text:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise url.fail(f"the port must be a number from 1 to 65535, not {port_text!r}")
            port = int(port_text)
        return NetworkPrinter(host, port, timeout=timeout)
    if scheme == "file":
        url.check_params(_COMMON)
        if url.host or not url.path.startswith("/"):
            raise url.fail("write a device file as file:///dev/usb/lp0 (three slashes)")
        return FilePrinter(url.path, timeout=timeout)
    raise url.fail(
        f"unknown printer type {scheme!r}; use usb://, serial://, tcp://, file:// or dummy://"
    )


def open_printer(url: str) -> Printer:
    """The printer at ``url`` (not yet connected). :class:`PrinterError` for a bad URL."""
    parsed = parse_device_url(url, error=PrinterError)
    width = _width(parsed)
    timeout = parsed.seconds("timeout_ms", 5.0, maximum=120.0) or 5.0
    renderer = ReceiptRenderer(
        width_px=width,
        font_path=parsed.params.get("font") or None,
        bold_font_path=parsed.params.get("bold_font") or None,
    )
    return EscposPrinter(
        _transport(parsed, timeout),
        source=parsed.params.get("name") or parsed.without_query,
        width_px=width,
        renderer=renderer,
        impl=parsed.choice("image", "raster", ("raster", "graphics", "column")),
        cut=parsed.choice("cut", "full", ("full", "partial", "none")),
        check_status=parsed.flag("status", True),
        status_timeout=min(0.5, timeout),
    )
