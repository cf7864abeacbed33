"""A table that lays its columns out right to left in the Persian interface.

:class:`BidiTable` is a DataTable fed with logical text: with ``rtl = app`` in
Persian its first column stands on the right, text is shaped and ordered, and
a cell too long for its column is cut at its logical end (:func:`fit`), never
at its beginning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import JustifyMethod
from rich.text import Text
from textual.widgets import DataTable

from ..rtl import RtlMode, base_of
from .text import fit, texts_of

__all__ = ["BidiTable", "Column"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its key, its heading (an i18n key), a width for text that may be cut
    (None: as wide as the content, which numbers always are), and whether it holds numbers."""

    key: str
    label: str
    width: int | None = None
    numeric: bool = False


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
        self.can_focus = cursor  # a table to read only never takes the keys

    @property
    def _mirrored(self) -> bool:
        texts = texts_of(self)
        return texts.persian and texts.rtl is RtlMode.APP

    def _ordered(self, values: Sequence[object]) -> list[object]:
        return list(reversed(values)) if self._mirrored else list(values)

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        if self._ready:
            return
        texts = texts_of(self)
        for spec in self._ordered(self._specs):
            assert isinstance(spec, Column)
            label = texts.line(spec.label)
            justify: JustifyMethod = "right" if (spec.numeric or texts.persian) else "left"
            width = None if spec.numeric else spec.width  # numbers are never cut
            if width is not None:
                width = max(width, cell_len(label))
            self.add_column(Text(label, justify=justify), key=spec.key, width=width)
        self._ready = True

    def cell(self, spec: Column, text: str, *, style: str = "") -> Text:
        """One logical cell as the terminal should show it in ``spec``'s column."""
        texts = texts_of(self)
        base = "rtl" if texts.persian else base_of(text)
        if spec.width and not spec.numeric:
            shown = fit(texts, text, spec.width, base=base)
        else:
            shown = texts.show_data(text)
        justify: JustifyMethod = "right" if (spec.numeric or texts.persian) else "left"
        return Text(shown, justify=justify, style=style)

    def set_rows(
        self, rows: Sequence[tuple[str, Sequence[str]]], *, styles: Sequence[str] = ()
    ) -> None:
        """Replace every row: ``(row key, logical cells in column order)``."""
        self._add_columns()
        cursor = self.cursor_row
        self.clear()
        for index, (key, cells) in enumerate(rows):
            style = styles[index] if index < len(styles) else ""
            rendered = [
                self.cell(spec, text, style=style)
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
