"""Settings: language, currency and right-to-left handling, kept on the lane; the lane's details."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding

from pos_client.domain.money import Lang, MoneyUnit
from pos_client.errors import PosError
from pos_client.services.preferences import CHOICES, UiPreferences

from ..i18n import Texts
from ..rtl import RtlMode
from ..widgets.text import BidiText
from .base import PosScreen

__all__ = ["SettingsScreen"]

_LABELS = {
    "language": ("settings.language", "settings.lang."),
    "currency": ("settings.currency", "settings.currency."),
    "rtl": ("settings.rtl", "settings.rtl."),
}


class SettingsScreen(PosScreen[None]):
    TITLE_KEY = "settings.title"
    BINDINGS: ClassVar = [
        Binding("up", "move(-1)", show=False),
        Binding("down", "move(1)", show=False),
        Binding("left,right,space", "change", show=False),
        Binding("f2", "save", "key.save", key_display="F2"),
        Binding("escape", "close", "key.back", key_display="Esc"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}  # filled from the App's texts when composed
        self.selected = 0

    def compose_body(self) -> ComposeResult:
        texts = self.texts
        self.values = {"language": texts.lang, "currency": texts.currency, "rtl": texts.rtl.value}
        for name in CHOICES:
            yield BidiText("", id=f"setting-{name}", classes="setting")
        config = self.pos.lane.config
        info = [
            texts.t("settings.terminal", terminal=config.terminal.id),
            texts.t("settings.ledger", url=config.ledger.url),
        ]
        if config.source is not None:
            info.append(texts.t("settings.config", path=str(config.source)))
        yield BidiText("\n".join(info), classes="hint")
        yield BidiText(texts.t("settings.applied"), classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self._render_rows()

    def _render_rows(self) -> None:
        texts = self.texts
        for index, name in enumerate(CHOICES):
            label_key, value_prefix = _LABELS[name]
            value = texts.t(value_prefix + self.values[name])
            row = self.query_one(f"#setting-{name}", BidiText)
            marker = "◂ " if texts.persian else "▸ "
            row.text = (
                marker if index == self.selected else "\u00a0\u00a0"  # kept at the start of a line
            ) + f"{texts.t(label_key)}: {value}"
            row.set_class(index == self.selected, "-selected")

    def action_move(self, step: int) -> None:
        self.selected = (self.selected + step) % len(CHOICES)
        self._render_rows()

    def action_change(self) -> None:
        name = list(CHOICES)[self.selected]
        options = CHOICES[name]
        self.values[name] = options[(options.index(self.values[name]) + 1) % len(options)]
        self._render_rows()

    def action_save(self) -> None:
        lang: Lang = "en" if self.values["language"] == "en" else "fa"
        currency: MoneyUnit = "rial" if self.values["currency"] == "rial" else "toman"
        picked = UiPreferences(language=lang, currency=currency, rtl=self.values["rtl"])
        try:
            self.pos.lane.preferences.save(picked)
        except PosError as exc:  # applied all the same, for this session
            self.say(self.texts.error(exc), "error")
        self.pos.apply_texts(Texts(lang=lang, currency=currency, rtl=RtlMode(self.values["rtl"])))

    def action_close(self) -> None:
        self.dismiss(None)
