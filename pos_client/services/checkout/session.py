"""One household at the counter: identify, build the basket, confirm (see the package).

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from pos_client.domain.allocation import allocate
from pos_client.domain.barcodes import (
    Gs1Scan,
    NationalIdScan,
    ProductScan,
    PurchaseCodeScan,
    TokenScan,
    UnknownScan,
    VariableMeasureScan,
    classify_scan,
)
from pos_client.domain.bounds import check_basket, check_quantity_milli, check_unit_price
from pos_client.domain.contract import wallet_to_wire
from pos_client.domain.errors import ContractError, TokenError
from pos_client.domain.models import AllocationPlan, BasketLine, RuleSet, Unit, Wallet
from pos_client.domain.money import line_amount, round_half_up_div
from pos_client.domain.national_id import mask_national_id, national_id_hash
from pos_client.domain.offline import OfflineRequest, decide_offline, offline_purses
from pos_client.domain.redemption import (
    Identity,
    IdentityKind,
    OtpAnswer,
    OtpChallenge,
    RedemptionAnswer,
    RedemptionDraft,
    redemption_body,
)
from pos_client.domain.states import SaleStatus
from pos_client.domain.tokens import TokenClaims, verify_token_signature
from pos_client.errors import (
    CheckoutError,
    CheckoutRefused,
    LedgerRejected,
    LedgerUnavailable,
    StoreError,
    UnknownOutcome,
)
from pos_client.ports import NewRedemption
from pos_client.services.checkout.offline_token import (
    OFFLINE_SOURCE_CARD,
    offline_wallet_for_token,
    purse_totals,
)
from pos_client.services.checkout.recheck import LineChange, catalog_changed, recheck_lines
from pos_client.services.checkout.values import (
    SLOW_SHARE,
    BasketItem,
    BasketView,
    Household,
    OfflineApproval,
    Progress,
    Stage,
    basket_line,
    bounded,
    checkpoint_quietly,
    label_unit_price,
    national_identity,
    store_failed_outcome,
)
from pos_client.services.forwarder import settle_abandoned
from pos_client.services.redemptions import (
    SaleOutcome,
    basket_json,
    outcome_from_entry,
)
from pos_client.services.reports.days import sale_business_date

if TYPE_CHECKING:
    from pos_client.services.checkout.service import CheckoutService

log = logging.getLogger("pos_client.services.checkout")


class CheckoutSession:
    """One household at the counter. Not thread-safe; one UI or CLI drives it."""

    def __init__(self, service: CheckoutService) -> None:
        self._svc = service
        self.stage = Stage.IDENTIFY
        self._identity: Identity | None = None
        self._claims: TokenClaims | None = None
        self._nid_hash: str | None = None  # the lane's keyed hash (its store's household key)
        self._hot_hash: str | None = None  # the bare SHA-256, for the rules' hot list only
        self._masked: str | None = None
        self._wallet: Wallet | None = None
        self._wallet_as_of: datetime | None = None
        self._offline_wallet = False
        self._from_card = False  # the offline wallet is a KB2 token's snapshot
        self._challenge: OtpChallenge | None = None
        self._otp: OtpAnswer | None = None
        self._lines: list[BasketLine] = []
        self._in_catalog: list[bool] = []
        self.redemption_id: str | None = None
        self.outcome: SaleOutcome | None = None
        self._unsaved: RedemptionAnswer | None = None  # the ledger's answer, not yet saved
        # Whether this identity needs a texted code: the inquiry's answer, never a cached one's.
        self._requires_otp = False
        self._ledger_slow = False  # the inquiry found the ledger slow or away

    # ------------------------------------------------------------------ identify

    async def identify(self, text: str) -> Household:
        """Identify from a scan or typed text: a national ID, a QR token or a purchase code."""
        scan = classify_scan(text, expect="identify")
        if isinstance(scan, NationalIdScan):
            return await self.identify_national_id(scan.national_id)
        if isinstance(scan, TokenScan):
            return await self.identify_token(scan.token)
        if isinstance(scan, PurchaseCodeScan):
            return await self.identify_purchase_code(scan.code)
        if isinstance(scan, UnknownScan):
            raise CheckoutError(
                f"that is not a national ID, QR token or purchase code ({scan.reason})",
                code=scan.reason,
            )
        raise CheckoutError(
            "scan the household's card, QR code or purchase code first", code="not_an_identity"
        )

    async def identify_national_id(self, text: str) -> Household:
        self._expect(Stage.IDENTIFY)
        identity = national_identity(text)
        self._nid_hash = self._svc.store.household_key(identity.value)
        self._hot_hash = national_id_hash(identity.value)
        self._masked = mask_national_id(identity.value)
        return await self._identify_online(identity, what="a typed national ID")

    async def identify_token(self, text: str) -> Household:
        """A QR token: signature and single use checked here; its time is the ledger's to judge."""
        self._expect(Stage.IDENTIFY)
        svc = self._svc
        try:
            claims = verify_token_signature(text.strip(), keys=svc.rules.trusted_keys())
        except TokenError as exc:
            if exc.reason == "token_malformed":
                raise CheckoutError(exc.message, code=exc.reason) from None
            raise CheckoutRefused(exc.message, code=exc.reason) from None
        if svc.store.token_used(claims.jti):
            raise CheckoutRefused("this QR token was already used here", code="token_used")
        identity = Identity.token(text)
        self._claims = claims
        self._nid_hash = svc.store.household_key(claims.national_id)
        self._hot_hash = national_id_hash(claims.national_id)
        self._masked = mask_national_id(claims.national_id)
        try:
            wallet = await self._inquire(identity)
        except LedgerRejected as exc:
            raise CheckoutRefused(exc.message, code=exc.code) from None
        except LedgerUnavailable as exc:
            served = offline_wallet_for_token(svc, claims, self._nid_hash, cause=exc)
            # A token is checked on the terminal: no texted code, whatever the wallet saved
            # from an earlier national-ID inquiry said (that belonged to that identity).
            self._identity = identity
            self._requires_otp = False
            self._ledger_slow = True
            self._from_card = served.from_token
            self._set_wallet(served.wallet, offline=True, as_of=served.as_of)
            self.stage = Stage.BASKET
            return self.household()
        return self._accept_wallet(identity, wallet)

    async def identify_purchase_code(self, text: str) -> Household:
        self._expect(Stage.IDENTIFY)
        try:
            identity = Identity.purchase_code(text)
        except ContractError as exc:
            raise CheckoutError(exc.message, code="purchase_code_invalid") from None
        return await self._identify_online(identity, what="a purchase code")

    async def _identify_online(self, identity: Identity, *, what: str) -> Household:
        """Inquire the wallet of an identity that only the ledger can check."""
        try:
            wallet = await self._inquire(identity)
        except LedgerUnavailable as exc:
            raise CheckoutRefused(
                f"the ledger cannot be reached; {what} can only be served online",
                code="ledger_unavailable",
            ) from exc
        except LedgerRejected as exc:
            raise CheckoutRefused(exc.message, code=exc.code) from None
        return self._accept_wallet(identity, wallet)

    async def _inquire(self, identity: Identity) -> Wallet:
        """The wallet inquiry; a slow one (or none) makes the sale's send short."""
        svc = self._svc
        started = svc.clock.monotonic()
        try:
            return await svc.ledger.inquire_wallet(identity)
        except LedgerUnavailable:
            self._ledger_slow = True
            raise
        finally:
            if svc.clock.monotonic() - started > svc.sale_budget * SLOW_SHARE:
                self._ledger_slow = True

    def _accept_wallet(self, identity: Identity, wallet: Wallet) -> Household:
        self._identity = identity
        self._requires_otp = wallet.requires_otp
        self._set_wallet(wallet, offline=False)
        self.stage = Stage.OTP if wallet.requires_otp else Stage.BASKET
        return self.household()

    def _set_wallet(self, wallet: Wallet, *, offline: bool, as_of: datetime | None = None) -> None:
        svc = self._svc
        self._wallet = wallet
        self._offline_wallet = offline
        self._wallet_as_of = as_of or svc.clock.now()
        if not offline and self._nid_hash is not None:
            try:
                svc.store.cache_wallet(
                    self._nid_hash, json.dumps(wallet_to_wire(wallet)), at=svc.clock.now()
                )
            except StoreError:
                log.warning("could not save the wallet for offline use", exc_info=True)

    async def request_otp(self) -> OtpChallenge:
        """Text a verification code to the household (typed national ID)."""
        self._expect(Stage.OTP)
        assert self._identity is not None
        if self._identity.kind is not IdentityKind.NATIONAL_ID:
            raise CheckoutError("only a national ID needs a texted code", code="otp_not_needed")
        try:
            self._challenge = await self._svc.ledger.request_otp(self._identity.value)
        except LedgerUnavailable as exc:
            raise CheckoutRefused(
                "the ledger cannot be reached", code="ledger_unavailable"
            ) from exc
        except LedgerRejected as exc:
            raise CheckoutRefused(exc.message, code=exc.code) from None
        return self._challenge

    def enter_otp(self, code: str, *, challenge_id: str | None = None) -> Household:
        """The code the household read from its phone (checked by the ledger with the sale)."""
        self._expect(Stage.OTP)
        digits = code.strip()
        if not digits or len(digits) > 16 or not digits.isalnum():
            raise CheckoutError("the verification code is not valid", code="otp_invalid")
        cid = challenge_id or (self._challenge.challenge_id if self._challenge else None)
        if not cid:
            raise CheckoutError("ask for a verification code first", code="otp_no_challenge")
        if self._challenge is None or self._challenge.challenge_id != cid:
            self._challenge = OtpChallenge(challenge_id=cid)
        self._otp = OtpAnswer(challenge_id=cid, code=digits)
        self.stage = Stage.BASKET
        return self.household()

    def household(self) -> Household:
        if self._wallet is None or self._identity is None:
            raise CheckoutError("no household identified yet", code="wrong_stage")
        w = self._wallet
        return Household(
            identity_kind=self._identity.kind.value,
            masked_id=self._masked,
            display_name=w.beneficiary.display_name,
            household_size=w.beneficiary.household_size,
            city=w.beneficiary.city,
            purses=w.purses,
            requires_otp=self._requires_otp,
            otp_challenge=self._challenge,
            otp_entered=self._otp is not None,
            offline=self._offline_wallet,
            wallet_as_of=self._wallet_as_of,
            offline_allowance_rial=w.offline_allowance_rial,
            from_card=self._from_card,
        )

    # ------------------------------------------------------------------ basket

    def scan(
        self,
        text: str,
        *,
        quantity_milli: int | None = None,
        unit_price_rial: int | None = None,
    ) -> BasketView:
        """Add the product a scan names (EAN/UPC, a store weight or price label, GS1-128)."""
        self._expect_basket_open()
        scan = classify_scan(text, expect="product")
        svc = self._svc
        if isinstance(scan, ProductScan):
            return self.add_product(
                scan.gtin, quantity_milli=quantity_milli, unit_price_rial=unit_price_rial
            )
        if isinstance(scan, VariableMeasureScan):
            gtin = svc.store.scale_item(scan.lookup_key)
            if scan.weight_milli is not None:
                if gtin is None:
                    raise CheckoutError(
                        "this scale label's item is not in the shop's list", code="unknown_item"
                    )
                return self.add_product(
                    gtin, quantity_milli=scan.weight_milli, unit_price_rial=unit_price_rial
                )
            assert scan.price_rial is not None
            return self._add_priced(gtin or scan.raw.strip()[-13:], scan.price_rial)
        if isinstance(scan, Gs1Scan):
            if scan.price_rial is not None and scan.net_weight_milli is None:
                return self._add_priced(scan.gtin, scan.price_rial)
            return self.add_product(
                scan.gtin,
                quantity_milli=scan.net_weight_milli or quantity_milli,
                unit_price_rial=unit_price_rial,
                line_price_rial=scan.price_rial,
            )
        if isinstance(scan, UnknownScan):
            raise CheckoutError(f"that barcode cannot be read ({scan.reason})", code=scan.reason)
        raise CheckoutError("that is not a product barcode", code="not_a_product")

    def _add_priced(self, gtin: str, price_rial: int) -> BasketView:
        """A label that carries the line's price: the quantity follows from the unit price."""
        unit_price = self._svc.store.price(gtin)
        if unit_price:
            quantity = round_half_up_div(price_rial * 1000, unit_price)
            if quantity > 0 and line_amount(quantity, unit_price) == price_rial:
                return self.add_product(gtin, quantity_milli=quantity, unit_price_rial=unit_price)
        return self.add_product(gtin, quantity_milli=1000, unit_price_rial=price_rial)

    def add_product(
        self,
        gtin: str,
        *,
        quantity_milli: int | None = None,
        unit_price_rial: int | None = None,
        line_price_rial: int | None = None,
    ) -> BasketView:
        """Add ``quantity_milli`` of a product; the price comes from the shop's list if not given.

        A product outside the approved catalog stays in the basket: the household pays it.
        """
        self._expect_basket_open()
        svc = self._svc
        if not isinstance(gtin, str) or not gtin.isdigit() or not 8 <= len(gtin) <= 14:
            raise CheckoutError("a GTIN is 8 to 14 digits", code="invalid_gtin")
        product = svc.store.product(gtin)
        unit = product.unit if product is not None else Unit.PIECE
        if quantity_milli is None:
            if unit is not Unit.PIECE:
                raise CheckoutError(
                    "weigh this product or type its quantity", code="quantity_needed"
                )
            quantity_milli = 1000
        bounded(check_quantity_milli, quantity_milli)
        if unit is Unit.PIECE and quantity_milli % 1000:
            raise CheckoutError("pieces are sold whole", code="invalid_quantity")
        if unit_price_rial is None and line_price_rial is not None:
            unit_price_rial = label_unit_price(gtin, quantity_milli, unit, line_price_rial)
        if unit_price_rial is None:
            unit_price_rial = svc.store.price(gtin)
        if unit_price_rial is None:
            raise CheckoutError(
                f"no price for {gtin}: type it or add it to the shop's price list",
                code="price_missing",
            )
        bounded(check_unit_price, unit_price_rial)
        line = basket_line(gtin, quantity_milli, unit_price_rial, product)
        bounded(check_basket, (*self._lines, line))
        self._lines.append(line)
        self._in_catalog.append(product is not None)
        return self.basket()

    def set_quantity(self, index: int, quantity_milli: int) -> BasketView:
        self._expect_basket_open()
        line = self._line_at(index)
        bounded(check_quantity_milli, quantity_milli)
        if line.unit is Unit.PIECE and quantity_milli % 1000:
            raise CheckoutError("pieces are sold whole", code="invalid_quantity")
        self._replace_line(index, replace(line, quantity_milli=quantity_milli))
        return self.basket()

    def set_unit_price(self, index: int, unit_price_rial: int) -> BasketView:
        """Change a line's unit price in place (a shelf price typed by the cashier).

        The line keeps its place in the basket; the split over the purses is
        planned again. A price that is not a whole, positive number of Rials
        raises :class:`CheckoutError` and changes nothing.
        """
        self._expect_basket_open()
        line = self._line_at(index)
        bounded(check_unit_price, unit_price_rial, allow_zero=False)
        self._replace_line(index, replace(line, unit_price_rial=unit_price_rial))
        return self.basket()

    def _replace_line(self, index: int, line: BasketLine) -> None:
        """Put ``line`` at ``index`` if the basket stays within its bounds."""
        bounded(check_basket, (*self._lines[:index], line, *self._lines[index + 1 :]))
        self._lines[index] = line

    def remove(self, index: int) -> BasketView:
        self._expect_basket_open()
        self._line_at(index)
        del self._lines[index]
        del self._in_catalog[index]
        return self.basket()

    def recheck(self) -> tuple[LineChange, ...]:
        """Read each line's product again (after a catalog refresh); the lines that changed."""
        if self.stage not in (Stage.IDENTIFY, Stage.OTP, Stage.BASKET) or not self._lines:
            return ()
        lines, in_catalog, changes = recheck_lines(
            self._lines, self._in_catalog, self._svc.store.product
        )
        self._lines[:], self._in_catalog[:] = lines, in_catalog
        return changes

    def _line_at(self, index: int) -> BasketLine:
        if type(index) is not int or not 0 <= index < len(self._lines):
            raise CheckoutError("there is no such line in the basket", code="no_such_line")
        return self._lines[index]

    def basket(self) -> BasketView:
        """The basket with its split over the purses (none before a household is known)."""
        lines = tuple(self._lines)
        total = sum(line.amount_rial for line in lines)
        plan = self.plan() if self._wallet is not None and lines else None
        items = []
        for i, line in enumerate(lines):
            allocs = plan.for_line(i) if plan is not None else ()
            items.append(
                BasketItem(
                    index=i,
                    line=line,
                    in_catalog=self._in_catalog[i],
                    payers=tuple(a.purse_id for a in allocs),
                    covered_rial=sum(a.amount_rial for a in allocs),
                )
            )
        return BasketView(
            items=tuple(items),
            total_rial=total,
            covered_rial=plan.covered_rial if plan else 0,
            payable_rial=plan.payable_rial if plan else total,
            waived_rial=plan.waived_rial if plan else 0,
            plan=plan,
        )

    def plan(self) -> AllocationPlan:
        """The best split of the basket over the purses, now."""
        if self._wallet is None:
            raise CheckoutError("no household identified yet", code="wrong_stage")
        rules = self._rules()
        purses = self._wallet.purses
        if self._offline_wallet:
            # The ledger cannot be reached: only offline-capable credit may pay.
            purses = offline_purses(purses, rules)
        return allocate(
            tuple(self._lines),
            purses,
            rules=rules,
            city=self._svc.settings.city,
            now=self._svc.clock.now(),
        )

    def _rules(self) -> RuleSet:
        rules = self._svc.rules.current()
        if rules is None:
            raise CheckoutRefused(
                "this terminal holds no rule set yet: sync the rules first", code="no_rules"
            )
        return rules

    # ------------------------------------------------------------------ confirm

    async def confirm(self, *, progress: Progress | None = None) -> SaleOutcome:
        """Write the sale to disk, then send it; return what the cashier must be told.

        ``progress`` is told what the send is doing (for a progress line).

        Raises ``StoreError`` (nothing sent) when the store cannot write.
        """
        self._expect(Stage.BASKET)
        svc = self._svc
        # The whole step has a budget; a ledger already slow at the inquiry gets a short one.
        budget = svc.sale_budget / 3 if self._ledger_slow else svc.sale_budget
        deadline = svc.clock.monotonic() + budget
        assert self._identity is not None and self._wallet is not None
        if self._requires_otp and self._otp is None:
            raise CheckoutError("the household's verification code is needed", code="otp_required")
        if not self._lines:
            raise CheckoutError("the basket is empty", code="empty_basket")
        if changed := self.recheck():  # never send what the catalog of now does not approve
            raise catalog_changed(changed)
        rules = self._rules()
        plan = self.plan()
        if plan.covered_rial <= 0 or not plan.allocations:
            raise CheckoutRefused(
                "nothing in the basket is covered by the household's credit",
                code="nothing_covered",
            )
        now = svc.clock.now()
        redemption_id = svc.new_id(now)
        draft = RedemptionDraft(
            id=redemption_id,
            terminal_id=svc.settings.terminal_id,
            created_at=now,
            mode="online",
            identity=self._identity,
            rules_version=rules.version,
            lines=tuple(self._lines),
            allocations=plan.allocations,
            otp=self._otp,
        )
        body = redemption_body(draft)
        program_of = {p.id: p.program for p in self._wallet.purses}
        svc.store.record_new_redemption(
            NewRedemption(
                id=redemption_id,
                created_at=now,
                business_date=sale_business_date(svc.store, svc.settings.terminal_id, now),
                identity_kind=self._identity.kind.value,
                mode="online",
                body=body,
                basket=basket_json(
                    lines=self._lines,
                    allocations=plan.allocations,
                    total_rial=plan.total_rial,
                    covered_rial=plan.covered_rial,
                    payable_rial=plan.payable_rial,
                    waived_rial=plan.waived_rial,
                    purses=self._wallet.purses,
                    program_of=program_of,
                ),
                total_rial=plan.total_rial,
                covered_rial=plan.covered_rial,
                payable_rial=plan.payable_rial,
                intent="hold",
                nid_hash=self._nid_hash,
                nid_masked=self._masked,
                beneficiary_ref=self._wallet.beneficiary.ref,
                display_name=self._wallet.beneficiary.display_name,
                token_jti=self._claims.jti if self._claims else None,
            ),
            at=now,
        )
        self.redemption_id = redemption_id
        entry = svc.store.redemption(redemption_id)
        assert entry is not None
        outcome = await svc.send(
            entry, offline=self._offline_approval, deadline=deadline, progress=progress
        )
        return self._finish(outcome)

    def _finish(self, outcome: SaleOutcome) -> SaleOutcome:
        outcome = replace(outcome, purses_before=self._wallet.purses if self._wallet else ())
        if self._from_card and outcome.offline:
            outcome = replace(outcome, offline_source=OFFLINE_SOURCE_CARD)
        self.outcome = outcome
        self._unsaved = self._svc.unsaved.pop(outcome.id or "", None)
        self.stage = Stage.UNKNOWN if outcome.status is SaleStatus.UNKNOWN else Stage.DONE
        # The sale is over: checkpoint the store's WAL now, just after this outcome is handed
        # back, rather than inside a later sale's commit (see SqliteStore.checkpoint). The
        # store may be closed by then (a command that printed its outcome and ended).
        asyncio.get_running_loop().call_soon(checkpoint_quietly, self._svc.store)
        return outcome

    def _offline_approval(self, now: datetime) -> OfflineApproval:
        """Whether this sale may go ahead offline now, and what an approval would count."""
        return OfflineApproval(
            decision=decide_offline(self._offline_request(now), self._svc.settings.limits),
            nid_hash=self._nid_hash,
            by_program=self._covered_by_program(),
        )

    def _covered_by_program(self) -> dict[str, int]:
        assert self._wallet is not None
        program_of = {p.id: p.program for p in self._wallet.purses}
        totals: dict[str, int] = {}
        for a in self.plan().allocations:
            program = program_of.get(a.purse_id, "")
            totals[program] = totals.get(program, 0) + a.amount_rial
        return totals

    def _offline_request(self, now: datetime) -> OfflineRequest:
        svc = self._svc
        assert self._identity is not None and self._wallet is not None
        today = (
            svc.store.offline_totals(
                business_date=sale_business_date(svc.store, svc.settings.terminal_id, now),
                nid_hash=self._nid_hash,
            )
            if self._nid_hash
            else {}
        )
        ledger_time = svc.ledger_time
        paid, taken = purse_totals(self.plan())
        return OfflineRequest(
            now=ledger_time.now(),
            lane_now=ledger_time.lane_now(),
            clock_offset=ledger_time.offset(),
            token=self._claims,
            identity_kind=self._identity.kind.value,
            token_verified=self._claims is not None,
            token_allowance_rial=self._claims.offline_allowance_rial if self._claims else None,
            wallet_allowance_rial=self._wallet.offline_allowance_rial,
            nid_hash=self._hot_hash,
            rules=svc.rules.current(),
            last_contact=svc.store.last_contact(),
            covered_by_program=self._covered_by_program(),
            household_today_by_program=today,
            outstanding_rial=svc.store.outstanding_offline_rial(),
            covered_by_purse=paid,
            taken_milli_by_purse=taken,
        )

    async def resolve(self, *, progress: Progress | None = None) -> SaleOutcome:
        """Ask the ledger again about a sale whose outcome is unknown."""
        self._expect(Stage.UNKNOWN)
        assert self.redemption_id is not None
        svc = self._svc
        entry = svc._entry(self.redemption_id)
        return self._finish(
            await svc.resolve_unknown(entry, offline=self._offline_approval, progress=progress)
        )

    async def abandon(self) -> SaleOutcome:
        """The household leaves without the goods: the sale must not be charged.

        The outbox resolves it by id later: voided if the ledger took it,
        dropped (never sent) if it did not.
        """
        self._expect(Stage.UNKNOWN)
        assert self.redemption_id is not None
        svc = self._svc
        try:
            svc.store.set_intent(
                self.redemption_id, "abandon", at=svc.clock.now(), note="abandoned at the counter"
            )
        except StoreError as exc:
            # Not written: the sale stays unknown (the ledger may have it), for `recover`.
            self.outcome = store_failed_outcome(svc._entry(self.redemption_id), exc)
            return self.outcome
        try:
            await settle_abandoned(
                svc.ledger, svc.store, svc.clock, self.redemption_id, grace=svc.abandon_grace
            )
        except (LedgerUnavailable, UnknownOutcome) as exc:
            log.info("abandoned sale %s will be settled later: %s", self.redemption_id, exc)
        entry = svc._entry(self.redemption_id)
        outcome = replace(outcome_from_entry(entry), goes_ahead=False)
        if outcome.status in (SaleStatus.UNKNOWN, SaleStatus.PENDING, SaleStatus.APPROVED_OFFLINE):
            outcome = replace(
                outcome,
                status=SaleStatus.REFUSED_OFFLINE,
                reason="abandoned",
                detail="the sale did not go ahead; the outbox will settle it",
            )
        self.outcome = outcome
        self.stage = Stage.DONE
        return outcome

    def acknowledge(self) -> None:
        """The cashier has seen the outcome (after the receipt was shown or printed).

        An answer the lane could not save (``approved_unsaved``) is written
        first; while it still cannot be, the sale stays among the interrupted
        ones, for ``recover`` (or the next start) to finish by asking the ledger.
        """
        if self.redemption_id is None:
            return
        if self.outcome is not None and self.outcome.status is SaleStatus.UNKNOWN:
            return  # not settled: it stays among the interrupted sales until it is
        svc = self._svc
        if self._unsaved is not None:
            try:
                svc.delivery.record(self.redemption_id, self._unsaved, note="answered (saved late)")
            except StoreError:
                log.warning("the answer of %s is still not saved", self.redemption_id)
                return
            self._unsaved = None
        svc.store.mark_seen(self.redemption_id)

    # ------------------------------------------------------------------ guards

    def _expect(self, stage: Stage) -> None:
        if stage is Stage.IDENTIFY and (standing := self._svc.standing) is not None:
            standing.check()  # revoked or retired: no sale, online or offline (lane_standing)
        if self.stage is not stage:
            what = f"not now: the checkout is at {self.stage.value}, not {stage.value}"
            raise CheckoutError(what, code="wrong_stage")

    def _expect_basket_open(self) -> None:
        if self.stage not in (Stage.IDENTIFY, Stage.OTP, Stage.BASKET):
            raise CheckoutError("the sale is already confirmed", code="wrong_stage")
