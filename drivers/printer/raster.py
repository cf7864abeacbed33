"""Reading ESC/POS output back: the raster images (``GS v 0``) in a byte stream.

The inverse of what :class:`~drivers.printer.base.EscposPrinter` sends, for
checking a job without paper: tests decode the QR code from it, and a recorded
job (``dummy://`` or a ``file://`` capture) can be looked at as a picture.
Only ``GS v 0`` is understood; other commands are skipped byte by byte.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

from typing import Final

from PIL import Image

from pos_client.errors import PrinterError

__all__ = ["raster_images", "raster_page"]

GS_V_0: Final = b"\x1dv0"


def raster_images(output: bytes) -> list[Image.Image]:
    """Each ``GS v 0`` image in ``output``, as a 1-bit image (black = printed dot)."""
    images: list[Image.Image] = []
    at = output.find(GS_V_0)
    while at >= 0:
        header = output[at + 4 : at + 8]
        if len(header) < 4:
            raise PrinterError("a raster image is cut short", code="printer_raster")
        width_bytes = header[0] | header[1] << 8
        height = header[2] | header[3] << 8
        start = at + 8
        end = start + width_bytes * height
        if end > len(output):
            raise PrinterError("a raster image is cut short", code="printer_raster")
        # ESC/POS: bit set = dot printed; PIL "1" from raw bits: bit set = white
        printed = Image.frombytes("1", (width_bytes * 8, height), output[start:end])
        images.append(printed.point(lambda v: 255 - v).convert("1"))
        at = output.find(GS_V_0, end)
    return images


def raster_page(output: bytes) -> Image.Image:
    """All raster images of a job stacked top to bottom, as the paper shows them."""
    images = raster_images(output)
    if not images:
        raise PrinterError("the output holds no raster image", code="printer_raster")
    width = max(i.width for i in images)
    page = Image.new("1", (width, sum(i.height for i in images)), 1)
    y = 0
    for image in images:
        page.paste(image, (0, y))
        y += image.height
    return page
