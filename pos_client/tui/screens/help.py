"""Help (F1): the steps of a sale, every key, and in training how to try it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll

from ..widgets.text import BidiText
from .base import PosScreen
from .basket import BasketScreen
from .identify import IdentifyScreen
from .result import ResultScreen

__all__ = ["HelpScreen", "keys_text"]

#: Fresh purchase codes the training help shows.
PURCHASE_CODES_SHOWN = 2


def keys_text(screen_class: type, texts: object, app: object) -> str:
    """One line per key of a screen: ``F2  Void``."""
    from ..i18n import Texts

    assert isinstance(texts, Texts)
    lines = []
    for binding in getattr(screen_class, "BINDINGS", []):
        if not isinstance(binding, Binding) or not binding.show:
            continue
        label = binding.key_display or binding.key
        description = texts.t(binding.description) if texts.has(binding.description) else ""
        lines.append(f"{texts.code(label)}  {description}")
    return "\n".join(lines)


class HelpScreen(PosScreen[None]):
    TITLE_KEY = "help.title"
    BINDINGS: ClassVar = [
        Binding("escape,f1", "close", "key.close", key_display="Esc"),
    ]

    def compose_body(self) -> ComposeResult:
        texts = self.texts
        with VerticalScroll(id="help-body"):
            guide = self.pos.guide
            if self.pos.training and guide is not None:
                yield from self._demo(guide)
            yield BidiText(texts.t("help.steps"))
            yield BidiText(texts.t("help.keys"), classes="help-heading")
            for title, screen in (
                ("help.screen.identify", IdentifyScreen),
                ("help.screen.basket", BasketScreen),
                ("help.screen.result", ResultScreen),
            ):
                yield BidiText(texts.t(title), classes="help-heading")
                yield BidiText(keys_text(screen, texts, self.pos))
            yield BidiText(
                f"{texts.code('F1')}  {texts.t('key.help')}\n"
                f"{texts.code('^Q')}  {texts.t('key.quit')}"
            )

    def _demo(self, guide: object) -> ComposeResult:
        from ..app import DemoGuide

        assert isinstance(guide, DemoGuide)
        texts = self.texts
        yield BidiText(texts.t("help.demo"), classes="help-heading")
        yield BidiText(texts.t("help.demo.scan"))
        # Shell commands are Latin text: always left to right, never reordered.
        yield BidiText("\n".join(texts.code(c) for c in guide.commands), classes="commands")
        if guide.ledger_switch is not None:
            from ..app import LEDGER_SWITCH_DISPLAY

            yield BidiText(
                texts.t("help.demo.ledger_switch", switch=LEDGER_SWITCH_DISPLAY, sync="F5")
            )
        if guide.households:
            yield BidiText(texts.t("help.demo.households"))
            yield BidiText(
                "\n".join(f"{texts.code(nid)}  {what}" for what, nid in guide.households)
            )
        if guide.purchase_codes or guide.purchase_code is not None:
            yield BidiText(texts.t("help.demo.purchase_codes"))
            # Codes expire and are used up: fresh ones are minted as the help opens.
            shown = () if guide.purchase_code is not None else guide.purchase_codes
            yield BidiText(self._codes(shown), id="demo-codes")
        if guide.products:
            yield BidiText(texts.t("help.demo.products"))
            yield BidiText(
                "\n".join(
                    f"{texts.code(gtin)}  {name}  {texts.amount(price)}"
                    for name, gtin, price in guide.products
                )
            )

    def _codes(self, codes: Sequence[str]) -> str:
        return "  ".join(self.texts.code(code) for code in codes) or "…"

    def on_mount(self) -> None:
        super().on_mount()
        guide = self.pos.guide
        mint = getattr(guide, "purchase_code", None) if self.pos.training else None
        if mint is None:
            return

        async def fresh() -> list[str]:
            codes = [await mint() for _ in range(PURCHASE_CODES_SHOWN)]
            return [code for code in codes if code]

        def show(codes: list[str]) -> None:
            for node in self.query("#demo-codes").results(BidiText):
                node.text = self._codes(codes)

        self.run_service(fresh, done=show, failed=lambda _: show([]), group="demo-codes")

    def action_close(self) -> None:
        self.dismiss(None)
