"""Mettler Toledo 8217 ("Toledo ECR") weighing protocol, and a scale that speaks it.

The host sends ``W``; the scale answers either a weight or its status::

    STX  "01.234"  [N]  CR        stable weight: 1.234 kg (N: net of a tare)
    STX  "?"  status  CR          not a usable weight (moving, over, under zero)

The status byte (7 data bits; parity is the serial layer's business):

    bit 6  always 1          bit 3  outside the zero capture range
    bit 5  net weight        bit 2  under zero
    bit 4  centre of zero    bit 1  over capacity
                             bit 0  in motion

Links run at 9600 baud, 7 data bits, even parity, 1 stop bit unless the
scale was set otherwise. The weight field has three decimals (kilograms);
a field with another number of decimals is refused rather than guessed, so a
scale left in pounds cannot be read as kilograms. Weights are integer grams.

A weight above the scale's capacity (``capacity_g``, default
:data:`DEFAULT_CAPACITY_G`: 30 kg, the larger of the usual 15 kg and 30 kg
checkout scales that speak 8217) is never a weight: the scale itself would
have said "over capacity", so such an answer is a misreading (a garbled
field, wrong implied decimals) and is refused as ``scale_over_capacity``
with a sentence naming the capacity.

:func:`parse_answer` and the ``encode_*`` helpers are pure (the virtual scale
uses the encoders). :class:`Toledo8217Scale` asks a serial port and keeps
asking until the weight is stable or the time is up.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import serial

from drivers.scale.base import Scale, ScaleReading, ScaleStatus
from drivers.serialfaults import SERIAL_FAULTS
from pos_client.errors import ScaleError

__all__ = [
    "CR",
    "DEFAULT_CAPACITY_G",
    "MAX_GRAMS",
    "STX",
    "Toledo8217Scale",
    "encode_status",
    "encode_weight",
    "parse_answer",
]

log = logging.getLogger(__name__)

STX: Final = b"\x02"
CR: Final = b"\r"
WEIGH: Final = b"W"
#: The largest weight the 6-character field ``WW.WWW`` can carry.
MAX_GRAMS: Final = 99_999
#: The capacity assumed when the scale's URL gives none (``capacity_g``), in grams.
DEFAULT_CAPACITY_G: Final = 30_000

_BITS: Final = (
    ("motion", 0x01),
    ("over_capacity", 0x02),
    ("under_zero", 0x04),
    ("outside_zero_range", 0x08),
    ("center_of_zero", 0x10),
    ("net", 0x20),
)


def status_from_byte(value: int) -> ScaleStatus:
    value &= 0x7F
    return ScaleStatus(**{name: bool(value & bit) for name, bit in _BITS})


def status_to_byte(status: ScaleStatus) -> int:
    value = 0x40
    for name, bit in _BITS:
        if getattr(status, name):
            value |= bit
    return value


def encode_weight(grams: int, *, net: bool = False) -> bytes:
    """The scale's answer for a stable weight of ``grams`` (0..99 999)."""
    if not 0 <= grams <= MAX_GRAMS:
        raise ScaleError(f"{grams} g does not fit the 8217 weight field", code="scale_protocol")
    kilos, rest = divmod(grams, 1000)
    return STX + f"{kilos:02d}.{rest:03d}".encode("ascii") + (b"N" if net else b"") + CR


def encode_status(status: ScaleStatus) -> bytes:
    """The scale's answer when it has no usable weight."""
    return STX + b"?" + bytes([status_to_byte(status)]) + CR


def parse_answer(answer: bytes, *, decimals: int = 3) -> ScaleReading:
    """Read one answer (from STX to CR, both optional). :class:`ScaleError` if garbled.

    A field without a decimal point has ``decimals`` implied decimals.
    """
    data = bytes(b & 0x7F for b in answer)  # a parity bit left on by the port
    start = data.rfind(STX)
    if start >= 0:
        data = data[start + 1 :]
    data = data.rstrip(b"\r\n")
    if data.startswith(b"?"):
        if len(data) != 2:
            raise ScaleError("the scale sent a malformed status", code="scale_protocol")
        return ScaleReading(grams=None, status=status_from_byte(data[1]))
    net = data.endswith(b"N")
    if net:
        data = data[:-1]
    text = data.decode("ascii", errors="replace").strip()
    whole, point, fraction = text.partition(".")
    if not whole.isdigit() or (point and not fraction.isdigit()) or not text.isascii():
        raise ScaleError("the scale sent something that is not a weight", code="scale_protocol")
    if point:
        if len(fraction) != 3:
            raise ScaleError(
                "the scale does not weigh in kilograms with three decimals;"
                " set it to kilograms (kg)",
                code="scale_units",
            )
        grams = int(whole) * 1000 + int(fraction)
    else:
        if not 0 <= decimals <= 3:
            raise ScaleError("a scale's implied decimals must be 0 to 3", code="scale_units")
        grams = int(whole) * 10 ** (3 - decimals)
    return ScaleReading(grams=grams, status=ScaleStatus(net=net), net=net)


class Toledo8217Scale(Scale):
    """A scale on a serial port speaking 8217; each read asks ``W`` until stable."""

    def __init__(
        self,
        *,
        port: str,
        source: str,
        serial_options: dict[str, Any] | None = None,
        answer_timeout: float = 0.5,
        poll_interval: float = 0.1,
        decimals: int = 3,
        capacity_g: int = DEFAULT_CAPACITY_G,
        port_factory: Callable[[], Any] | None = None,
    ) -> None:
        if type(capacity_g) is not int or not 0 < capacity_g <= MAX_GRAMS:
            raise ScaleError(
                f"a scale's capacity is 1 to {MAX_GRAMS} grams", code="device_url_invalid"
            )
        self.port = port
        self.source = source
        self.capacity_g = capacity_g
        self.answer_timeout = answer_timeout
        self.poll_interval = poll_interval
        self.decimals = decimals
        self._options = dict(serial_options or {})
        self._open_port = port_factory or self._default_open
        self._serial: Any = None
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def _default_open(self) -> Any:
        options = {
            "baudrate": 9600,
            "bytesize": serial.SEVENBITS,
            "parity": serial.PARITY_EVEN,
            "stopbits": serial.STOPBITS_ONE,
            **self._options,
            "timeout": self.answer_timeout,
            "write_timeout": self.answer_timeout,
            "exclusive": True,
        }
        return serial.serial_for_url(self.port, **options)

    def open(self) -> None:
        """Open the port now (else the first read does). :class:`ScaleError` if it is not there."""
        with self._lock:
            self._ensure_open()

    def _ensure_open(self) -> Any:
        if self._closed.is_set():
            raise ScaleError(f"the scale {self.source} was closed", code="scale_closed")
        if self._serial is None:
            try:
                self._serial = self._open_port()
            except SERIAL_FAULTS as exc:
                raise ScaleError(
                    f"cannot open the scale {self.source}: {exc}", code="scale_unavailable"
                ) from exc
        return self._serial

    def _drop_port(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._drop_port()

    def read_once(self) -> ScaleReading:
        """Ask once and wait for the answer (at most the answer timeout).

        :class:`ScaleError` when nothing (or garbage) comes back in time.
        """
        with self._lock:
            port = self._ensure_open()
            try:
                port.reset_input_buffer()
                port.write(WEIGH)
                answer = port.read_until(CR)
            except SERIAL_FAULTS as exc:
                self._drop_port()  # unplugged: reopen on the next read
                raise ScaleError(
                    f"the scale {self.source} went away: {exc}", code="scale_unavailable"
                ) from exc
        if not answer.endswith(CR) or STX not in bytes(b & 0x7F for b in answer):
            raise ScaleError(f"the scale {self.source} did not answer", code="scale_timeout")
        reading = parse_answer(answer, decimals=self.decimals)
        if reading.grams is not None and reading.grams > self.capacity_g:
            raise ScaleError(
                f"the scale {self.source} read {kilograms(reading.grams)} kg, more than its"
                f" capacity of {kilograms(self.capacity_g)} kg: weigh the product in parts"
                " or type its quantity (set the capacity with capacity_g= in the scale's URL)",
                code="scale_over_capacity",
            )
        return reading

    def read_weight(self, *, timeout: float = 3.0) -> int:
        """The stable weight in grams, asking until it settles.

        :class:`ScaleError` (code ``scale_unstable``, ``scale_over_capacity``,
        ``scale_under_zero`` or ``scale_timeout``) once ``timeout`` seconds have
        passed: at most ``timeout`` plus one answer timeout after the call.
        The port's timeout is set once, at open (a pty refuses 7E1 settings twice).
        """
        deadline = time.monotonic() + timeout
        last: ScaleReading | None = None
        while True:
            try:
                reading = self.read_once()
            except ScaleError as exc:
                if exc.code != "scale_timeout" or time.monotonic() >= deadline:
                    raise
                continue
            if reading.grams is not None:
                return reading.grams
            last = reading
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _not_settled(last, self.source)
            if self._closed.wait(min(self.poll_interval, remaining)):
                raise ScaleError(f"the scale {self.source} was closed", code="scale_closed")


def kilograms(grams: int) -> str:
    """``grams`` as kilograms for a sentence, in integers: ``1250`` → ``"1.25"``."""
    whole, rest = divmod(grams, 1000)
    fraction = f"{rest:03d}".rstrip("0")
    return f"{whole:,}.{fraction}" if fraction else f"{whole:,}"


def _not_settled(reading: ScaleReading, source: str) -> ScaleError:
    status = reading.status
    if status is not None and status.over_capacity:
        return ScaleError(f"the scale {source} is over capacity", code="scale_over_capacity")
    if status is not None and status.under_zero:
        return ScaleError(
            f"the scale {source} reads below zero: empty it and zero it",
            code="scale_under_zero",
        )
    return ScaleError(
        f"the weight on the scale {source} did not settle; hold the item still",
        code="scale_unstable",
    )
