"""A table that lays its columns out right to left in the Persian interface.

:class:`BidiTable` is a DataTable fed with logical text: with ``rtl = app`` in
Persian its first column stands on the right, text is shaped and ordered, and
a cell too long for its column is cut at its logical end (:func:`fit`), never
at its beginning.

A table made with ``fit_width=True`` keeps all its columns on screen: its
number columns are as wide as their numbers, and its text columns share what
is left of the table's width (their own width, or their longest text, when
there is room; when there is not, the widest are cut first, with an ellipsis,
down to a common width), worked out again when the rows or the width change.
Right to left it spans the whole width, so that it stands on the right of the
screen like the text around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len
from rich.console import JustifyMethod
from rich.text import Text
from textual import events
from textual._context import NoActiveAppError
from textual.css.scalar import Unit
from textual.widgets import DataTable

from ..i18n import Texts
from ..rtl import RtlMode, base_of, strip_controls
from .text import fit, texts_of

__all__ = ["BidiTable", "Column"]

#: The narrowest a text column is made to fit a table into its width.
MIN_TEXT_WIDTH = 8


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its key, its heading (an i18n key), a width for text that may be cut
    (None: as wide as the content, which numbers always are), and whether it holds numbers."""

    key: str
    label: str
    width: int | None = None
    numeric: bool = False


@lru_cache(maxsize=4096)
def _cells(texts: Texts, text: str) -> int:
    """The cells ``text`` takes: shown (shaped, لا one cell) or as cut (typed, two), the wider.

    Cached: the table is fitted again on every change, and most of its cells stay.
    """
    return max(cell_len(texts.show_data(text)), cell_len(strip_controls(text)))


class BidiTable(DataTable[Text]):
    """A DataTable of logical text cells, ordered for the lane's direction."""

    DEFAULT_CSS = """
    BidiTable {
        height: 1fr;
    }
    """

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        id: str | None = None,
        classes: str | None = None,
        cursor: bool = True,
        fit_width: bool = False,
    ) -> None:
        super().__init__(
            id=id,
            classes=classes,
            cursor_type="row" if cursor else "none",
            zebra_stripes=True,
            show_cursor=cursor,
        )
        self._specs = tuple(columns)
        self._ready = False
        self._fit = fit_width
        self._widths: dict[str, int | None] = {}
        self._rows: list[tuple[str, Sequence[str]]] = []
        self._styles: tuple[str, ...] = ()
        self.can_focus = cursor  # a table to read only never takes the keys

    @property
    def _mirrored(self) -> bool:
        texts = texts_of(self)
        return texts.persian and texts.rtl is RtlMode.APP

    def _ordered(self, values: Sequence[object]) -> list[object]:
        return list(reversed(values)) if self._mirrored else list(values)

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self, widths: dict[str, int | None] | None = None) -> None:
        if self._ready and (widths is None or widths == self._widths):
            return
        if self._ready:
            self.clear(columns=True)
        texts = texts_of(self)
        if widths is None:
            widths = {s.key: None if s.numeric else s.width for s in self._specs}
        for spec in self._ordered(self._specs):
            assert isinstance(spec, Column)
            label = texts.line(spec.label)
            justify: JustifyMethod = "right" if (spec.numeric or texts.persian) else "left"
            width = None if spec.numeric else widths.get(spec.key)  # numbers are never cut
            if width is not None:
                width = max(width, cell_len(label))
            self.add_column(Text(label, justify=justify), key=spec.key, width=width)
        self._widths = dict(widths)
        self._ready = True

    def cell(self, spec: Column, text: str, *, style: str = "", width: int | None = None) -> Text:
        """One logical cell as the terminal should show it in ``spec``'s column.

        ``width``: the text column's width when the table fits its width (else ``spec.width``).
        """
        texts = texts_of(self)
        base = "rtl" if texts.persian else base_of(text)
        width = width or spec.width
        if width and not spec.numeric:
            shown = fit(texts, text, width, base=base)
        else:
            shown = texts.show_data(text)
        justify: JustifyMethod = "right" if (spec.numeric or texts.persian) else "left"
        return Text(shown, justify=justify, style=style)

    # ------------------------------------------------------------------ fitting the width

    def _room(self, rows: int) -> int:
        """The cells across that the columns may take (0 when not known yet)."""
        width = self.size.width - self.styles.gutter.width if self.size.width else 0
        if not width:
            try:
                width = self.app.size.width  # before the first layout: the table spans the screen
            except NoActiveAppError:  # a widget alone: nothing to fit to
                return 0
        limit = self.styles.max_height
        tallest = limit.value if limit is not None and limit.unit is Unit.CELLS else None
        if tallest is None and self.size.height:
            tallest = self.size.height
        if tallest is not None and rows + 1 > tallest:  # the header and the rows overflow
            width -= self.styles.scrollbar_size_vertical
        return max(0, width)

    def _fitted(self, rows: Sequence[tuple[str, Sequence[str]]]) -> dict[str, int | None]:
        """Each text column's width so that every column stays on screen."""
        defaults: dict[str, int | None] = {
            s.key: None if s.numeric else s.width for s in self._specs
        }
        room = self._room(len(rows))
        if not self._fit or not room:
            return defaults
        texts = texts_of(self)
        pad = 2 * self.cell_padding
        natural = {}
        for index, spec in enumerate(self._specs):
            # As wide as shown (shaped: لا is one cell) and as cut (logical: two), the wider.
            longest = max((_cells(texts, cells[index]) for _, cells in rows), default=0)
            natural[spec.key] = max(cell_len(texts.line(spec.label)), longest)
        flexible = [s for s in self._specs if not s.numeric]
        left = room - sum(natural[s.key] + pad for s in self._specs if s.numeric)
        left -= pad * len(flexible)
        # Each text column as wide as its longest text (never narrower than asked for);
        # when they do not all fit, the widest are cut first, down to the same width.
        wanted = {s.key: max(natural[s.key], s.width or 0) for s in flexible}
        floor = {s.key: max(MIN_TEXT_WIDTH, cell_len(texts.line(s.label))) for s in flexible}
        cap = max(wanted.values(), default=0)
        while cap > 0 and sum(max(min(wanted[k], cap), floor[k]) for k in wanted) > left:
            cap -= 1
        widths = dict(defaults)
        for spec in flexible:
            widths[spec.key] = max(min(wanted[spec.key], cap), floor[spec.key])
        if self._mirrored and flexible:
            # Right to left, the table spans the screen: the room left over goes to the
            # leftmost text column (its text stands on the right), never a gap on the right.
            spare = left - sum(widths[s.key] or 0 for s in flexible)
            if spare > 0:
                last = flexible[-1].key
                widths[last] = (widths[last] or 0) + spare
        return widths

    def on_resize(self, event: events.Resize) -> None:
        if self._fit and self._ready and self._fitted(self._rows) != self._widths:
            self.set_rows(self._rows, styles=self._styles)

    def set_rows(
        self, rows: Sequence[tuple[str, Sequence[str]]], *, styles: Sequence[str] = ()
    ) -> None:
        """Replace every row: ``(row key, logical cells in column order)``."""
        self._rows, self._styles = list(rows), tuple(styles)
        widths = self._fitted(rows) if self._fit else None
        self._add_columns(widths)
        cursor = self.cursor_row
        self.clear()
        for index, (key, cells) in enumerate(rows):
            style = styles[index] if index < len(styles) else ""
            rendered = [
                self.cell(spec, text, style=style, width=self._widths.get(spec.key))
                for spec, text in zip(self._specs, cells, strict=True)
            ]
            self.add_row(*self._ordered(rendered), key=key)  # type: ignore[arg-type]
        if rows:
            self.move_cursor(row=min(max(cursor, 0), len(rows) - 1))

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, or None for an empty table."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)
