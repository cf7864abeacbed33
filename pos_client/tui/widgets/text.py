"""Text widgets that know the lane's language and right-to-left setting.

:class:`BidiText` holds *logical* text (as :mod:`pos_client.tui.i18n` gives it)
and renders it wrapped to its width and then, with ``rtl = app``, shaped and in
visual order, right-aligned in the Persian interface. Widgets find the lane's
:class:`~pos_client.tui.i18n.Texts` on the App (``app.texts``).

Reusable widgets keep their styles in ``DEFAULT_CSS``; screens use ``.tcss``.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual._context import NoActiveAppError
from textual.app import RenderResult
from textual.content import Content
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from ..i18n import Texts
from ..rtl import Direction, render_line, render_lines, wrap

__all__ = ["BidiText", "fit", "texts_of"]

_DEFAULT_TEXTS = Texts()


def texts_of(widget: Any) -> Texts:
    """The lane's texts, from the App the widget belongs to."""
    try:
        texts = getattr(widget.app, "texts", None)
    except NoActiveAppError:  # not mounted in an App (a widget alone): the defaults
        return _DEFAULT_TEXTS
    return texts if isinstance(texts, Texts) else _DEFAULT_TEXTS


def fit(texts: Texts, text: str, width: int, *, base: Direction | None = None) -> str:
    """One logical line cut to ``width`` cells (with an ellipsis), then made visual.

    Cutting happens before ordering, so a long Persian name loses its end, not
    its beginning.
    """
    if width <= 0:
        return ""
    lines = wrap(text, width)
    first = lines[0] if lines else ""
    if len(lines) > 1:
        first = wrap(first, max(1, width - 1))[0] + "…"
    return render_line(first, mode=texts.rtl, base=base or texts.base)


class BidiText(Widget):
    """A paragraph of logical text, wrapped, shaped and ordered for the terminal."""

    DEFAULT_CSS = """
    BidiText {
        height: auto;
        width: 1fr;
    }
    """

    text: reactive[str] = reactive("", layout=True)

    def __init__(
        self,
        text: str = "",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(BidiText.text, text)

    @property
    def texts(self) -> Texts:
        return texts_of(self)

    def _lines(self, width: int) -> list[str]:
        texts = self.texts
        if not self.text:
            return []
        return render_lines(self.text, width=max(1, width), mode=texts.rtl, base=texts.base)

    def render(self) -> RenderResult:
        return Content("\n".join(self._lines(self.content_size.width or self.size.width)))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        widest = max((cell_len(line) for line in self._lines(10_000)), default=0)
        return min(widest, container.width) if container.width else widest

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width)) if width else 0
