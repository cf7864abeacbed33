"""Barcode scanners, each opened from a URL.

``open_scanner(url, on_scan=..., on_state=...)`` returns a :class:`Scanner`
(call ``start()``/``stop()``). URLs and their options::

    serial:///dev/serial/by-id/usb-...-if00?baudrate=9600&suffix=cr
    serial:///dev/ttyACM0?suffix=stx_etx&max_length=512
    virtual://NAME?suffix=cr              a pty at <runtime>/scanners/NAME
    socket://HOST:PORT, rfc2217://HOST:PORT, loop://   (pyserial's own URLs)

Options (all optional): ``suffix`` cr|lf|crlf|stx_etx (default cr),
``max_length`` bytes (default 4096), ``gap_ms`` after which a partial frame is
dropped (default 500; 0 never), ``encoding`` (default utf-8), ``name`` (the
``source`` of its scans; default the URL without options), and for serial
ports ``baudrate`` (9600), ``bytesize`` 7|8, ``parity`` n|e|o, ``stopbits`` 1|2.

Keyboard-mode scanners type into the UI instead; :mod:`drivers.scanner.keyboard`
tells their bursts from a person typing.

This package must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import serial

from drivers.scanner.base import (
    OnScan,
    OnState,
    ScanFrame,
    Scanner,
    ScannerGroup,
    ScannerState,
    ScannerStatus,
    utc_now,
)
from drivers.scanner.framing import DEFAULT_GAP, DEFAULT_MAX_LENGTH, Framer, Suffix
from drivers.scanner.serialport import Backoff, SerialScanner
from drivers.scanner.virtual import VirtualScanner, VirtualScannerPort, send_to_lane
from drivers.urls import DeviceUrl, check_name, parse_device_url
from pos_client.errors import ScannerError

__all__ = [
    "Backoff",
    "ScanFrame",
    "Scanner",
    "ScannerGroup",
    "ScannerState",
    "ScannerStatus",
    "SerialScanner",
    "Suffix",
    "VirtualScanner",
    "VirtualScannerPort",
    "open_scanner",
    "open_scanners",
    "send_to_lane",
]

_FRAMING_OPTIONS = ("suffix", "max_length", "gap_ms", "encoding", "name")
_SERIAL_OPTIONS = ("baudrate", "bytesize", "parity", "stopbits")
_PASS_THROUGH = ("loop", "socket", "rfc2217")
_PARITY = {"n": serial.PARITY_NONE, "e": serial.PARITY_EVEN, "o": serial.PARITY_ODD}


def _framer(url: DeviceUrl) -> Framer:
    suffix = Suffix(url.choice("suffix", Suffix.CR.value, [s.value for s in Suffix]))
    max_length = url.integer("max_length", DEFAULT_MAX_LENGTH, minimum=1, maximum=65536)
    gap = url.seconds("gap_ms", DEFAULT_GAP)
    return Framer(suffix=suffix, max_length=max_length, gap=gap or None)


def _encoding(url: DeviceUrl) -> str:
    encoding = url.text("encoding", "utf-8")
    try:
        "".encode(encoding)
    except LookupError as exc:
        raise url.fail(f"unknown encoding {encoding!r}") from exc
    return encoding


def _serial_options(url: DeviceUrl) -> dict[str, Any]:
    return {
        "baudrate": url.integer("baudrate", 9600, minimum=50, maximum=4_000_000),
        "bytesize": url.integer("bytesize", 8, minimum=7, maximum=8),
        "parity": _PARITY[url.choice("parity", "n", tuple(_PARITY))],
        "stopbits": url.integer("stopbits", 1, minimum=1, maximum=2),
    }


def open_scanner(
    url: str,
    *,
    on_scan: OnScan,
    on_state: OnState,
    runtime_dir: str | os.PathLike[str] | None = None,
    backoff: Backoff | None = None,
) -> Scanner:
    """A scanner for ``url`` (not started). Raises :class:`ScannerError` for a bad URL."""
    parsed = parse_device_url(url, error=ScannerError)
    source = parsed.params.get("name") or parsed.without_query
    common: dict[str, Any] = {
        "source": source,
        "on_scan": on_scan,
        "on_state": on_state,
        "encoding": _encoding(parsed),
        "backoff": backoff,
        "clock": utc_now,
    }
    if parsed.scheme == "serial":
        parsed.check_params(_FRAMING_OPTIONS + _SERIAL_OPTIONS)
        if parsed.host or not parsed.path.startswith("/"):
            raise parsed.fail("write a serial scanner as serial:///dev/ttyACM0 (three slashes)")
        return SerialScanner(
            port=parsed.path,
            framer=_framer(parsed),
            serial_options=_serial_options(parsed),
            **common,
        )
    if parsed.scheme == "virtual":
        parsed.check_params(_FRAMING_OPTIONS)
        if parsed.path not in ("", "/"):
            raise parsed.fail("write a virtual scanner as virtual://NAME")
        name = check_name(parsed.host, error=ScannerError, what="virtual scanner")
        framer = _framer(parsed)
        port = VirtualScannerPort(
            name, suffix=framer.suffix, encoding=common["encoding"], runtime_dir=runtime_dir
        )
        reader = SerialScanner(port=str(port.link), framer=framer, **common)
        return VirtualScanner(port, reader)
    if parsed.scheme in _PASS_THROUGH:
        own = {k: v for k, v in parsed.params.items() if k in _FRAMING_OPTIONS + _SERIAL_OPTIONS}
        rest = "&".join(f"{k}={v}" for k, v in parsed.params.items() if k not in own)
        pyserial_url = parsed.without_query + (f"?{rest}" if rest else "")
        return SerialScanner(
            port=pyserial_url,
            framer=_framer(parsed),
            serial_options=_serial_options(parsed),
            **common,
        )
    raise parsed.fail(
        f"unknown scanner type {parsed.scheme!r}; use serial://, virtual://, socket:// or loop://"
    )


def open_scanners(
    urls: Sequence[str],
    *,
    on_scan: OnScan,
    on_state: OnState,
    runtime_dir: str | os.PathLike[str] | None = None,
    backoff: Backoff | None = None,
) -> ScannerGroup:
    """All of a lane's scanners as one :class:`ScannerGroup` (sources must differ)."""
    scanners = [
        open_scanner(
            u, on_scan=on_scan, on_state=on_state, runtime_dir=runtime_dir, backoff=backoff
        )
        for u in urls
    ]
    sources = [s.source for s in scanners]
    duplicates = sorted({s for s in sources if sources.count(s) > 1})
    if duplicates:
        raise ScannerError(f"the scanner {duplicates[0]!r} is configured twice")
    return ScannerGroup(scanners)
