"""Weighing scales, each opened from a URL; see :func:`open_scale`.

URLs::

    serial:///dev/ttyUSB0                    a Mettler Toledo 8217 scale (9600 7E1)
    serial:///dev/ttyUSB0?baudrate=4800&bytesize=8&parity=n
    virtual-scale://NAME?weight=1250         a simulated scale (weight in grams)

Options: ``baudrate``, ``bytesize`` 7|8, ``parity`` n|e|o, ``stopbits`` 1|2,
``timeout_ms`` for one answer (default 500), ``poll_ms`` between questions
while the weight settles (default 100), ``decimals`` implied when the scale
sends no decimal point (default 3), ``capacity_g`` the most the scale weighs
(default 30000: a weight read above it is refused, never sold); for the
virtual scale ``weight`` and ``settle`` (answers in motion after start); it
says "over capacity" above its ``capacity_g``, as a real scale does.

This package must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import os
from typing import Any

import serial

from drivers.scale.base import Scale, ScaleReading, ScaleStatus
from drivers.scale.toledo import DEFAULT_CAPACITY_G, MAX_GRAMS, Toledo8217Scale, parse_answer
from drivers.scale.virtual import VirtualScale, VirtualScaleDevice, put_on_lane, scale_link
from drivers.urls import DeviceUrl, check_name, parse_device_url
from pos_client.errors import ScaleError

__all__ = [
    "Scale",
    "ScaleReading",
    "ScaleStatus",
    "Toledo8217Scale",
    "VirtualScale",
    "VirtualScaleDevice",
    "open_scale",
    "parse_answer",
    "put_on_lane",
    "scale_link",
]

_READER_OPTIONS = ("timeout_ms", "poll_ms", "decimals", "capacity_g", "name")
_SERIAL_OPTIONS = ("baudrate", "bytesize", "parity", "stopbits")
_PARITY = {"n": serial.PARITY_NONE, "e": serial.PARITY_EVEN, "o": serial.PARITY_ODD}


def _reader(url: DeviceUrl, port: str, serial_options: dict[str, Any]) -> Toledo8217Scale:
    return Toledo8217Scale(
        port=port,
        source=url.params.get("name") or url.without_query,
        serial_options=serial_options,
        answer_timeout=url.seconds("timeout_ms", 0.5, maximum=30.0) or 0.5,
        poll_interval=url.seconds("poll_ms", 0.1, maximum=5.0),
        decimals=url.integer("decimals", 3, minimum=0, maximum=3),
        capacity_g=_capacity(url),
    )


def _capacity(url: DeviceUrl) -> int:
    """The most the scale weighs, in grams (``capacity_g``; the 8217 field holds 99.999 kg)."""
    return url.integer("capacity_g", DEFAULT_CAPACITY_G, minimum=1, maximum=MAX_GRAMS)


def open_scale(url: str, *, runtime_dir: str | os.PathLike[str] | None = None) -> Scale:
    """Open the scale at ``url``. :class:`ScaleError` for a bad URL or a missing device."""
    parsed = parse_device_url(url, error=ScaleError)
    if parsed.scheme == "serial":
        parsed.check_params(_READER_OPTIONS + _SERIAL_OPTIONS)
        if parsed.host or not parsed.path.startswith("/"):
            raise parsed.fail("write a serial scale as serial:///dev/ttyUSB0 (three slashes)")
        options = {
            "baudrate": parsed.integer("baudrate", 9600, minimum=50, maximum=4_000_000),
            "bytesize": parsed.integer("bytesize", 7, minimum=7, maximum=8),
            "parity": _PARITY[parsed.choice("parity", "e", tuple(_PARITY))],
            "stopbits": parsed.integer("stopbits", 1, minimum=1, maximum=2),
        }
        reader = _reader(parsed, parsed.path, options)
        reader.open()
        return reader
    if parsed.scheme == "virtual-scale":
        parsed.check_params((*_READER_OPTIONS, "weight", "settle"))
        if parsed.path not in ("", "/"):
            raise parsed.fail("write a virtual scale as virtual-scale://NAME")
        name = check_name(parsed.host, error=ScaleError, what="virtual scale")
        device = VirtualScaleDevice(
            name,
            grams=parsed.integer("weight", 0, minimum=0, maximum=MAX_GRAMS),
            capacity_g=_capacity(parsed),
            runtime_dir=runtime_dir,
        )
        device.put(
            parsed.integer("weight", 0, minimum=0, maximum=MAX_GRAMS),
            settle=parsed.integer("settle", 0, minimum=0, maximum=1000),
        )
        return VirtualScale(device, _reader(parsed, str(device.link), {})).open()
    raise parsed.fail(f"unknown scale type {parsed.scheme!r}; use serial:// or virtual-scale://")
