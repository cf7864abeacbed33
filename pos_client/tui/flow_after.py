"""What the checkout screen does after a sale and after a crash: receipts, voids, sync.

The second half of :class:`~pos_client.tui.flow.CheckoutFlow` (a mixin it
inherits): printing and reprinting a receipt, voiding the last sale, sending
the queue now, and the sales a crash interrupted. Like the flow it holds no
rule of its own: it calls the lane's services and says what came back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pos_client.domain.states import SaleStatus, VoidStatus
from pos_client.errors import PosError, PrinterError
from pos_client.services.receipts import ReceiptError
from pos_client.services.redemptions import SaleOutcome
from pos_client.services.telemetry import printer_word

from .screens.dialogs import ConfirmDialog

if TYPE_CHECKING:
    from pos_client.domain.receipt import Receipt

    from .app import PosApp
    from .i18n import Texts

__all__ = ["AfterSale"]

log = logging.getLogger(__name__)


class AfterSale:
    """Receipts, voids, the queue and interrupted sales (mixed into the checkout flow)."""

    app: PosApp
    last_outcome: SaleOutcome | None
    last_receipt: Receipt | None

    if TYPE_CHECKING:

        @property
        def texts(self) -> Texts: ...

        def say(self, text: str, kind: str = "info") -> None: ...

        def run(self, job: Callable[[], Awaitable[None]], *, busy: str | None = None) -> bool: ...

    def _receipt(self, outcome: SaleOutcome) -> Receipt | None:
        """The receipt of a sale that went ahead, as the journal keeps it (the screen shows it)."""
        if not outcome.goes_ahead or outcome.id is None:
            return None
        if outcome.status is SaleStatus.APPROVED_UNSAVED:
            return None  # the journal does not hold the answer yet: the code is shown instead
        try:
            return self.app.lane.receipts.receipt_for(
                outcome.id, currency=self.texts.currency, training=self.app.training
            )
        except PosError:
            log.warning("no receipt for %s", outcome.id, exc_info=True)
            return None

    async def _print(self, redemption_id: str, *, done_key: str, after_sale: bool = False) -> None:
        """Print a sale's receipt; a printer that cannot print is a warning, never a failed sale."""
        try:
            await asyncio.to_thread(
                self.app.lane.receipts.print,
                redemption_id,
                currency=self.texts.currency,
                training=self.app.training,
            )
        except ReceiptError as exc:
            log.info("no receipt to print for %s: %s", redemption_id, exc.message)
            self.say(self.texts.t("reprint.none"), "warn")
            return
        except PrinterError as exc:
            self.app.note_device("printer", printer_word(code=exc.code))
            if exc.code == "no_printer":  # receipts are shown on the screen only
                if not after_sale:
                    self.say(self.texts.t("result.no_printer"), "warn")
                return
            log.warning("printing failed: %s", exc.message)
            self.say(self.texts.t("result.print_failed"), "warn")
            return
        self.app.note_device("printer", "ok")
        self.say(self.texts.t(done_key), "ok")

    def void_last(self) -> None:
        async def job() -> None:
            texts = self.texts
            last = self.last_outcome
            if last is not None and last.receipt_code:
                question = texts.t(
                    "void.confirm",
                    code=last.receipt_code,
                    amount=texts.amount(last.covered_rial),
                )
            else:
                question = texts.t("void.confirm_any")
            if not await self.app.push_screen_wait(ConfirmDialog(question)):
                return
            self.say(texts.t("void.working"), "busy")
            result = await self.app.lane.checkout.void_last()
            if result.status is VoidStatus.VOIDED:
                self.last_outcome = None
                self.last_receipt = None
                self.say(texts.t("void.done"), "ok")
            elif result.status is VoidStatus.PENDING:
                self.say(texts.t("void.pending"), "warn")
            else:
                self.say(texts.t("void.refused", reason=texts.reason(result.reason)), "error")
            self.app.read_status()

        self.run(job)

    def reprint(self) -> None:
        async def job() -> None:
            last = self.last_outcome
            if self.last_receipt is None or last is None or last.id is None:
                self.say(self.texts.t("reprint.none"), "warn")
                return
            await self._print(last.id, done_key="reprint.done")

        self.run(job)

    def sync_now(self) -> None:
        async def job() -> None:
            report = await self.app.lane.forwarder.sync()
            if report.error:
                self.app.note_ledger(online=False)
                self.say(self.texts.t("error.ledger_unavailable"), "error")
            else:
                self.app.note_ledger(online=True)
                self.say(self.texts.t("sync.done", count=report.sent), "ok")
            self.app.read_status()

        self.run(job, busy=self.texts.t("sync.started"))

    # ------------------------------------------------------------------ after a crash

    def check_interrupted(self) -> None:
        """Sales written before a crash whose outcome nobody saw, one by one: finish or cancel."""

        async def job() -> None:
            from .screens.interrupted import InterruptedScreen

            outcomes = await asyncio.to_thread(self.app.lane.checkout.interrupted)
            for outcome in outcomes:
                if outcome.id is None:
                    continue
                await self.app.push_screen_wait(InterruptedScreen(outcome))
            self.app.read_status()

        self.app.run_worker(job(), group="interrupted", exit_on_error=False)
