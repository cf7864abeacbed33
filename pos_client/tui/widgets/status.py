"""The status bar at the top of every screen: honest about the network.

It shows, always: online or offline, how many redemptions wait to be
forwarded and their total, the age of the rules, and the scanner's state.
It renders a :class:`StatusView` (a frozen value the App builds from the
services); it does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from rich.cells import cell_len
from textual.app import RenderResult
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from pos_client.domain.clock import CLOCK_TOLERANCE

from ..i18n import Texts
from ..rtl import RtlMode
from .text import texts_of

__all__ = ["StatusBar", "StatusView", "clock_off_minutes", "status_segments"]


@dataclass(frozen=True, slots=True)
class StatusView:
    """What the status bar shows. ``online`` is None until the first contact is tried."""

    online: bool | None = None
    queue_count: int = 0
    queue_rial: int = 0
    rules_fetched_at: datetime | None = None
    rules_expired: bool = False
    scanner: str = "none"  # connected | disconnected | connecting | none | keyboard
    now: datetime | None = None
    stuck_count: int = 0  # outbox items undecided for hours (see services.forwarder.stuck_items)
    #: Minutes the lane's clock is off from the ledger's, when beyond the one tolerance
    #: (:data:`pos_client.domain.clock.CLOCK_TOLERANCE`); ``None`` when within it or unknown.
    clock_off_minutes: int | None = None
    #: Training only: the demo's sandbox ledger is switched off from the screen.
    ledger_switched_off: bool = False
    #: The chain's terminal config version the checkout runs on (None: none from the chain).
    config_version: str | None = None


def clock_off_minutes(offset: timedelta | None) -> int | None:
    """The minutes to show for a measured offset, or ``None`` when within the tolerance."""
    if offset is None or abs(offset) <= CLOCK_TOLERANCE:
        return None
    return max(1, round(abs(offset).total_seconds() / 60))


def status_segments(view: StatusView, texts: Texts) -> list[tuple[str, str]]:
    """The bar's parts in reading order, each ``(logical text, style class)``."""
    if view.ledger_switched_off:
        network = ("● " + texts.t("status.ledger_switched_off"), "status-offline")
    elif view.online is None:
        network = (texts.t("status.checking"), "status-checking")
    elif view.online:
        network = ("● " + texts.t("status.online"), "status-online")
    else:
        network = ("● " + texts.t("status.offline"), "status-offline")
    if view.queue_count:
        queue = texts.t("status.queue", count=view.queue_count, total=texts.amount(view.queue_rial))
    else:
        queue = texts.t("status.queue_empty", count=0)
    if view.rules_expired:
        rules = (texts.t("status.rules_expired"), "status-bad")
    elif view.rules_fetched_at is None or view.now is None:
        rules = (texts.t("status.rules_none"), "status-warn")
    else:
        rules = (texts.t("status.rules", age=texts.age(view.now - view.rules_fetched_at)), "")
    state_key = {
        "connected": "scanner.connected",
        "disconnected": "scanner.disconnected",
        "connecting": "scanner.disconnected",
        "keyboard": "scanner.keyboard",
    }.get(view.scanner, "scanner.none")
    scanner = (
        texts.t("status.scanner", state=texts.t(state_key)),
        "status-bad" if view.scanner in ("disconnected", "connecting") else "",
    )
    segments = [network, (queue, "status-queue" if view.queue_count else ""), rules, scanner]
    if view.config_version is not None:
        segments.insert(3, (texts.t("status.config", version=view.config_version), ""))
    if view.stuck_count:
        segments.insert(2, (texts.t("status.stuck", count=view.stuck_count), "status-bad"))
    if view.clock_off_minutes is not None:
        clock = texts.t("status.clock_off", minutes=view.clock_off_minutes)
        segments.insert(1, (clock, "status-bad"))
    return segments


class StatusBar(Widget):
    """One line: network, queue, rules age, scanner."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $text;
    }
    StatusBar > .status-online { color: $success; text-style: bold; }
    StatusBar > .status-offline { color: $error; text-style: bold; }
    StatusBar > .status-checking { color: $warning; }
    StatusBar > .status-queue { color: $warning; }
    StatusBar > .status-warn { color: $warning; }
    StatusBar > .status-bad { color: $error; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-online",
        "status-offline",
        "status-checking",
        "status-queue",
        "status-warn",
        "status-bad",
    }

    view: reactive[StatusView] = reactive(StatusView, layout=False)

    def render(self) -> RenderResult:
        texts = texts_of(self)
        width = self.size.width
        parts = status_segments(self.view, texts)
        separator = " │ "
        # Drop the least important parts (from the end) until the line fits.
        while len(parts) > 1 and (
            sum(cell_len(texts.show(p)) for p, _ in parts) + len(separator) * (len(parts) - 1)
            > max(1, width - 2)
        ):
            parts.pop(len(parts) - 2)  # keep the scanner, drop rules age first
        pieces: list[tuple[str, str]] = [(texts.show(text), cls) for text, cls in parts]
        if texts.persian and texts.rtl is RtlMode.APP:
            pieces.reverse()
        content = Content("")
        for index, (text, cls) in enumerate(pieces):
            if index:
                content += Content(separator)
            content += (
                Content.styled(text, self.get_visual_style(cls, partial=True))
                if cls
                else Content(text)
            )
        pad = max(0, width - content.cell_length - 1)
        if texts.persian:
            return Content(" " * pad) + content
        return Content(" ") + content
