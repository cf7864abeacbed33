"""One sale at the counter, from the first scan to the receipt: which screen, when.

:class:`CheckoutFlow` turns the cashier's intents (forwarded by the screens)
into calls on the checkout service, each in a worker off the UI thread, and
shows what came back on the right screen. It holds no rule of its own: the
checkout session decides what is allowed, what is covered and what was
approved; the flow only chooses the next screen and turns errors into one
sentence in the cashier's language.

Only one call runs at a time: a second Enter while the ledger is being asked
is answered with "wait a moment", never sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from pos_client.domain.barcodes import TokenScan, classify_scan
from pos_client.domain.errors import ContractError
from pos_client.domain.models import BasketLine, Product, Unit
from pos_client.domain.money import parse_amount, parse_quantity_milli
from pos_client.domain.states import SaleStatus
from pos_client.errors import (
    CheckoutRefused,
    LabelPriceMismatch,
    LedgerUnavailable,
    PosError,
)
from pos_client.services.checkout import (
    BasketView,
    CheckoutError,
    CheckoutSession,
    Household,
    Stage,
)
from pos_client.services.redemptions import SaleOutcome

from .flow_after import AfterSale
from .i18n import Texts
from .progress import Step, with_progress
from .screens.dialogs import ConfirmDialog, PromptDialog

if TYPE_CHECKING:
    from pos_client.domain.receipt import Receipt

    from .app import PosApp

__all__ = ["CheckoutFlow"]

log = logging.getLogger(__name__)

#: Checkout error codes that mean "the ledger could not be asked".
_UNREACHABLE = frozenset({"ledger_unavailable"})


class CheckoutFlow(AfterSale):
    """Drives the checkout session for the screens; one sale at a time."""

    def __init__(self, app: PosApp) -> None:
        self.app = app
        self.session: CheckoutSession | None = None
        self.household: Household | None = None
        self.view: BasketView | None = None
        self.outcome: SaleOutcome | None = None
        self.last_outcome: SaleOutcome | None = None
        self.last_receipt: Receipt | None = None
        self.otp_hint: str | None = None
        self.names: dict[str, str] = {}  # English product names, by GTIN (English screens)
        self.busy = False
        self._scans: deque[str] = deque()
        self._draining = False
        # What identified the household, kept in memory only while its sale is
        # open: a declined sale keeps its basket and is tried again with it.
        self._identity_text: str | None = None

    @property
    def texts(self) -> Texts:
        return self.app.texts

    # ------------------------------------------------------------------ plumbing

    def say(self, text: str, kind: str = "info") -> None:
        """One sentence on the screen on top (a dialog or a full screen)."""
        say = getattr(self.app.screen, "say", None)
        if say is not None:
            say(text, kind)
        else:
            self.app.notify(text, severity="error" if kind == "error" else "information")

    def fail(self, exc: BaseException) -> None:
        """An error from a service call, shown as a sentence (the ledger noted as down)."""
        if isinstance(exc, LedgerUnavailable) or getattr(exc, "code", None) in _UNREACHABLE:
            self.app.note_ledger(online=False)
        self.say(self.texts.error(exc), "error")

    def run(self, job: Callable[[], Awaitable[None]], *, busy: str | None = None) -> bool:
        """Run ``job`` in a worker unless another is running; errors become sentences."""
        if self.busy:
            if not self._scans:
                self.say(self.texts.t("error.busy"), "warn")
            return False
        self.busy = True
        if busy:
            self.say(busy, "busy")

        async def guarded() -> None:
            try:
                await job()
            except PosError as exc:
                log.info("checkout step refused: %s (%s)", exc.code, type(exc).__name__)
                self.fail(exc)
            except Exception:  # never a traceback on the screen
                log.exception("checkout step failed")
                self.say(self.texts.t("error.unexpected"), "error")
            finally:
                self.busy = False
                self.app.screen.refresh_bindings()
                self.app.call_later(self.after_step)

        self.app.run_worker(guarded(), group="checkout", exit_on_error=False)
        return True

    async def _show(self, screen: Screen[Any], *, keep_current: bool = False) -> None:
        """Show a sale screen: on top of the current one, or in place of the sale's screens."""
        from .screens.identify import IdentifyScreen

        if not keep_current:
            while len(self.app.screen_stack) > 1 and not isinstance(
                self.app.screen, IdentifyScreen
            ):
                await self.app.pop_screen()
        await self.app.push_screen(screen)

    async def _idle(self) -> None:
        while len(self.app.screen_stack) > 1:
            await self.app.pop_screen()

    def go_idle(self, *, fresh: bool = False) -> None:
        """Back to the idle screen; the sale (if any) is forgotten.

        The sale's screens leave at once, not in a worker: keys typed right after
        (the next household's digits) reach the idle screen, not the screen leaving.
        """
        self._forget()
        while len(self.app.screen_stack) > 1:
            self.app.pop_screen()  # the stack changes now; the old screen goes in the background
        if not fresh:
            return

        async def rebuild() -> None:  # the language or the layout changed: build it again
            from .screens.base import PosScreen

            screen = self.app.screen
            await screen.recompose()
            if isinstance(screen, PosScreen):
                screen.on_mount()

        self.app.run_worker(rebuild(), group="navigation", exit_on_error=False)

    def _forget(self) -> None:
        self._scans.clear()
        self.session = None
        self.household = None
        self.view = None
        self.outcome = None
        self.otp_hint = None
        self._identity_text = None

    # ------------------------------------------------------------------ identify and OTP

    def identify(self, text: str) -> None:
        async def job() -> None:
            session = self.app.lane.checkout.new_session()
            try:
                household = await session.identify(text)
            except PosError as exc:
                if getattr(exc, "code", None) not in _UNREACHABLE:
                    raise
                self.app.note_ledger(online=False)
                texts = self.texts
                sentence = texts.t("error.ledger_unavailable")
                if not isinstance(classify_scan(text, expect="identify"), TokenScan):
                    sentence += " " + texts.t("error.offline_identify")
                self.say(sentence, "error")
                return
            self.app.note_ledger(online=not household.offline)
            self.session, self.household, self._identity_text = session, household, text
            if session.stage is Stage.OTP:
                await self._request_otp(first=True)
            else:
                await self._show_basket()

        self.run(job, busy=self.texts.t("identify.working"))

    async def _request_otp(self, *, first: bool) -> None:
        from .screens.otp import OtpScreen

        assert self.session is not None and self.household is not None
        challenge = await self.session.request_otp()
        self.otp_hint = await self._training_otp(challenge.challenge_id)
        if first:
            await self._show(OtpScreen(self.household, challenge, hint=self.otp_hint))
        else:
            screen = self.app.screen
            if isinstance(screen, OtpScreen):
                screen.challenge_sent(challenge, hint=self.otp_hint)

    async def _training_otp(self, challenge_id: str) -> str | None:
        guide = self.app.guide
        if not self.app.training or guide is None or guide.otp_code is None:
            return None
        try:
            return await guide.otp_code(challenge_id)
        except Exception:  # a training hint only; the sale goes on without it
            log.info("the training OTP hint could not be read", exc_info=True)
            return None

    def resend_otp(self) -> None:
        async def job() -> None:
            await self._request_otp(first=False)
            self.say(self.texts.t("otp.resent"), "ok")

        self.run(job, busy=self.texts.t("otp.requesting"))

    def enter_otp(self, code: str) -> None:
        async def job() -> None:
            assert self.session is not None
            self.household = await asyncio.to_thread(self.session.enter_otp, code)
            await self._show_basket()

        self.run(job)

    # ------------------------------------------------------------------ basket

    async def _show_basket(self) -> None:
        from .screens.basket import BasketScreen

        assert self.session is not None and self.household is not None
        self.view = await asyncio.to_thread(self.session.basket)
        await asyncio.to_thread(self._learn_names, self.view)
        await self._show(BasketScreen(self.household, self.view))

    def _learn_names(self, view: BasketView) -> None:
        """English names of the basket's products, from the catalog (off the UI thread)."""
        if self.texts.persian:
            return
        records = self.app.lane.records
        for item in view.items:
            gtin = item.line.gtin
            if gtin not in self.names:
                product = records.product(gtin)
                self.names[gtin] = product.name_en if product is not None else ""

    def _update_basket(
        self, view: BasketView, *, message: str | None = None, cursor: int | None = None
    ) -> None:
        """Show ``view`` on the basket screen, the cursor on line ``cursor`` (default: the last)."""
        from .screens.basket import BasketScreen

        self.view = view
        screen = self.app.screen
        if isinstance(screen, BasketScreen):
            screen.show_basket(view, cursor=cursor)
            screen.say(message or "", "ok")  # an older warning no longer applies

    def scan_product(self, text: str) -> None:
        """A product scanned or typed: added in turn, never lost while another is added."""
        self._scans.append(text)
        if self._draining:
            return
        self._draining = True

        async def job() -> None:
            try:
                while self._scans:
                    scanned = self._scans.popleft()
                    try:
                        await self._add_scan(scanned)
                    except PosError as exc:
                        self.fail(exc)  # this scan is refused; the next ones still go in
            finally:
                self._draining = False

        if not self.run(job):
            self._draining = False  # another step runs: the scans wait for it

    def after_step(self) -> None:
        """A step ended: scans that came meanwhile go into the basket now (on its screen)."""
        from .screens.basket import BasketScreen

        if not isinstance(self.app.screen, BasketScreen):
            return
        if self._scans and not self._draining and self.session is not None:
            text = self._scans.popleft()
            self.scan_product(text)

    async def _add_scan(
        self, text: str, *, quantity_milli: int | None = None, price_rial: int | None = None
    ) -> None:
        assert self.session is not None
        session = self.session
        try:
            view = await asyncio.to_thread(
                session.scan, text, quantity_milli=quantity_milli, unit_price_rial=price_rial
            )
            await asyncio.to_thread(self._learn_names, view)
        except CheckoutError as exc:
            if exc.code == "price_missing" and price_rial is None:
                price = await self._ask_price(await self._scanned_name(text))
                if price is not None:
                    await self._add_scan(text, quantity_milli=quantity_milli, price_rial=price)
                return
            if isinstance(exc, LabelPriceMismatch) and price_rial is None:
                t = self.texts
                question = t.t(
                    "basket.label_price",
                    label=t.amount(exc.label_price_rial),
                    quantity=t.quantity(exc.quantity_milli, Unit.KG),
                    charged=t.amount(exc.charged_rial),
                    unit=t.currency_word(),
                )  # Enter charges the rule's amount; another unit price may be typed
                price = await self._ask_price("", current=exc.unit_price_rial, question=question)
                if price is not None:
                    await self._add_scan(text, quantity_milli=quantity_milli, price_rial=price)
                return
            if exc.code == "quantity_needed" and quantity_milli is None:
                product = await asyncio.to_thread(self._product, text)
                unit = product.unit if product is not None else Unit.KG
                quantity = await self.weigh() if unit is Unit.KG else None
                if quantity is None:
                    quantity = await self._ask_quantity(await self._scanned_name(text), unit)
                if quantity is not None:
                    await self._add_scan(text, quantity_milli=quantity, price_rial=price_rial)
                return
            raise
        self._update_basket(view)

    def _product(self, text: str) -> Product | None:
        """The catalog product a scan names, for its name and unit in a question."""
        gtin = getattr(classify_scan(text, expect="product"), "gtin", None)
        return self.app.lane.records.product(gtin) if isinstance(gtin, str) else None

    async def _scanned_name(self, text: str) -> str:
        product = await asyncio.to_thread(self._product, text)
        if product is None:
            return self.texts.code(text.strip())
        if not self.texts.persian and product.name_en:
            return product.name_en
        return product.name_fa

    async def weigh(self) -> int | None:
        """The scale's stable weight in grams (thousandths of a kilogram), or None."""
        scale = self.app.scale
        if scale is None:
            return None
        self.say(self.texts.t("basket.weighing"), "busy")
        try:
            grams = await asyncio.to_thread(scale.read_weight)
        except PosError as exc:
            self.say(self.texts.error(exc), "warn")
            return None
        self.say("")
        return int(grams) if grams > 0 else None

    def reweigh(self, index: int) -> None:
        async def job() -> None:
            line = self._line(index)
            if line is None or self.session is None:
                self.say(self.texts.t("basket.no_line"), "warn")
                return
            if self.app.scale is None:
                self.say(self.texts.t("basket.no_scale"), "warn")
                return
            if line.unit is not Unit.KG:
                self.say(self.texts.t("basket.not_weighed"), "warn")
                return
            grams = await self.weigh()
            if grams is not None:
                view = await asyncio.to_thread(self.session.set_quantity, index, grams)
                self._update_basket(view, cursor=index)

        self.run(job)

    async def _ask_price(
        self, name: str, *, current: int | None = None, question: str = ""
    ) -> int | None:
        texts = self.texts

        def check(answer: str) -> str | None:
            try:
                parse_amount(answer)
            except ContractError:
                return texts.t("basket.bad_price", example=texts.number(12500))
            return None

        value = "" if current is None else str(current // (10 if texts.currency == "toman" else 1))
        question = question or texts.t("basket.price_prompt", name=name, unit=texts.currency_word())
        answer = await self.app.push_screen_wait(PromptDialog(question, value=value, check=check))
        if answer is None:
            return None
        if current is not None and answer.strip() == value:
            return current  # untouched: the exact price, even one a Toman cannot show
        return int(texts.price_from_input(parse_amount(answer)))

    async def _ask_quantity(self, name: str, unit: Unit) -> int | None:
        texts = self.texts

        def check(answer: str) -> str | None:
            try:
                parse_quantity_milli(answer)
            except ContractError:
                example = "۱٫۲۵" if texts.persian else "1.25"
                if unit is Unit.PIECE:
                    example = texts.digits("2")
                return texts.t("basket.bad_quantity", example=example)
            return None

        if unit is Unit.PIECE:
            question = texts.t("basket.quantity_prompt", name=name)
        else:
            question = texts.t(
                "basket.measure_prompt", name=name, unit=texts.t(f"unit.{unit.value}")
            )
        answer = await self.app.push_screen_wait(PromptDialog(question, check=check))
        if answer is None:
            return None
        return parse_quantity_milli(answer)

    def _line(self, index: int) -> BasketLine | None:
        if self.view is None or not 0 <= index < len(self.view.items):
            return None
        return self.view.items[index].line

    def change_quantity(self, index: int) -> None:
        async def job() -> None:
            from .views import line_name

            line = self._line(index)
            if line is None or self.session is None:
                self.say(self.texts.t("basket.no_line"), "warn")
                return
            name = line_name(line, self.texts)
            quantity = await self._ask_quantity(name, line.unit)
            if quantity is not None:
                view = await asyncio.to_thread(self.session.set_quantity, index, quantity)
                self._update_basket(view, cursor=index)

        self.run(job)

    def change_price(self, index: int) -> None:
        async def job() -> None:
            from .views import line_name

            line = self._line(index)
            if line is None or self.session is None:
                self.say(self.texts.t("basket.no_line"), "warn")
                return
            price = await self._ask_price(line_name(line, self.texts), current=line.unit_price_rial)
            if price is None:
                return
            # Repriced in place: the line keeps its place and the split is planned again.
            view = await asyncio.to_thread(self.session.set_unit_price, index, price)
            self._update_basket(view, cursor=index)

        self.run(job)

    def remove_line(self, index: int) -> None:
        async def job() -> None:
            from .views import line_name

            line = self._line(index)
            if line is None or self.session is None:
                self.say(self.texts.t("basket.no_line"), "warn")
                return
            view = await asyncio.to_thread(self.session.remove, index)
            self._update_basket(
                view, message=self.texts.t("basket.removed", name=line_name(line, self.texts))
            )

        self.run(job)

    def show_wallet(self) -> None:
        from .screens.wallet import WalletScreen

        if self.household is not None:
            self.app.push_screen(WalletScreen(self.household))

    def cancel_sale(self) -> None:
        async def job() -> None:
            yes = await self.app.push_screen_wait(
                ConfirmDialog(self.texts.t("basket.confirm_cancel"))
            )
            if yes:
                self._forget()
                await self._idle()

        self.run(job)

    # ------------------------------------------------------------------ review and confirm

    def review(self) -> None:
        from .screens.review import ReviewScreen

        async def job() -> None:
            if self.session is None or self.household is None:
                return
            view = await asyncio.to_thread(self.session.basket)
            if not view.items:
                self.say(self.texts.t("basket.nothing_to_review"), "warn")
                return
            self.view = view
            await self._show(ReviewScreen(self.household, view), keep_current=True)

        self.run(job)

    def recheck_basket(self) -> None:
        """After a catalog refresh: the basket planned again, the cashier told what changed."""
        session = self.session
        if self.busy or session is None:  # a running step: the confirm checks again itself
            return

        async def job() -> None:
            if (changes := await asyncio.to_thread(session.recheck)) and self.household:
                names = ", ".join(self.names.get(c.gtin) or c.name for c in changes)
                await self._show_basket()  # also from the review: the split shown is the new one
                self.say(self.texts.t("basket.catalog_changed", names=names), "warn")

        self.run(job)

    def confirm(self) -> None:
        async def job() -> None:
            assert self.session is not None
            session = self.session
            try:
                outcome = await self._with_progress(lambda told: session.confirm(progress=told))
            except CheckoutRefused as exc:
                if exc.code == "catalog_changed":  # planned again: the cashier checks it first
                    await self._show_basket()
                raise
            await self._finished(outcome)

        self.run(job, busy=self.texts.t("review.sending"))

    async def _with_progress(self, step: Step) -> SaleOutcome:
        """Run a sending step with a line that says what it does and for how long."""
        return await with_progress(self.app, lambda text: self.say(text, "busy"), step)

    async def _finished(self, outcome: SaleOutcome) -> None:
        from .screens.result import ResultScreen

        self.outcome = outcome
        self.app.note_ledger(online=outcome.status.ledger_answered)
        receipt = await asyncio.to_thread(self._receipt, outcome)
        if outcome.goes_ahead:
            self.last_outcome = outcome
            self.last_receipt = receipt
        if outcome.status is SaleStatus.APPROVED_OFFLINE:  # the ledger was not reached
            self.app.lane.forwarder.wake(unreached=True)
        await self._show(ResultScreen(outcome, receipt))
        if receipt is not None and outcome.id is not None:
            await self._print(outcome.id, done_key="result.printed", after_sale=True)
        if self.session is not None and outcome.status is not SaleStatus.UNKNOWN:
            # An answer not saved yet is saved here if the store lets it; else it stays
            # interrupted, finished at the next start.
            await asyncio.to_thread(self.session.acknowledge)
        self.app.read_status()

    def resolve(self) -> None:
        async def job() -> None:
            assert self.session is not None
            session = self.session
            await self._finished(
                await self._with_progress(lambda told: session.resolve(progress=told))
            )

        self.run(job, busy=self.texts.t("review.sending"))

    def abandon(self) -> None:
        async def job() -> None:
            assert self.session is not None
            await self._finished(await self.session.abandon())

        self.run(job, busy=self.texts.t("review.sending"))

    def back_to_basket(self) -> None:
        """After a decline: the same household and basket, as a new sale (the basket kept)."""
        outcome, text = self.outcome, self._identity_text
        if outcome is None or text is None:
            self.go_idle()
            return

        async def job() -> None:
            session = self.app.lane.checkout.new_session()
            household = await session.identify(text)
            for line in outcome.lines:
                await asyncio.to_thread(
                    session.add_product,
                    line.gtin,
                    quantity_milli=line.quantity_milli,
                    unit_price_rial=line.unit_price_rial,
                )
            self.session, self.household, self.outcome = session, household, None
            if session.stage is Stage.OTP:
                await self._request_otp(first=True)
            else:
                await self._show_basket()

        self.run(job, busy=self.texts.t("identify.working"))

    def new_sale(self) -> None:
        if self.outcome is not None and self.outcome.status is SaleStatus.UNKNOWN:
            self.say(self.texts.t("result.unknown_note"), "warn")
            return
        self.go_idle()
