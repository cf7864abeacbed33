"""A QR code drawn in the terminal with half-block characters (qrcode makes the matrix).

Two rows of modules share one line of cells (``▀`` ``▄`` ``█``), dark on light
whatever the theme, with a one-module quiet zone, so a phone can read it off
the screen. :func:`qr_lines` is the plain-text part, testable without a screen.
"""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from textual.app import RenderResult
from textual.content import Content
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

__all__ = ["QrCode", "qr_lines", "qr_matrix"]


def qr_matrix(data: str, *, border: int = 1) -> list[list[bool]]:
    """The QR code of ``data`` as rows of modules (True = dark), with its quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def qr_lines(data: str, *, border: int = 1) -> list[str]:
    """The QR code of ``data`` in half blocks: a character for two rows of modules."""
    matrix = qr_matrix(data, border=border)
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    lines: list[str] = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=True):
        chars = []
        for upper, lower in zip(top, bottom, strict=True):
            if upper and lower:
                chars.append("█")
            elif upper:
                chars.append("▀")
            elif lower:
                chars.append("▄")
            else:
                chars.append(" ")
        lines.append("".join(chars))
    return lines


class QrCode(Widget):
    """A QR code of ``data``, sized to its modules."""

    DEFAULT_CSS = """
    QrCode {
        width: auto;
        height: auto;
        color: black;
        background: white;
    }
    """

    data: reactive[str] = reactive("", layout=True)

    def __init__(
        self,
        data: str = "",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(QrCode.data, data)

    def _lines(self) -> list[str]:
        return qr_lines(self.data) if self.data else []

    def render(self) -> RenderResult:
        return Content("\n".join(self._lines()))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        lines = self._lines()
        return len(lines[0]) if lines else 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines())
