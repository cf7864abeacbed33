"""An ESC/POS printer on USB, through pyusb and libusb: ``usb://0416:5011``.

python-escpos's ``Usb`` with a timeout on every transfer; the real-time status
is asked on the bulk endpoints. Without libusb (``apt install libusb-1.0-0``)
or pyusb, opening raises a PrinterError that says so.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Usb

from drivers.printer.base import PrinterStatus, StatusReader, escpos_status
from pos_client.errors import PrinterError

__all__ = ["UsbPrinter"]


class UsbPrinter(StatusReader, Usb):  # type: ignore[misc]
    def __init__(
        self, vendor: int, product: int, *, timeout: float, in_ep: int, out_ep: int
    ) -> None:
        Usb.__init__(
            self,
            idVendor=vendor,
            idProduct=product,
            timeout=max(1, round(timeout * 1000)),  # pyusb counts milliseconds
            in_ep=in_ep,
            out_ep=out_ep,
        )
        self.label = f"{vendor:04x}:{product:04x}"

    def open(self, raise_not_found: bool = True) -> None:
        try:
            import usb.core  # noqa: F401 - only to say plainly when pyusb is missing
        except ImportError as exc:
            raise PrinterError(
                "USB printers need the pyusb package", code="printer_unavailable"
            ) from exc
        try:
            Usb.open(self, raise_not_found=True)
        except ValueError as exc:  # usb.core.NoBackendError
            raise PrinterError(
                "USB printers need libusb-1.0 (apt install libusb-1.0-0)",
                code="printer_unavailable",
            ) from exc
        if not self._device:
            raise DeviceNotFoundError(f"no USB printer {self.label}")

    def read_status(self, timeout: float) -> PrinterStatus:
        import usb.core

        device = self.device
        millis = max(1, round(timeout * 1000))

        def ask(request: bytes) -> int | None:
            device.write(self.out_ep, request, self.timeout)
            try:
                answer = device.read(self.in_ep, 16, millis)
            except usb.core.USBTimeoutError:
                return None
            return int(answer[0]) if len(answer) else None

        return escpos_status(ask)
