"""The checkout use case, shared by the Textual UI and the command line.

A :class:`CheckoutSession` is one household at the counter, a small state
machine::

    IDENTIFY ──identify()──▶ OTP ──enter_otp()──▶ BASKET ──confirm()──▶ DONE
        │                                 ▲         │  scan(), add_product(),
        └─────(token, purchase code)──────┘         │  set_quantity(), set_unit_price(),
                                                    │  remove()
                                                    │  plan()
                                                    └─ confirm() ─▶ UNKNOWN ─ resolve() ─▶ DONE
                                                                       └──── abandon() ──▶ DONE

Every public method returns a frozen value (:class:`Household`,
:class:`BasketView`, :class:`~pos_client.services.redemptions.SaleOutcome`)
or raises a :class:`CheckoutError` (bad input, wrong moment: nothing changed)
or a :class:`CheckoutRefused` (the ledger or the rules say no). Nothing here
prints or draws: the UI shows the values, the CLI turns them into JSON.

What may never happen (see ``design.md``) is enforced here:

- :meth:`CheckoutSession.confirm` writes the redemption (journal and outbox,
  one transaction, fsynced) before it is sent and before any outcome exists;
  a store that cannot write refuses the sale;
- it is sent with its id as ``Idempotency-Key``; with no answer or a 5xx the
  outcome is unknown and is resolved by ``GET /v1/redemptions/{id}``, and the
  body is sent again only after a ``404``;
- the terminal approves by itself only within :func:`decide_offline`, which
  needs a QR token verified on the terminal; a typed national ID or a
  purchase code is served online only;
- a sale interrupted by a crash shows up in :meth:`CheckoutService.interrupted`
  for the cashier to finish or cancel (void).

Imports the standard library, the domain, the ports and the project's errors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol

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
from pos_client.domain.contract import parse_wallet, wallet_to_wire
from pos_client.domain.errors import ContractError, InvalidNationalId, PosError, TokenError
from pos_client.domain.models import (
    AllocationPlan,
    BasketLine,
    Product,
    Purse,
    RuleSet,
    Unit,
    Wallet,
)
from pos_client.domain.money import line_amount, round_half_up_div
from pos_client.domain.national_id import mask_national_id, national_id_hash
from pos_client.domain.offline import (
    OfflineLimits,
    OfflineRequest,
    decide_offline,
    offline_purses,
)
from pos_client.domain.redemption import (
    Identity,
    IdentityKind,
    OtpAnswer,
    OtpChallenge,
    RedemptionAnswer,
    RedemptionDraft,
    body_with_mode,
    redemption_body,
)
from pos_client.domain.states import RedemptionStatus
from pos_client.domain.tokens import TokenClaims, verify_token
from pos_client.errors import LedgerRejected, LedgerUnavailable, StoreError, UnknownOutcome
from pos_client.ports import Clock, JournalEntry, Ledger, NewRedemption, Store
from pos_client.services.forwarder import DEFAULT_ABANDON_GRACE, deliver_one, settle_abandoned
from pos_client.services.redemptions import (
    SaleOutcome,
    basket_json,
    business_date,
    in_basket_lines,
    new_redemption_id,
    outcome_from_entry,
    record_answer,
)

__all__ = [
    "BasketItem",
    "BasketView",
    "CheckoutError",
    "CheckoutRefused",
    "CheckoutService",
    "CheckoutSession",
    "Household",
    "RulesSource",
    "Stage",
    "VoidOutcome",
]

log = logging.getLogger(__name__)

#: How many times a confirm asks the ledger by id before calling the outcome unknown.
RESOLVE_ATTEMPTS = 3
#: Longest pause between those lookups (seconds), whatever Retry-After says.
RESOLVE_MAX_PAUSE = 1.0
#: The highest unit price a line may carry (Rials).
MAX_UNIT_PRICE_RIAL = 10**13


class CheckoutError(PosError):
    """Bad input or the wrong moment for an action; nothing was changed."""

    code = "checkout_error"


class CheckoutRefused(PosError):
    """The ledger, the rules or the terminal's own checks refuse (a household or token)."""

    code = "checkout_refused"


class RulesSource(Protocol):
    """Where the checkout gets the verified rule set and the trusted signing keys."""

    def current(self) -> RuleSet | None: ...

    def trusted_keys(self) -> Mapping[str, bytes]: ...


class Stage(StrEnum):
    IDENTIFY = "identify"
    OTP = "otp"  # a verification code is needed before the sale
    BASKET = "basket"
    UNKNOWN = "unknown"  # confirmed, no final answer yet: resolve() or abandon()
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Household:
    """Who is at the counter, as the screen may show it (never the full national ID)."""

    identity_kind: str  # national_id | token | purchase_code
    masked_id: str | None
    display_name: str
    household_size: int | None
    city: str | None
    purses: tuple[Purse, ...]
    requires_otp: bool
    otp_challenge: OtpChallenge | None
    otp_entered: bool
    offline: bool  # the wallet is the one saved earlier: the ledger cannot be reached
    wallet_as_of: datetime | None
    offline_allowance_rial: int | None


@dataclass(frozen=True, slots=True)
class BasketItem:
    index: int
    line: BasketLine
    in_catalog: bool
    payers: tuple[str, ...]  # purse ids paying part of it; empty: the household pays
    covered_rial: int


@dataclass(frozen=True, slots=True)
class BasketView:
    """The basket and, once a household is known, its best split over the purses."""

    items: tuple[BasketItem, ...]
    total_rial: int
    covered_rial: int
    payable_rial: int
    waived_rial: int
    plan: AllocationPlan | None


@dataclass(frozen=True, slots=True)
class VoidOutcome:
    """``status``: ``voided``, ``pending`` (will be voided when the ledger answers), ``refused``."""

    id: str
    status: str
    reason: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Settings:
    terminal_id: str
    city: str
    limits: OfflineLimits


class CheckoutService:
    """Builds sessions and handles what outlives one: recovery after a crash and voids."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        store: Store,
        clock: Clock,
        rules: RulesSource,
        terminal_id: str,
        city: str,
        offline: OfflineLimits,
        new_id: Callable[[datetime], str] = new_redemption_id,
        abandon_grace: timedelta = DEFAULT_ABANDON_GRACE,
        resolve_max_pause: float = RESOLVE_MAX_PAUSE,
    ) -> None:
        self.abandon_grace = abandon_grace
        self.resolve_max_pause = resolve_max_pause
        self.ledger = ledger
        self.store = store
        self.clock = clock
        self.rules = rules
        self.settings = _Settings(terminal_id=terminal_id, city=city, limits=offline)
        self.new_id = new_id

    def new_session(self) -> CheckoutSession:
        return CheckoutSession(self)

    async def request_otp(self, national_id: str) -> OtpChallenge:
        """Ask the ledger to text a verification code (``otp request`` on the CLI)."""
        identity = _national_identity(national_id)
        try:
            return await self.ledger.request_otp(identity.value)
        except LedgerRejected as exc:
            raise CheckoutRefused(exc.message, code=exc.code) from None

    def acknowledge(self, redemption_id: str) -> None:
        """The cashier has seen this outcome (shown or printed): it is no longer interrupted."""
        self.store.mark_seen(redemption_id)

    # ------------------------------------------------------------------ recovery

    def interrupted(self) -> list[SaleOutcome]:
        """Sales written whose outcome the cashier never saw (a crash, a closed window)."""
        return [outcome_from_entry(e) for e in self.store.unseen()]

    async def resolve_interrupted(self, redemption_id: str) -> SaleOutcome:
        """Ask the ledger what became of an interrupted sale and record it (nothing is sent).

        ``status`` is the journal's; ``reason="not_received"`` means the ledger
        never got it (``finish`` sends it, ``cancel`` drops it).
        """
        entry = self._entry(redemption_id)
        if entry.status not in (RedemptionStatus.PENDING, RedemptionStatus.UNKNOWN_OUTCOME):
            return outcome_from_entry(entry)
        try:
            answer = await self.ledger.get_redemption(redemption_id)
        except (LedgerUnavailable, LedgerRejected) as exc:
            return replace(
                outcome_from_entry(entry),
                status="unknown",
                reason="ledger_unavailable",
                detail=exc.message,
            )
        if answer is None:
            return replace(
                outcome_from_entry(entry),
                reason="not_received",
                detail="the ledger never received it",
            )
        entry = record_answer(
            self.store, redemption_id, answer, at=self.clock.now(), note="resolved after restart"
        )
        return _outcome_with_answer(entry, answer)

    async def finish_interrupted(self, redemption_id: str) -> SaleOutcome:
        """Let an interrupted sale go ahead: resolve it, send it if the ledger never got it."""
        outcome = await self.resolve_interrupted(redemption_id)
        entry = self._entry(redemption_id)
        if outcome.reason == "not_received" and entry.status in (
            RedemptionStatus.PENDING,
            RedemptionStatus.UNKNOWN_OUTCOME,
        ):
            self.store.mark_not_received(redemption_id)
            session = CheckoutSession(self)
            outcome = await session._send(entry.id, entry.body, entry=entry, allow_offline=False)
        if outcome.status != "unknown":
            self.store.mark_seen(redemption_id)
        return outcome

    async def cancel_interrupted(self, redemption_id: str) -> SaleOutcome:
        """The interrupted sale does not go ahead: void it if the ledger took it, else drop it."""
        entry = self._entry(redemption_id)
        now = self.clock.now()
        if entry.status in (RedemptionStatus.APPROVED, RedemptionStatus.PARTIALLY_APPROVED):
            result = await self._void(entry)
            self.store.mark_seen(redemption_id)
            return replace(
                outcome_from_entry(self._entry(redemption_id)),
                reason=result.reason or entry.reason,
                detail=result.detail,
            )
        if entry.status in (
            RedemptionStatus.PENDING,
            RedemptionStatus.UNKNOWN_OUTCOME,
            RedemptionStatus.APPROVED_OFFLINE,
        ):
            self.store.set_intent(redemption_id, "abandon", at=now, note="cancelled by the cashier")
            try:
                await settle_abandoned(
                    self.ledger, self.store, self.clock, redemption_id, grace=self.abandon_grace
                )
            except (LedgerUnavailable, UnknownOutcome) as exc:
                log.info("cancelled sale %s will be settled later: %s", redemption_id, exc)
        self.store.mark_seen(redemption_id)
        return outcome_from_entry(self._entry(redemption_id))

    # ------------------------------------------------------------------ void

    async def void_last(self) -> VoidOutcome:
        """Void the terminal's last sale at the ledger (same business day only)."""
        entry = self.store.last_sale()
        if entry is None:
            raise CheckoutError("there is no sale to void", code="nothing_to_void")
        if entry.status is RedemptionStatus.APPROVED_OFFLINE:
            try:
                await deliver_one(self.ledger, self.store, self.clock, entry.id)
            except (LedgerUnavailable, UnknownOutcome) as exc:
                raise CheckoutRefused(
                    "the sale was approved offline and the ledger cannot be reached to void it",
                    code="ledger_unavailable",
                ) from exc
            entry = self._entry(entry.id)
            if entry.status not in (
                RedemptionStatus.APPROVED,
                RedemptionStatus.PARTIALLY_APPROVED,
            ):
                return VoidOutcome(id=entry.id, status="refused", reason=entry.status.value)
        return await self._void(entry)

    async def _void(self, entry: JournalEntry) -> VoidOutcome:
        now = self.clock.now()
        self.store.set_intent(entry.id, "void", at=now, note="void asked")
        try:
            await self.ledger.void_redemption(entry.id)
        except LedgerRejected as exc:
            self.store.set_status(
                entry.id,
                entry.status,
                at=self.clock.now(),
                note=f"void refused: {exc.code}",
                leave_outbox=True,
            )
            return VoidOutcome(id=entry.id, status="refused", reason=exc.code, detail=exc.message)
        except (LedgerUnavailable, UnknownOutcome) as exc:
            return VoidOutcome(
                id=entry.id, status="pending", reason="ledger_unavailable", detail=exc.message
            )
        self.store.set_status(
            entry.id,
            RedemptionStatus.VOIDED,
            at=self.clock.now(),
            note="voided",
            leave_outbox=True,
        )
        return VoidOutcome(id=entry.id, status="voided")

    def _entry(self, redemption_id: str) -> JournalEntry:
        entry = self.store.redemption(redemption_id)
        if entry is None:
            raise CheckoutError(f"no sale {redemption_id} in the journal", code="not_found")
        return entry


# --------------------------------------------------------------------------- session


def _national_identity(text: str) -> Identity:
    try:
        return Identity.national_id(text)
    except InvalidNationalId as exc:
        raise CheckoutError(
            f"the national ID is not valid ({exc.reason})", code=exc.reason
        ) from None


def _outcome_with_answer(entry: JournalEntry, answer: RedemptionAnswer) -> SaleOutcome:
    outcome = outcome_from_entry(entry)
    return replace(
        outcome,
        allocations=in_basket_lines(entry, answer.allocations),
        purses_after=answer.purses_after,
        approved_at=answer.approved_at,
        receipt_code=answer.receipt_code,
    )


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
        self._challenge: OtpChallenge | None = None
        self._otp: OtpAnswer | None = None
        self._lines: list[BasketLine] = []
        self._in_catalog: list[bool] = []
        self.redemption_id: str | None = None
        self.outcome: SaleOutcome | None = None

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
        identity = _national_identity(text)
        self._nid_hash = self._svc.store.household_key(identity.value)
        self._hot_hash = national_id_hash(identity.value)
        self._masked = mask_national_id(identity.value)
        return await self._identify_online(identity, what="a typed national ID")

    async def identify_token(self, text: str) -> Household:
        """A QR token: its signature, expiry and single use are checked here, before any request."""
        self._expect(Stage.IDENTIFY)
        svc = self._svc
        now = svc.clock.now()
        try:
            claims = verify_token(text.strip(), keys=svc.rules.trusted_keys(), now=now)
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
            wallet = await svc.ledger.inquire_wallet(identity)
        except LedgerRejected as exc:
            raise CheckoutRefused(exc.message, code=exc.code) from None
        except LedgerUnavailable as exc:
            cached = svc.store.cached_wallet(self._nid_hash)
            limit = timedelta(hours=svc.settings.limits.max_hours_since_contact)
            if cached is None or now - cached[1] > limit or not svc.settings.limits.enabled:
                raise CheckoutRefused(
                    "the ledger cannot be reached and this household's balance is not known here",
                    code="ledger_unavailable",
                ) from exc
            try:
                wallet = parse_wallet(json.loads(cached[0]))
            except (ContractError, ValueError):
                raise CheckoutRefused(
                    "the ledger cannot be reached", code="ledger_unavailable"
                ) from exc
            self._identity = identity
            self._set_wallet(wallet, offline=True, as_of=cached[1])
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
            wallet = await self._svc.ledger.inquire_wallet(identity)
        except LedgerUnavailable as exc:
            raise CheckoutRefused(
                f"the ledger cannot be reached; {what} can only be served online",
                code="ledger_unavailable",
            ) from exc
        except LedgerRejected as exc:
            raise CheckoutRefused(exc.message, code=exc.code) from None
        return self._accept_wallet(identity, wallet)

    def _accept_wallet(self, identity: Identity, wallet: Wallet) -> Household:
        self._identity = identity
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
            requires_otp=w.requires_otp,
            otp_challenge=self._challenge,
            otp_entered=self._otp is not None,
            offline=self._offline_wallet,
            wallet_as_of=self._wallet_as_of,
            offline_allowance_rial=w.offline_allowance_rial,
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
        if type(quantity_milli) is not int or not 0 < quantity_milli <= 10**9:
            raise CheckoutError("the quantity must be more than zero", code="invalid_quantity")
        if unit is Unit.PIECE and quantity_milli % 1000:
            raise CheckoutError("pieces are sold whole", code="invalid_quantity")
        if unit_price_rial is None and line_price_rial is not None:
            unit_price_rial = round_half_up_div(line_price_rial * 1000, quantity_milli)
        if unit_price_rial is None:
            unit_price_rial = svc.store.price(gtin)
        if unit_price_rial is None:
            raise CheckoutError(
                f"no price for {gtin}: type it or add it to the shop's price list",
                code="price_missing",
            )
        if type(unit_price_rial) is not int or not 0 <= unit_price_rial <= MAX_UNIT_PRICE_RIAL:
            raise CheckoutError("the price must be whole Rials", code="invalid_price")
        self._lines.append(_line(gtin, quantity_milli, unit_price_rial, product))
        self._in_catalog.append(product is not None)
        return self.basket()

    def set_quantity(self, index: int, quantity_milli: int) -> BasketView:
        self._expect_basket_open()
        line = self._line_at(index)
        if type(quantity_milli) is not int or not 0 < quantity_milli <= 10**9:
            raise CheckoutError("the quantity must be more than zero", code="invalid_quantity")
        if line.unit is Unit.PIECE and quantity_milli % 1000:
            raise CheckoutError("pieces are sold whole", code="invalid_quantity")
        self._lines[index] = replace(line, quantity_milli=quantity_milli)
        return self.basket()

    def set_unit_price(self, index: int, unit_price_rial: int) -> BasketView:
        """Change a line's unit price in place (a shelf price typed by the cashier).

        The line keeps its place in the basket; the split over the purses is
        planned again. A price that is not a whole, positive number of Rials
        raises :class:`CheckoutError` and changes nothing.
        """
        self._expect_basket_open()
        line = self._line_at(index)
        if type(unit_price_rial) is not int or not 0 < unit_price_rial <= MAX_UNIT_PRICE_RIAL:
            raise CheckoutError(
                "the price must be a whole number of Rials, more than zero", code="invalid_price"
            )
        self._lines[index] = replace(line, unit_price_rial=unit_price_rial)
        return self.basket()

    def remove(self, index: int) -> BasketView:
        self._expect_basket_open()
        self._line_at(index)
        del self._lines[index]
        del self._in_catalog[index]
        return self.basket()

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

    async def confirm(self) -> SaleOutcome:
        """Write the sale to disk, then send it; return what the cashier must be told.

        Raises ``StoreError`` (nothing sent) when the store cannot write.
        """
        self._expect(Stage.BASKET)
        svc = self._svc
        assert self._identity is not None and self._wallet is not None
        if self._wallet.requires_otp and self._otp is None:
            raise CheckoutError("the household's verification code is needed", code="otp_required")
        if not self._lines:
            raise CheckoutError("the basket is empty", code="empty_basket")
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
                business_date=business_date(now),
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
        outcome = await self._send(redemption_id, body, entry=entry, allow_offline=True)
        return self._finish(outcome)

    def _finish(self, outcome: SaleOutcome) -> SaleOutcome:
        outcome = replace(outcome, purses_before=self._wallet.purses if self._wallet else ())
        self.outcome = outcome
        self.stage = Stage.UNKNOWN if outcome.status == "unknown" else Stage.DONE
        # The sale is over: checkpoint the store's WAL now, just after this outcome is handed
        # back, rather than inside a later sale's commit (see SqliteStore.checkpoint).
        asyncio.get_running_loop().call_soon(self._svc.store.checkpoint)
        return outcome

    async def _send(
        self, redemption_id: str, body: bytes, *, entry: JournalEntry, allow_offline: bool
    ) -> SaleOutcome:
        """Send a written redemption and record what came of it (the one send path)."""
        svc = self._svc
        sends = 0
        while True:
            sends += 1
            try:
                answer = await svc.ledger.submit_redemption(redemption_id, body)
            except LedgerRejected as exc:
                return self._rejected(redemption_id, exc)
            except LedgerUnavailable as exc:
                # Never reached the ledger, or not processed (429): nothing is there.
                if (
                    exc.retry_after is not None
                    and exc.retry_after <= svc.resolve_max_pause
                    and sends < 2
                ):
                    await svc.clock.sleep(exc.retry_after + random.uniform(0, 0.25))
                    continue
                return await self._cannot_reach(
                    redemption_id, body, exc, sent="never", allow_offline=allow_offline
                )
            except UnknownOutcome as exc:
                svc.store.set_status(
                    redemption_id,
                    RedemptionStatus.UNKNOWN_OUTCOME,
                    at=svc.clock.now(),
                    note=f"no final answer: {exc.message}",
                )
                resolved = await self._lookup(redemption_id, retry_after=exc.retry_after)
                if resolved == "not_received" and sends < 2:
                    svc.store.set_status(
                        redemption_id,
                        RedemptionStatus.PENDING,
                        at=svc.clock.now(),
                        note="the ledger never received it: sending again",
                    )
                    continue
                if not isinstance(resolved, RedemptionAnswer):
                    return await self._cannot_reach(
                        redemption_id,
                        body,
                        exc,
                        sent="not_received" if resolved == "not_received" else "maybe",
                        allow_offline=allow_offline,
                    )
                answer = resolved
            entry = record_answer(
                svc.store, redemption_id, answer, at=svc.clock.now(), note="answered"
            )
            return _outcome_with_answer(entry, answer)

    async def _lookup(
        self, redemption_id: str, *, retry_after: float | None
    ) -> RedemptionAnswer | str:
        """Resolve an unknown outcome by id: the answer, ``"not_received"`` or ``"unknown"``."""
        svc = self._svc
        most = svc.resolve_max_pause
        pause = min(retry_after or 0.2, most)
        for attempt in range(RESOLVE_ATTEMPTS):
            if attempt:
                await svc.clock.sleep(pause)
                pause = min(pause * 2, most)
            try:
                answer = await svc.ledger.get_redemption(redemption_id)
            except LedgerUnavailable as exc:
                if exc.retry_after:
                    pause = min(exc.retry_after, most)
                continue
            except LedgerRejected:
                continue
            return "not_received" if answer is None else answer
        return "unknown"

    def _rejected(self, redemption_id: str, exc: LedgerRejected) -> SaleOutcome:
        """A problem document: the ledger refused the request itself and changed nothing."""
        svc = self._svc
        problem = None
        if exc.status in (400, 409):
            problem = ("rejected", 0, f"{exc.status} {exc.code}: {exc.detail}")
        entry = svc.store.set_status(
            redemption_id,
            RedemptionStatus.DECLINED,
            at=svc.clock.now(),
            reason=exc.code,
            note=f"refused by the ledger ({exc.status})",
            leave_outbox=True,
            problem=problem,
            release_token=True,
        )
        return replace(outcome_from_entry(entry), detail=exc.message)

    async def _cannot_reach(
        self,
        redemption_id: str,
        body: bytes,
        exc: Exception,
        *,
        sent: Literal["never", "not_received", "maybe"],
        allow_offline: bool,
    ) -> SaleOutcome:
        """No final answer: approve offline within the limits, else say so plainly.

        ``sent``: ``never`` (the request never reached the ledger), ``not_received``
        (the ledger says it has no such id, though a late copy might still
        arrive), ``maybe`` (it may have committed it). Only when the ledger
        surely has nothing may the stored body become an offline one.
        """
        svc = self._svc
        now = svc.clock.now()
        decision = (
            decide_offline(self._offline_request(now), svc.settings.limits)
            if allow_offline
            else None
        )
        if decision is not None and decision.allowed:
            entry = svc.store.approve_offline(
                redemption_id,
                at=now,
                body=None if sent == "maybe" else body_with_mode(body, "offline"),
                nid_hash=self._nid_hash,
                by_program=self._covered_by_program(),
                business_date=business_date(now),
                note="approved offline" + (" (outcome unknown)" if sent == "maybe" else ""),
            )
            if sent == "maybe":
                svc.store.mark_sent([redemption_id], at=now)
            return outcome_from_entry(entry)
        reason = decision.reason if decision is not None else "ledger_unavailable"
        detail = decision.detail if decision is not None else str(exc)
        if sent == "never":
            entry = svc.store.set_status(
                redemption_id,
                RedemptionStatus.DECLINED,
                at=now,
                reason=f"refused_offline:{reason}",
                note="the ledger cannot be reached",
                leave_outbox=True,
                release_token=True,
            )
            return replace(
                outcome_from_entry(entry), status="refused_offline", reason=reason, detail=detail
            )
        current = svc.store.redemption(redemption_id)
        assert current is not None
        if sent == "not_received":
            # Not sent again: the outbox checks later that no late copy was taken.
            svc.store.set_intent(
                redemption_id, "abandon", at=now, note="refused: the ledger cannot be reached"
            )
            return replace(
                outcome_from_entry(current),
                status="refused_offline",
                goes_ahead=False,
                reason=reason,
                detail=detail,
            )
        return replace(
            outcome_from_entry(current),
            status="unknown",
            goes_ahead=False,
            reason=reason,
            detail=f"the outcome is not known yet; {detail}",
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
            svc.store.offline_totals(business_date=business_date(now), nid_hash=self._nid_hash)
            if self._nid_hash
            else {}
        )
        return OfflineRequest(
            now=now,
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
        )

    async def resolve(self) -> SaleOutcome:
        """Ask the ledger again about a sale whose outcome is unknown."""
        self._expect(Stage.UNKNOWN)
        assert self.redemption_id is not None
        svc = self._svc
        resolved = await self._lookup(self.redemption_id, retry_after=None)
        entry = svc.store.redemption(self.redemption_id)
        assert entry is not None
        if isinstance(resolved, RedemptionAnswer):
            entry = record_answer(
                svc.store, self.redemption_id, resolved, at=svc.clock.now(), note="resolved"
            )
            return self._finish(_outcome_with_answer(entry, resolved))
        if resolved == "not_received":
            svc.store.set_status(
                self.redemption_id,
                RedemptionStatus.PENDING,
                at=svc.clock.now(),
                note="the ledger never received it: sending again",
            )
            return self._finish(
                await self._send(self.redemption_id, entry.body, entry=entry, allow_offline=True)
            )
        return self._finish(
            await self._cannot_reach(
                self.redemption_id,
                entry.body,
                UnknownOutcome("no answer"),
                sent="maybe",
                allow_offline=True,
            )
        )

    async def abandon(self) -> SaleOutcome:
        """The household leaves without the goods: the sale must not be charged.

        The outbox resolves it by id later: voided if the ledger took it,
        dropped (never sent) if it did not.
        """
        self._expect(Stage.UNKNOWN)
        assert self.redemption_id is not None
        svc = self._svc
        svc.store.set_intent(
            self.redemption_id, "abandon", at=svc.clock.now(), note="abandoned at the counter"
        )
        try:
            await settle_abandoned(
                svc.ledger, svc.store, svc.clock, self.redemption_id, grace=svc.abandon_grace
            )
        except (LedgerUnavailable, UnknownOutcome) as exc:
            log.info("abandoned sale %s will be settled later: %s", self.redemption_id, exc)
        entry = svc.store.redemption(self.redemption_id)
        assert entry is not None
        outcome = replace(outcome_from_entry(entry), goes_ahead=False)
        if outcome.status in ("unknown", "pending", "approved_offline"):
            outcome = replace(
                outcome,
                status="refused_offline",
                reason="abandoned",
                detail="the sale did not go ahead; the outbox will settle it",
            )
        self.outcome = outcome
        self.stage = Stage.DONE
        return outcome

    def acknowledge(self) -> None:
        """The cashier has seen the outcome (after the receipt was shown or printed)."""
        if self.redemption_id is not None:
            self._svc.store.mark_seen(self.redemption_id)

    # ------------------------------------------------------------------ guards

    def _expect(self, stage: Stage) -> None:
        if self.stage is not stage:
            raise CheckoutError(
                f"not now: the checkout is at {self.stage.value}, not {stage.value}",
                code="wrong_stage",
            )

    def _expect_basket_open(self) -> None:
        if self.stage not in (Stage.IDENTIFY, Stage.OTP, Stage.BASKET):
            raise CheckoutError("the sale is already confirmed", code="wrong_stage")


def _line(
    gtin: str, quantity_milli: int, unit_price_rial: int, product: Product | None
) -> BasketLine:
    if product is None:
        return BasketLine(gtin=gtin, quantity_milli=quantity_milli, unit_price_rial=unit_price_rial)
    return BasketLine(
        gtin=gtin,
        quantity_milli=quantity_milli,
        unit_price_rial=unit_price_rial,
        category=product.category or None,
        groups=product.groups,
        max_unit_price_rial=product.max_unit_price_rial,
        unit=product.unit,
        name=product.name_fa,
    )
