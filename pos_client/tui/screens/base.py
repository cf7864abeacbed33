"""What every checkout screen shares: the status bar, the training banner, a title,
a message line, the key bar, and running service calls off the UI thread.

A screen shows state and forwards intent. Its slow work is one call to a
service inside :meth:`PosScreen.run_service`: an async worker whose result (or
error, as a sentence in the user's language) comes back to the screen. A
traceback never reaches the screen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from ..i18n import Texts
from ..widgets.keybar import KeyBar
from ..widgets.status import StatusBar
from ..widgets.text import BidiText, texts_of

if TYPE_CHECKING:
    from ..app import PosApp

__all__ = ["MessageKind", "PosModal", "PosScreen"]

log = logging.getLogger(__name__)

T = TypeVar("T")
MessageKind = Literal["info", "ok", "error", "warn", "busy"]


class _ScreenMixin:
    """Helpers for screens of the checkout App."""

    @property
    def pos(self) -> PosApp:
        return cast("PosApp", cast(Any, self).app)

    @property
    def texts(self) -> Texts:
        return texts_of(self)

    def t(self, key: str, **params: object) -> str:
        return self.texts.t(key, **params)

    def say(self, text: str, kind: MessageKind = "info") -> None:
        """Show one sentence on the screen's message line."""
        node = cast(Any, self)
        for message in node.query("#message").results(BidiText):
            message.text = text
            for other in ("info", "ok", "error", "warn", "busy"):
                message.set_class(other == kind, f"-{other}")

    def run_service(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        done: Callable[[T], Any],
        failed: Callable[[BaseException], Any] | None = None,
        busy: str | None = None,
        group: str = "service",
    ) -> Worker[None]:
        """Run ``call`` in an async worker; ``done(result)`` or ``failed(error)`` afterwards.

        The callbacks run on the UI thread. Without ``failed``, an error is shown
        on the message line as a sentence. Only one call per ``group`` runs at a
        time (a new one cancels the old).
        """
        node = cast(Any, self)
        if busy:
            self.say(busy, "busy")

        async def job() -> None:
            try:
                result = await call()
            except Exception as exc:  # every error becomes a sentence, never a traceback
                log.warning("service call failed: %s", type(exc).__name__, exc_info=True)
                if failed is not None:
                    failed(exc)
                else:
                    self.say(self.texts.error(exc), "error")
                return
            done(result)

        return cast(
            "Worker[None]",
            node.run_worker(job(), group=group, exclusive=True, exit_on_error=False),
        )

    def steady_cursor(self) -> None:
        """Text fields blink their cursor as the App says (snapshots want it still)."""
        blink = bool(getattr(self.pos, "cursor_blink", True))
        for field in cast(Any, self).query(Input):
            field.cursor_blink = blink

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:  # a failure inside a callback
            log.error("worker failed", exc_info=event.worker.error)
            self.say(self.texts.t("error.unexpected"), "error")


class PosScreen(_ScreenMixin, Screen[T]):
    """A full screen of the checkout: status bar, banner, title, body, message, keys."""

    TITLE_KEY: ClassVar[str] = ""
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = []

    def compose(self) -> ComposeResult:
        yield StatusBar()
        if self.pos.training:
            yield BidiText(self.t("app.training"), classes="training")
        if self.title_key():
            yield BidiText(self.t(self.title_key()), classes="title")
        yield from self.compose_body()
        yield BidiText("", id="message")
        yield KeyBar()

    def title_key(self) -> str:
        return self.TITLE_KEY

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.steady_cursor()
        self.refresh_status()

    def on_screen_resume(self) -> None:
        self.refresh_status()

    def refresh_status(self) -> None:
        for bar in self.query(StatusBar):
            bar.view = self.pos.status


class PosModal(_ScreenMixin, ModalScreen[T]):
    """A dialog over the current screen: a box with a title, a body, a message and keys."""

    TITLE_KEY: ClassVar[str] = ""

    def on_mount(self) -> None:
        self.steady_cursor()

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(classes="dialog"):
            if self.TITLE_KEY:
                yield BidiText(self.t(self.TITLE_KEY), classes="title")
            yield from self.compose_body()
            yield BidiText("", id="message")
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        yield from ()
