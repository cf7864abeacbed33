"""The key bar at the bottom of every screen: every action and its key, in the lane's language.

Textual's own Footer shows a binding's ``description`` as written and on one
line that scrolls off an 80-column terminal. This bar looks the description up
as a text key (``Binding("f1", "help", "key.help")``), renders it for the
terminal (shaped and ordered in Persian), lays the keys out right to left in
the Persian interface, and wraps onto a second line when they do not fit.
A click on a key presses it (the mouse is optional).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from textual import events
from textual._context import NoActiveAppError
from textual.app import RenderResult
from textual.content import Content
from textual.dom import NoScreen
from textual.geometry import Size
from textual.widget import Widget

from ..rtl import RtlMode
from .text import texts_of

__all__ = ["KeyBar"]


@dataclass(frozen=True, slots=True)
class _Item:
    key: str
    display: str
    description: str
    enabled: bool

    @property
    def width(self) -> int:
        return cell_len(self.display) + 1 + cell_len(self.description)


class KeyBar(Widget):
    """The active bindings of the screen, key first, wrapped to the width."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: auto;
        width: 1fr;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    KeyBar > .keybar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .keybar--disabled {
        text-style: dim;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"keybar--key", "keybar--disabled"}
    ALLOW_SELECT = False
    GAP = 2

    def __init__(self) -> None:
        super().__init__()
        self._hits: list[tuple[int, int, int, str]] = []  # (row, start, end, key)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, screen: object) -> None:
        self.refresh(layout=True)

    def _items(self) -> list[_Item]:
        texts = texts_of(self)
        seen: set[str] = set()
        items: list[_Item] = []
        try:
            active = self.screen.active_bindings
        except (NoScreen, NoActiveAppError):  # not on a screen yet
            return []
        for _node, binding, enabled, _tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            description = binding.description
            if texts.has(description):
                description = texts.line(description)
            items.append(
                _Item(binding.key, self.app.get_key_display(binding), description, enabled)
            )
        return items

    def _rows(self, width: int) -> list[list[_Item]]:
        rows: list[list[_Item]] = [[]]
        used = 0
        for item in self._items():
            need = item.width + (self.GAP if rows[-1] else 0)
            if rows[-1] and used + need > max(1, width - 1):
                rows.append([])
                used = 0
                need = item.width
            rows[-1].append(item)
            used += need
        return [row for row in rows if row]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self._rows(width)))

    def render(self) -> RenderResult:
        texts = texts_of(self)
        width = self.size.width
        right_to_left = texts.persian
        key_style = self.get_visual_style("keybar--key", partial=True)
        dim_style = self.get_visual_style("keybar--disabled", partial=True)
        self._hits = []
        lines: list[Content] = []
        for row_index, row in enumerate(self._rows(width)):
            ordered = list(reversed(row)) if right_to_left and texts.rtl is RtlMode.APP else row
            line = Content("")
            spans: list[tuple[int, int, str]] = []
            for index, item in enumerate(ordered):
                if index:
                    line += Content(" " * self.GAP)
                start = line.cell_length
                key_part = Content.styled(item.display, key_style)
                desc_part = Content(" " + item.description)
                if not item.enabled:
                    desc_part = desc_part.stylize(dim_style)
                if right_to_left and texts.rtl is RtlMode.APP:
                    # Right to left: the key stands on the right, its description to its left.
                    line += Content(item.description + " ")
                    if not item.enabled:
                        line = line.stylize(dim_style, start, line.cell_length)
                    line += key_part
                else:
                    line += key_part + desc_part
                spans.append((start, line.cell_length, item.key))
            offset = max(0, width - line.cell_length - 1) if right_to_left else 1
            line = Content(" " * offset) + line
            self._hits.extend((row_index, s + offset, e + offset, k) for s, e, k in spans)
            lines.append(line)
        return Content("\n").join(lines)

    def on_click(self, event: events.Click) -> None:
        for row, start, end, key in self._hits:
            if event.y == row and start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
