"""Device drivers: barcode scanners, receipt printers and scales, each opened from a URL.

    open_scanner("serial:///dev/ttyACM0?suffix=cr", on_scan=..., on_state=...)
    open_scanner("virtual://lane-T-0001", ...)     a pty that ``pos-client scan`` feeds
    open_printer("usb://0416:5011?width=58")       ESC/POS, Persian receipts as raster
    open_printer("dummy://")                       records the bytes
    open_scale("serial:///dev/ttyUSB0")            Mettler Toledo 8217
    open_scale("virtual-scale://meat")             a simulated scale on a pty

Each kind of device has a small interface (:class:`drivers.scanner.Scanner`,
:class:`drivers.printer.Printer`, :class:`drivers.scale.Scale`), a module per
transport, and a virtual device the demo and the tests use. Errors reach the
caller only as :class:`~pos_client.errors.ScannerError`,
:class:`~pos_client.errors.PrinterError` or :class:`~pos_client.errors.ScaleError`.

The subpackages are imported when first used, so that a command that needs
only a scanner does not load the imaging libraries.

This package may import :mod:`pos_client.domain` and :mod:`pos_client.errors`;
it must never import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.printer import Printer
    from drivers.scale import Scale
    from drivers.scanner import Backoff, Scanner, ScannerGroup
    from drivers.scanner.base import OnScan, OnState

__all__ = ["open_printer", "open_scale", "open_scanner", "open_scanners"]


def open_scanner(
    url: str,
    *,
    on_scan: OnScan,
    on_state: OnState,
    runtime_dir: str | os.PathLike[str] | None = None,
    backoff: Backoff | None = None,
) -> Scanner:
    """A scanner for ``url``; see :mod:`drivers.scanner`. Call ``start()``/``stop()``."""
    from drivers import scanner

    return scanner.open_scanner(
        url, on_scan=on_scan, on_state=on_state, runtime_dir=runtime_dir, backoff=backoff
    )


def open_scanners(
    urls: Sequence[str],
    *,
    on_scan: OnScan,
    on_state: OnState,
    runtime_dir: str | os.PathLike[str] | None = None,
    backoff: Backoff | None = None,
) -> ScannerGroup:
    """A lane's scanners as one group; see :mod:`drivers.scanner`."""
    from drivers import scanner

    return scanner.open_scanners(
        urls, on_scan=on_scan, on_state=on_state, runtime_dir=runtime_dir, backoff=backoff
    )


def open_printer(url: str) -> Printer:
    """A receipt printer for ``url`` (not yet connected); see :mod:`drivers.printer`."""
    from drivers import printer

    return printer.open_printer(url)


def open_scale(url: str, *, runtime_dir: str | os.PathLike[str] | None = None) -> Scale:
    """An open scale for ``url``; see :mod:`drivers.scale`."""
    from drivers import scale

    return scale.open_scale(url, runtime_dir=runtime_dir)
