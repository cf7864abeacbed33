"""Cutting a scanner's byte stream into frames (one scan each); pure logic, no I/O.

A serial scanner ends each scan with a configured suffix: CR, LF, CR LF, or
wraps it in STX ... ETX. :class:`Framer` is fed the bytes as they arrive (with
the monotonic time of arrival, passed in) and returns, in order, complete
:class:`Frame` values and :class:`Dropped` notes saying what was thrown away
and why:

- ``too_long``: more than ``max_length`` bytes without a terminator; the rest
  up to the next terminator is discarded too;
- ``incomplete``: a partial frame that stopped arriving for longer than
  ``gap`` seconds (it is never glued to the next scan), or that was cut off by
  a disconnect (:meth:`Framer.reset`);
- ``noise``: bytes outside STX ... ETX;
- ``restarted``: an STX arrived inside an unfinished STX frame.

Liberal in what it accepts: with ``cr`` a CR LF pair is one terminator (the LF
is not an empty frame), with ``lf`` a CR LF pair is one terminator too, and
empty frames are skipped silently. :func:`decode_frame` turns a frame into text and
refuses control characters other than the ones barcodes carry (GS, RS, FS,
EOT). The AIM symbology identifier (``]E0`` ...) stays part of the text.

This module imports only the standard library and :mod:`pos_client.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pos_client.errors import ScannerError

__all__ = [
    "DEFAULT_GAP",
    "DEFAULT_MAX_LENGTH",
    "Dropped",
    "Frame",
    "Framer",
    "Suffix",
    "decode_frame",
    "encode_frame",
]

#: Longest frame accepted by default (bytes); a signed QR token is a few hundred.
DEFAULT_MAX_LENGTH: Final = 4096
#: A partial frame idle for longer than this (seconds) is dropped.
DEFAULT_GAP: Final = 0.5

STX: Final = 0x02
ETX: Final = 0x03
CR: Final = 0x0D
LF: Final = 0x0A
#: Control characters a barcode may carry: EOT, FS, GS (FNC1), RS (ISO/IEC 15434).
_ALLOWED_CONTROLS: Final = frozenset({0x04, 0x1C, 0x1D, 0x1E})


class Suffix(StrEnum):
    """How a scanner marks the end of a scan (its configured suffix)."""

    CR = "cr"
    LF = "lf"
    CRLF = "crlf"
    STX_ETX = "stx_etx"


@dataclass(frozen=True, slots=True)
class Frame:
    """The bytes of one complete scan, terminator removed."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Dropped:
    """Bytes that were thrown away: ``reason`` is a stable word, ``length`` how many."""

    reason: str
    length: int


class Framer:
    """Incremental framing of one scanner's stream. Not thread-safe: one reader feeds it."""

    def __init__(
        self,
        *,
        suffix: Suffix = Suffix.CR,
        max_length: int = DEFAULT_MAX_LENGTH,
        gap: float | None = DEFAULT_GAP,
    ) -> None:
        if max_length < 1:
            raise ScannerError("the maximum frame length must be at least 1")
        self.suffix = Suffix(suffix)
        self.max_length = max_length
        self.gap = gap if gap else None
        self._buf = bytearray()
        self._discarding = False  # inside an overlong frame, waiting for its end
        self._in_frame = False  # stx_etx: an STX was seen
        self._noise = 0  # stx_etx: bytes seen outside a frame
        self._last_at: float | None = None
        self._after_cr = False  # cr: the previous byte was the CR terminator
        self._pending_cr = False  # lf, crlf: a CR that may start the terminator

    @property
    def pending(self) -> int:
        """How many bytes of an unfinished frame are held."""
        return len(self._buf)

    def _partial(self) -> bool:
        return bool(self._buf) or self._discarding or self._in_frame or self._pending_cr

    def reset(self) -> list[Dropped]:
        """Forget everything held (the port was closed); report what was cut off."""
        out: list[Dropped] = []
        if self._partial() and not self._discarding:  # an overlong one was reported already
            out.append(Dropped("incomplete", len(self._buf) + self._pending_cr))
        if self._noise:
            out.append(Dropped("noise", self._noise))
        self._buf.clear()
        self._discarding = self._in_frame = self._after_cr = self._pending_cr = False
        self._noise = 0
        self._last_at = None
        return out

    def feed(self, chunk: bytes, now: float) -> list[Frame | Dropped]:
        """Take ``chunk`` (arrived at monotonic time ``now``); return what it completed."""
        out: list[Frame | Dropped] = []
        if not chunk:
            return out
        if (
            self.gap is not None
            and self._last_at is not None
            and now - self._last_at > self.gap
            and self._partial()
        ):
            if not self._discarding:
                out.append(Dropped("incomplete", len(self._buf) + self._pending_cr))
            self._buf.clear()
            self._discarding = self._in_frame = self._pending_cr = False
        self._last_at = now
        if self.suffix is Suffix.STX_ETX:
            self._feed_stx_etx(chunk, out)
        else:
            self._feed_suffix(chunk, out)
        return out

    # ---- suffix framing -------------------------------------------------------------

    def _feed_suffix(self, chunk: bytes, out: list[Frame | Dropped]) -> None:
        for byte in chunk:
            if self.suffix is Suffix.CR:
                if byte == LF and self._after_cr:  # the LF of a CR LF pair
                    self._after_cr = False
                    continue
                self._after_cr = byte == CR
                if byte == CR:
                    self._end(out)
                else:
                    self._add(byte, out)
                continue
            # lf and crlf: a CR is held until the next byte says what it was
            if self._pending_cr:
                self._pending_cr = False
                if byte == LF:
                    self._end(out)
                    continue
                self._add(CR, out)
            if byte == CR:
                self._pending_cr = True
            elif byte == LF and self.suffix is Suffix.LF:
                self._end(out)
            else:
                self._add(byte, out)

    def _add(self, byte: int, out: list[Frame | Dropped]) -> None:
        if self._discarding:
            return
        self._buf.append(byte)
        if len(self._buf) > self.max_length:
            out.append(Dropped("too_long", len(self._buf)))
            self._buf.clear()
            self._discarding = True

    def _end(self, out: list[Frame | Dropped]) -> None:
        if self._discarding:
            self._discarding = False
        elif self._buf:
            out.append(Frame(bytes(self._buf)))
        self._buf.clear()

    # ---- STX ... ETX framing --------------------------------------------------------

    def _feed_stx_etx(self, chunk: bytes, out: list[Frame | Dropped]) -> None:
        for byte in chunk:
            if byte == STX:
                self._flush_noise(out)
                if self._in_frame and not self._discarding:
                    out.append(Dropped("restarted", len(self._buf)))
                self._buf.clear()
                self._in_frame, self._discarding = True, False
            elif not self._in_frame:
                if byte not in (CR, LF):  # line ends after ETX are common: not noise
                    self._noise += 1
            elif byte == ETX:
                self._end(out)
                self._in_frame = False
            else:
                self._add(byte, out)
        if not self._in_frame:
            self._flush_noise(out)

    def _flush_noise(self, out: list[Frame | Dropped]) -> None:
        if self._noise:
            out.append(Dropped("noise", self._noise))
            self._noise = 0


def decode_frame(frame: Frame, *, encoding: str = "utf-8") -> str:
    """The text of a frame; :class:`ScannerError` (code ``noise``) if it is not text.

    Refuses undecodable bytes and control characters other than EOT, FS, GS and RS.
    """
    try:
        text = frame.data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ScannerError(f"a frame is not {encoding} text", code="noise") from exc
    for char in text:
        code = ord(char)
        if (code < 0x20 or code == 0x7F) and code not in _ALLOWED_CONTROLS:
            raise ScannerError(f"a frame holds the control character 0x{code:02x}", code="noise")
    return text


def encode_frame(text: str, suffix: Suffix, *, encoding: str = "utf-8") -> bytes:
    """The bytes a scanner with ``suffix`` sends for ``text`` (what the virtual scanner sends)."""
    data = text.encode(encoding)
    if suffix is Suffix.STX_ETX:
        return bytes([STX]) + data + bytes([ETX])
    return data + {Suffix.CR: b"\r", Suffix.LF: b"\n", Suffix.CRLF: b"\r\n"}[suffix]
