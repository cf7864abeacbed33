"""The printer interface, and its one implementation on python-escpos.

As in python-escpos, each transport is an ``escpos.Escpos`` subclass whose one
primitive is ``_raw(bytes)`` (one module per transport: ``dummy``, ``serialport``,
``network``, ``devicefile``, ``usbport``); each also implements
:meth:`StatusReader.read_status`, asking the printer for its real-time status
(``DLE EOT``) where the link can answer, with a short timeout.

:class:`EscposPrinter` is what the lane uses: :meth:`~Printer.print_receipt`
renders the receipt (see :mod:`drivers.printer.render`), checks that the
printer is there and has paper, sends ``ESC @``, the raster image (``GS v 0``)
and a cut. Every failure (unreachable, unplugged, out of paper, cover open,
a write that does not finish in time) raises
:class:`~pos_client.errors.PrinterError` within the transport's timeout; it
never blocks forever. Printing is a separate step that the service calls after
the sale is committed, so a failed receipt is simply printed again later.

Error codes: ``printer_unavailable``, ``printer_out_of_paper``,
``printer_offline``, ``printer_failed``, ``printer_config``, ``printer_font``.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import copy
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from PIL import Image

from drivers.printer.render import ReceiptRenderer
from drivers.serialfaults import SERIAL_FAULTS
from pos_client.domain.receipt import Receipt
from pos_client.errors import PrinterError

__all__ = [
    "EscposPrinter",
    "PaperStatus",
    "Printer",
    "PrinterStatus",
    "StatusReader",
    "escpos_status",
    "status_from_bytes",
]

log = logging.getLogger(__name__)

ESC_INIT: Final = b"\x1b@"
#: Real-time status requests: DLE EOT n (1: printer, 4: roll paper sensor).
ASK_PRINTER: Final = b"\x10\x04\x01"
ASK_PAPER: Final = b"\x10\x04\x04"
IMPLEMENTATIONS: Final = {
    "raster": "bitImageRaster",
    "graphics": "graphics",
    "column": "bitImageColumn",
}


class PaperStatus(StrEnum):
    OK = "ok"
    LOW = "low"  # near the end of the roll
    OUT = "out"
    UNKNOWN = "unknown"  # the link cannot tell


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer says about itself; ``online`` is ``None`` when it cannot tell."""

    online: bool | None
    paper: PaperStatus
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.online is not False and self.paper is not PaperStatus.OUT


UNKNOWN_STATUS: Final = PrinterStatus(online=None, paper=PaperStatus.UNKNOWN)


def _fixed_bits_ok(byte: int) -> bool:
    # every DLE EOT answer has bit 1 and bit 4 set and bits 0 and 7 clear
    return byte & 0x93 == 0x12


def status_from_bytes(printer: int | None, paper: int | None) -> PrinterStatus:
    """Decode the answers to ``DLE EOT 1`` and ``DLE EOT 4`` (``None``: no answer)."""
    online: bool | None = None
    if printer is not None and _fixed_bits_ok(printer):
        online = not printer & 0x08
    paper_state = PaperStatus.UNKNOWN
    if paper is not None and _fixed_bits_ok(paper):
        if paper & 0x60:
            paper_state = PaperStatus.OUT
        elif paper & 0x0C:
            paper_state = PaperStatus.LOW
        else:
            paper_state = PaperStatus.OK
    return PrinterStatus(online=online, paper=paper_state)


def escpos_status(ask: Callable[[bytes], int | None]) -> PrinterStatus:
    """Ask both real-time statuses through ``ask(request) -> first answer byte or None``."""
    printer = ask(ASK_PRINTER)
    if printer is None:
        return UNKNOWN_STATUS  # a printer that does not answer one will not answer the other
    return status_from_bytes(printer, ask(ASK_PAPER))


class StatusReader:
    """Mixin for transports: the printer's real-time status, or unknown if it cannot say."""

    def read_status(self, timeout: float) -> PrinterStatus:
        return UNKNOWN_STATUS

    def abort(self) -> None:
        """Close at once after a failure, discarding what is not sent (default: close)."""
        self.close()  # type: ignore[attr-defined]

    #: Whether to open a new connection for each job (network printers serve one client).
    connect_per_job: bool = False


class Printer(ABC):
    """A receipt printer, opened from a URL."""

    source: str
    width_px: int

    @abstractmethod
    def print_receipt(self, receipt: Receipt) -> None:
        """Print one receipt; :class:`PrinterError` if it could not be printed."""

    @abstractmethod
    def print_image(self, image: Image.Image) -> None:
        """Print an image at most ``width_px`` wide, then cut."""

    @abstractmethod
    def print_test_page(self, *, rows: Sequence[tuple[str, str]] = ()) -> None:
        """Print a short page to check the printer (installers, ``doctor``)."""

    @abstractmethod
    def status(self) -> PrinterStatus:
        """Connect if needed and ask; :class:`PrinterError` if it cannot be reached."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection. Idempotent."""

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_FAILURES = (EscposError, *SERIAL_FAULTS)


class EscposPrinter(Printer):
    """Prints rasterised receipts on an ESC/POS transport (``Escpos`` and ``StatusReader``)."""

    def __init__(
        self,
        device: Any,
        *,
        source: str,
        width_px: int,
        renderer: ReceiptRenderer | None = None,
        impl: str = "raster",
        cut: str = "full",
        check_status: bool = True,
        status_timeout: float = 0.5,
    ) -> None:
        _check_transport(device)
        if impl not in IMPLEMENTATIONS:
            raise PrinterError(f"unknown image mode {impl!r}", code="printer_config")
        if cut not in ("full", "partial", "none"):
            raise PrinterError(f"unknown cut {cut!r}", code="printer_config")
        self.device: Any = device
        self.source = source
        self.width_px = width_px
        self.renderer = renderer or ReceiptRenderer(width_px=width_px)
        self.impl = impl
        self.cut = cut
        self.check_status = check_status
        self.status_timeout = status_timeout
        self._lock = threading.Lock()
        self._open = False
        # python-escpos reads the paper width from the profile; give this printer its own copy
        profile = device.profile
        profile.profile_data = copy.deepcopy(profile.profile_data)
        profile.profile_data.setdefault("media", {}).setdefault("width", {})["pixels"] = width_px

    # ---- connection -----------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._open:
            return
        try:
            self.device.open()
        except PrinterError:
            raise
        except _FAILURES as exc:
            raise PrinterError(
                f"the printer {self.source} cannot be reached: {_first_line(exc)}",
                code="printer_unavailable",
            ) from exc
        self._open = True

    def _drop(self, *, failed: bool = False) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if failed:
                self.device.abort()
            else:
                self.device.close()
        except _FAILURES as exc:
            log.debug("printer %s: close failed: %s", self.source, exc)

    def close(self) -> None:
        with self._lock:
            self._drop()

    # ---- status ---------------------------------------------------------------------

    def _status_locked(self) -> PrinterStatus:
        try:
            status: PrinterStatus = self.device.read_status(self.status_timeout)
            return status
        except PrinterError:
            self._drop(failed=True)
            raise
        except _FAILURES as exc:
            self._drop(failed=True)
            raise PrinterError(
                f"the printer {self.source} stopped answering: {_first_line(exc)}",
                code="printer_unavailable",
            ) from exc

    def status(self) -> PrinterStatus:
        with self._lock:
            self._ensure_open()
            try:
                return self._status_locked()
            finally:
                if self.device.connect_per_job:
                    self._drop()

    # ---- printing -------------------------------------------------------------------

    def print_receipt(self, receipt: Receipt) -> None:
        self.print_image(self.renderer.render(receipt))

    def print_test_page(self, *, rows: Sequence[tuple[str, str]] = ()) -> None:
        title = "آزمایش چاپگر"
        self.print_image(
            self.renderer.render_test_page(title=title, rows=(("چاپگر", self.source), *rows))
        )

    def print_image(self, image: Image.Image) -> None:
        if image.width > self.width_px:
            raise PrinterError(
                f"the image is {image.width} dots wide; the paper takes {self.width_px}",
                code="printer_config",
            )
        with self._lock:
            self._ensure_open()
            try:
                if self.check_status:
                    self._refuse_if_not_ready(self._status_locked())
                self._send(image)
            finally:
                if self.device.connect_per_job:
                    self._drop()

    def _refuse_if_not_ready(self, status: PrinterStatus) -> None:
        if status.paper is PaperStatus.OUT:
            raise PrinterError(
                f"the printer {self.source} is out of paper: load a new roll and print again",
                code="printer_out_of_paper",
            )
        if status.online is False:
            raise PrinterError(
                f"the printer {self.source} is offline (cover open or paper out?)",
                code="printer_offline",
            )
        if status.paper is PaperStatus.LOW:
            log.warning("printer %s: the paper roll is nearly finished", self.source)

    def _send(self, image: Image.Image) -> None:
        device = self.device
        try:
            device._raw(ESC_INIT)
            device.image(image, impl=IMPLEMENTATIONS[self.impl], fragment_height=960)
            if self.cut == "none":
                device.print_and_feed(6)
            else:
                device.cut(mode="PART" if self.cut == "partial" else "FULL")
            flush = getattr(device, "flush", None)
            if callable(flush):
                flush()
        except PrinterError:
            self._drop(failed=True)
            raise
        except _FAILURES as exc:
            self._drop(failed=True)  # reopened on the next job
            raise PrinterError(
                f"printing on {self.source} failed: {_first_line(exc)}", code="printer_failed"
            ) from exc


def _check_transport(device: object) -> None:
    if not isinstance(device, Escpos) or not isinstance(device, StatusReader):
        raise PrinterError("a printer transport must be an Escpos and a StatusReader")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())
