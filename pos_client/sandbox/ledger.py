"""The sandbox ledger's rules: what each contract endpoint does to the books.

One method per endpoint, each a single transaction, each returning the exact
response bytes (or raising a :class:`~.problems.Problem`). The HTTP layer only
reads requests and writes these bytes.

Redemption, in one ``BEGIN IMMEDIATE`` transaction:

1. the id: seen before with the same body, answer the stored bytes (200); with
   another body, ``409 idempotency_conflict``;
2. who: national ID, token or purchase code (404/422 problems: nothing kept);
3. declines kept for good under the id (201, ``status: declined``): the hot
   list (``beneficiary_blocked``), an unknown rule set, or for an offline
   redemption one that had expired when it was made (``rules_outdated``), an
   offline redemption the terminal should not have approved
   (``offline_not_allowed``, see below), a used token or purchase code
   (``token_used``), a national ID without a right OTP (``otp_required`` /
   ``otp_invalid``);
4. the allocations, checked against the purses as they stand by
   :func:`pos_client.domain.allocation.settle_allocations` (the one rule client
   and ledger share); partial approval only for ``mode: offline``;
5. purses, token, code and OTP updated, response stored, commit.

An offline redemption is checked again for what the terminal should have
checked before approving it: the household named by a QR token (never a
typed national ID or a purchase code), valid at ``created_at``; ``created_at``
at most 72 hours before it arrives and at most 5 minutes after the ledger's
clock; every programme it asks to pay allows offline approval in the rule set
it names, within that rule set's offline limits per transaction and per
household and business day (of ``created_at``: what this terminal approved
offline for the household that day, since that is all a terminal can count).
The amounts are what the terminal approved (the allocations as requested), not
what the purses could still pay. The token's own ``off`` allowance is left to
the terminal: a sale over it may still be partially approved.

Guessing is throttled (:mod:`.throttle`): a purchase code or an OTP answer is
an attempt of the terminal; after 10 failed ones within a minute the next is
``429 too_many_attempts``, and so is a new OTP challenge.

Imports the standard library, the pure domain and the sandbox's modules.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from pos_client.domain.allocation import settle_allocations
from pos_client.domain.contract import dump_json, parse_rule_set, purse_to_wire
from pos_client.domain.errors import ContractError
from pos_client.domain.models import Allocation, BasketLine, Purse, RuleSet, Unit
from pos_client.domain.money import line_amount

from . import auth, terminal_tokens
from .books import Effect, RedemptionRow, RuleSetRow, TerminalRow, Tx
from .clock import business_date, to_rfc3339
from .parts import SandboxParts
from .problems import Problem, invalid, problem
from .requests import Identity, LineRequest, RedemptionRequest, item_id, parse_redemption
from .throttle import GuessThrottle
from .wallets import (
    HeldPurse,
    Resolved,
    challenge_document,
    check_otp,
    create_challenge,
    load_purses,
    resolve,
    save_purses,
    strict_national_id,
    visible,
    wallet_document,
)

_RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
#: How old an offline redemption may be when it arrives, and how far ahead of the ledger's clock.
OFFLINE_MAX_AGE = timedelta(hours=72)
OFFLINE_MAX_AHEAD = timedelta(minutes=5)
#: Parsed rule sets kept (the current one and those redemptions name).
_RULES_CACHE_SIZE = 16


def _receipt_code() -> str:
    chars = "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


@dataclass(frozen=True, slots=True)
class Answer:
    """A response: status and the exact body bytes."""

    status: int
    body: bytes


@dataclass(kw_only=True, eq=False, repr=False)
class Ledger(SandboxParts):
    """The contract's endpoints over the books (thread-safe; each call is one transaction)."""

    throttle: GuessThrottle = field(default_factory=GuessThrottle)
    _rules_cache: dict[str, RuleSet] = field(default_factory=dict, init=False)

    # ------------------------------------------------------------------ auth

    def authenticate(self, token_sha256: str | None) -> TerminalRow:
        """The terminal of a bearer token (see :mod:`.terminal_tokens`: grace, revocation)."""
        now = self.clock.now()
        return auth.terminal(self.books, token_sha256, now)

    def rotate_token(self, token_sha256: str | None) -> Answer:
        """``POST /v1/terminal-tokens/rotate``: a new token; the presented one ends its grace."""
        now = self.clock.now()
        terminal = auth.terminal(self.books, token_sha256, now)
        assert token_sha256 is not None  # refused above
        with self.books.write() as tx:
            rotation = terminal_tokens.rotate(tx, token_sha256, terminal, now=now)
        body = {
            "token": rotation.token,
            "previous_valid_until": to_rfc3339(rotation.previous_valid_until),
        }
        return Answer(200, dump_json(body))

    # ------------------------------------------------------------------ rules

    def rules(self) -> tuple[bytes, str, str]:
        """``(body, signature header, version)`` of the current rule set."""
        now = self.clock.now()
        with self.books.read() as tx:
            due = self.rulesets.is_due(tx, now=now)
            latest = tx.latest_rule_set()
        if due or latest is None:
            with self.books.write() as tx:
                latest = self.rulesets.current(tx, now=now)
        return latest.body, latest.signature, latest.version

    def _parsed_rules(self, row: RuleSetRow) -> RuleSet:
        rules = self._rules_cache.get(row.version)
        if rules is None:
            rules = parse_rule_set(json.loads(row.body))
            cache = dict(self._rules_cache)
            while len(cache) >= _RULES_CACHE_SIZE:
                del cache[next(iter(cache))]  # the oldest parsed goes first
            cache[row.version] = rules
            self._rules_cache = cache
        return rules

    # ------------------------------------------------------------------ wallet

    def inquire(self, terminal: TerminalRow, identity: Identity) -> Answer:
        now = self.clock.now()
        with self.books.read() as tx:
            who = resolve(
                tx,
                identity,
                keys=self.signer.trusted_keys(),
                now=now,
                throttle=self.throttle,
                terminal_id=terminal.id,
            )
            if who.household.blocked:
                raise problem("beneficiary_blocked", "the household is on the hot list")
            if who.used:
                raise problem("token_used", f"the {who.by.replace('_', ' ')} was already used")
            purses = visible(load_purses(tx, who.household.ref, now=now))
            document = wallet_document(who.household, purses, requires_otp=who.by == "national_id")
        return Answer(200, dump_json(document))

    def otp_challenge(self, terminal: TerminalRow, national_id: str) -> Answer:
        national_id = strict_national_id(national_id)
        now = self.clock.now()
        self.throttle.check(terminal.id, now)  # no new codes for a terminal that guesses
        with self.books.write() as tx:
            household = tx.household_by_national_id(national_id)
            if household is None:
                raise problem("beneficiary_not_found", "no household has that national ID")
            if household.blocked:
                raise problem("beneficiary_blocked", "the household is on the hot list")
            row = create_challenge(tx, household, terminal, now=now)
        return Answer(202, dump_json(challenge_document(row)))

    # ------------------------------------------------------------------ redemptions

    def redeem(self, terminal: TerminalRow, request: RedemptionRequest) -> Answer:
        if request.terminal_id != terminal.id:
            raise problem("terminal_mismatch", "terminal_id is not the token's terminal")
        with self.books.write() as tx:
            return self._redeem_in(tx, terminal, request)

    def _redeem_in(self, tx: Tx, terminal: TerminalRow, request: RedemptionRequest) -> Answer:
        """One redemption within the write transaction ``tx`` (a problem raised: undo it)."""
        if request.terminal_id != terminal.id:
            raise problem("terminal_mismatch", "terminal_id is not the token's terminal")
        stored = tx.redemption(request.id)
        if stored is not None:
            if stored.body_sha256 != request.body_sha256:
                raise problem(
                    "idempotency_conflict",
                    "this redemption id was used before with a different body",
                )
            return Answer(200, stored.response)
        now = self.clock.now()
        return Answer(201, self._record(tx, terminal, request, now=now))

    def _record(
        self, tx: Tx, terminal: TerminalRow, request: RedemptionRequest, *, now: datetime
    ) -> bytes:
        offline = request.mode == "offline"
        token_time = min(now, request.created_at) if offline else now
        who = resolve(
            tx,
            request.identity,
            keys=self.signer.trusted_keys(),
            now=now,
            token_time=token_time,
            lenient_token_time=offline,  # out of its time then: offline_not_allowed
            throttle=self.throttle,
            terminal_id=terminal.id,
        )
        held = load_purses(tx, who.household.ref, now=now)
        rules = self._parsed_rules(self.rulesets.current(tx, now=now))
        requested = _requested_by_program(request, held)
        reason = self._decline_reason(tx, terminal, request, who, requested, now=now)
        if reason is not None:
            return self._store_decline(tx, terminal, request, who, held, reason, now=now)

        lines = [self._basket_line(tx, line) for line in request.lines]
        allocations = [
            Allocation(
                line=a.line,
                purse_id=a.purse_id,
                amount_rial=a.amount_rial,
                quantity_milli=a.quantity_milli,
            )
            for a in request.allocations
        ]
        try:
            settlement = settle_allocations(
                lines,
                allocations,
                visible(held),
                rules=rules,
                city=terminal.city,
                now=now,
                partial=offline,
            )
        except ContractError as exc:
            raise invalid(exc.message) from None

        status = settlement.status
        after = {p.id: p for p in settlement.purses_after}
        effects: list[Effect] = []
        updated: list[HeldPurse] = []
        programs = {h.purse.id: h.purse.program for h in held}
        if status in ("approved", "partially_approved"):
            for h in held:
                new = after.get(h.purse.id)
                if new is None or new == h.purse:
                    updated.append(h)
                    continue
                effects.extend(_effects(h.purse, new))
                updated.append(HeldPurse(row=h.row, purse=new, carried_over=h.carried_over))
            self._use_identity(tx, request, who, now=now)
        else:
            updated = list(held)
        save_purses(tx, updated)  # also keeps any carry-over that fell due

        by_program: dict[str, int] = {}
        if status != "declined":
            for applied in settlement.applied:
                if applied.amount_rial > 0:
                    program = programs.get(applied.purse_id, "")
                    by_program[program] = by_program.get(program, 0) + applied.amount_rial
        covered = settlement.covered_rial if status != "declined" else 0
        document = {
            "id": request.id,
            "status": status,
            "reason": settlement.reason,
            "approved_at": to_rfc3339(now) if status != "declined" else None,
            "receipt_code": _receipt_code() if status != "declined" else None,
            "covered_rial": covered,
            "declined_rial": settlement.declined_rial,
            "allocations": [_applied_wire(a) for a in settlement.applied],
            "purses_after": [purse_to_wire(p) for p in visible(updated)],
        }
        body = dump_json(document)
        self._store(tx, terminal, request, who, status, covered, body, by_program, effects, now=now)
        if offline and status != "declined":
            tx.add_offline_approval(
                request.id,
                terminal_id=terminal.id,
                household_ref=who.household.ref,
                sale_date=business_date(request.created_at),
                by_program=requested,
            )
        return body

    def _decline_reason(
        self,
        tx: Tx,
        terminal: TerminalRow,
        request: RedemptionRequest,
        who: Resolved,
        requested: dict[str, int],
        *,
        now: datetime,
    ) -> str | None:
        if who.household.blocked:
            return "beneficiary_blocked"
        named = tx.rule_set(request.rules_version)
        if named is None:
            return "rules_outdated"
        if request.mode == "offline" and request.created_at >= named.valid_until:
            return "rules_outdated"
        if request.mode == "offline":
            breach = self._offline_breach(tx, terminal, request, who, named, requested, now=now)
            if breach is not None:
                return "offline_not_allowed"
        if who.used:
            return "token_used"
        if who.by == "national_id":
            return check_otp(
                tx,
                challenge_id=request.otp.challenge_id if request.otp else None,
                code=request.otp.code if request.otp else None,
                household=who.household,
                terminal=terminal,
                now=now,
                throttle=self.throttle,
            )
        return None

    def _offline_breach(
        self,
        tx: Tx,
        terminal: TerminalRow,
        request: RedemptionRequest,
        who: Resolved,
        named: RuleSetRow,
        requested: dict[str, int],
        *,
        now: datetime,
    ) -> str | None:
        """What the terminal should not have approved offline (``None``: nothing)."""
        if who.by != "token" or who.claims is None:
            return "only a QR token can be served offline"
        if not who.token_in_time:
            return "the token was not valid when the sale was made"
        if request.created_at < now - OFFLINE_MAX_AGE:
            return "the sale was made more than 72 hours before it arrived"
        if request.created_at > now + OFFLINE_MAX_AHEAD:
            return "the sale was made more than 5 minutes after the ledger's time"
        rules = self._parsed_rules(named)
        sale_date = business_date(request.created_at)
        for program_id, amount in sorted(requested.items()):
            if amount <= 0:
                continue
            program = rules.program(program_id)
            if program is None or not program.offline.allowed:
                return f"programme {program_id} allows no offline approval"
            if amount > program.offline.max_rial_per_transaction:
                return f"over programme {program_id}'s offline limit per transaction"
            before = tx.offline_approved(
                terminal_id=terminal.id,
                household_ref=who.household.ref,
                sale_date=sale_date,
                program=program_id,
            )
            if before + amount > program.offline.max_rial_per_beneficiary_per_day:
                return f"over programme {program_id}'s offline limit per household per day"
        return None

    def _basket_line(self, tx: Tx, line: LineRequest) -> BasketLine:
        if line_amount(line.quantity_milli, line.unit_price_rial) != line.amount_rial:
            raise invalid(
                f"line {line.gtin}: amount_rial is not round_half_up(quantity_milli *"
                " unit_price_rial / 1000)"
            )
        product = self.catalog.lookup(tx, line.gtin)
        if product is not None and product.unit is Unit.PIECE and line.quantity_milli % 1000:
            raise invalid(f"line {line.gtin}: a product sold by the piece is sold in whole pieces")
        if product is None:
            return BasketLine(
                gtin=line.gtin,
                quantity_milli=line.quantity_milli,
                unit_price_rial=line.unit_price_rial,
            )
        return BasketLine(
            gtin=line.gtin,
            quantity_milli=line.quantity_milli,
            unit_price_rial=line.unit_price_rial,
            category=product.category,
            groups=product.groups,
            max_unit_price_rial=product.max_unit_price_rial,
            unit=product.unit,
            name=product.name_fa,
        )

    def _use_identity(
        self, tx: Tx, request: RedemptionRequest, who: Resolved, *, now: datetime
    ) -> None:
        if who.claims is not None:
            tx.use_token(
                who.claims.jti, household_ref=who.household.ref, redemption_id=request.id, at=now
            )
        if who.purchase_code is not None:
            tx.use_purchase_code(who.purchase_code, redemption_id=request.id, at=now)
        if who.by == "national_id" and request.otp is not None:
            tx.use_otp(request.otp.challenge_id, redemption_id=request.id)

    def _store_decline(
        self,
        tx: Tx,
        terminal: TerminalRow,
        request: RedemptionRequest,
        who: Resolved,
        held: Sequence[HeldPurse],
        reason: str,
        *,
        now: datetime,
    ) -> bytes:
        requested = sum(a.amount_rial for a in request.allocations)
        document = {
            "id": request.id,
            "status": "declined",
            "reason": reason,
            "approved_at": None,
            "receipt_code": None,
            "covered_rial": 0,
            "declined_rial": requested,
            "allocations": [
                {
                    "line": a.line,
                    "purse_id": a.purse_id,
                    "amount_rial": 0,
                    "quantity_milli": 0,
                    "requested_amount_rial": a.amount_rial,
                    "requested_quantity_milli": a.quantity_milli,
                    "status": "refused",
                    "reason": reason,
                }
                for a in request.allocations
            ],
            "purses_after": [purse_to_wire(p) for p in visible(held)],
        }
        body = dump_json(document)
        self._store(tx, terminal, request, who, "declined", 0, body, {}, [], now=now)
        return body

    def _store(
        self,
        tx: Tx,
        terminal: TerminalRow,
        request: RedemptionRequest,
        who: Resolved,
        status: str,
        covered: int,
        body: bytes,
        by_program: dict[str, int],
        effects: Sequence[Effect],
        *,
        now: datetime,
    ) -> None:
        tx.add_redemption(
            RedemptionRow(
                id=request.id,
                terminal_id=terminal.id,
                body_sha256=request.body_sha256,
                mode=request.mode,
                status=status,
                household_ref=who.household.ref,
                recorded_at=now,
                business_date=business_date(now),
                covered_rial=covered,
                response=body,
                voided_at=None,
                void_response=None,
            ),
            by_program=by_program,
            effects=effects,
        )

    def redemption(self, terminal: TerminalRow, redemption_id: str) -> Answer:
        with self.books.read() as tx:
            stored = tx.redemption(redemption_id)
        if stored is None or stored.terminal_id != terminal.id:
            raise _no_such_redemption()
        return Answer(200, stored.response)

    def batch(self, terminal: TerminalRow, items: Sequence[Any]) -> Answer:
        """Each item exactly as if sent alone, in order, all in one write transaction.

        Each item runs in a savepoint of its own: one refused undoes only its
        own changes, as its own transaction would have, and each item sees what
        the items before it changed, as it would have after their commits. One
        commit (one sync of the books) for the whole batch instead of one an
        item; the answers and the books are those of the items sent one by one.
        Should the commit itself fail, nothing of the batch is on the books and
        the request fails (the sender sends it again, each item idempotent).

        An item answered 429 or 503 (e.g. ``too_many_attempts`` for a purchase
        code while the terminal is throttled) carries the ``Retry-After`` it
        would have had alone, in the item's ``headers`` member.
        """
        results = []
        with self.books.write() as tx:
            for item in items:
                results.append(self._batch_item(tx, terminal, item))
        return Answer(200, dump_json({"results": results}))

    def _batch_item(self, tx: Tx, terminal: TerminalRow, item: Any) -> dict[str, Any]:
        headers: dict[str, str] = {}
        try:
            request = parse_redemption(item, "redemption")
            with self.books.item(tx):
                answer = self._redeem_in(tx, terminal, request)
            status, body = answer.status, json.loads(answer.body)
        except Problem as exc:
            status, body = exc.status, exc.document()
            if status in (429, 503) and "Retry-After" in exc.headers:
                headers["Retry-After"] = exc.headers["Retry-After"]
        result: dict[str, Any] = {"id": item_id(item), "status_code": status}
        if headers:
            result["headers"] = headers
        result["body"] = body
        return result

    # ------------------------------------------------------------------ void

    def void(self, terminal: TerminalRow, redemption_id: str) -> Answer:
        now = self.clock.now()
        with self.books.write() as tx:
            stored = tx.redemption(redemption_id)
            if stored is None or stored.terminal_id != terminal.id:
                raise _no_such_redemption()
            if stored.void_response is not None:
                return Answer(200, stored.void_response)
            if stored.status not in ("approved", "partially_approved"):
                raise problem("not_voidable", f"a {stored.status} redemption took nothing")
            if stored.business_date != business_date(now):
                raise problem(
                    "not_voidable", "a redemption can be voided only on its business date"
                )
            assert stored.household_ref is not None
            held = load_purses(tx, stored.household_ref, now=now)
            held = _give_back(held, tx.effects_of(stored.id))
            save_purses(tx, held)
            body = dump_json(
                {
                    "id": stored.id,
                    "status": "voided",
                    "purses_after": [purse_to_wire(p) for p in visible(held)],
                }
            )
            tx.void_redemption(stored.id, at=now, response=body)
        return Answer(200, body)

    # ------------------------------------------------------------------ settlement

    def settlement(self, terminal: TerminalRow, day: date) -> Answer:
        with self.books.read() as tx:
            rows = tx.settlement_rows(terminal.id, day)
        by_program: dict[str, dict[str, int]] = {}
        for _, _, programs in rows:
            for program, covered in programs.items():
                entry = by_program.setdefault(program, {"count": 0, "covered_rial": 0})
                entry["count"] += 1
                entry["covered_rial"] += covered
        document = {
            "terminal_id": terminal.id,
            "business_date": day.isoformat(),
            "count": len(rows),
            "covered_rial": sum(covered for _, covered, _ in rows),
            "by_program": dict(sorted(by_program.items())),
            "redemption_ids": [rid for rid, _, _ in rows],
        }
        return Answer(200, dump_json(document))


def _requested_by_program(request: RedemptionRequest, held: Sequence[HeldPurse]) -> dict[str, int]:
    """What the request asks each programme's purses to pay (unknown purses left out)."""
    program_of = {h.purse.id: h.purse.program for h in held}
    totals: dict[str, int] = {}
    for a in request.allocations:
        program = program_of.get(a.purse_id)
        if program is not None:
            totals[program] = totals.get(program, 0) + a.amount_rial
    return totals


def _no_such_redemption() -> Problem:
    """``404 not_found``, the same bytes whether the id is unknown or another terminal's.

    The answer says nothing about the id, so that no terminal can learn from it
    whether another terminal's redemption exists.
    """
    return problem("not_found", "the ledger has no redemption with that id for this terminal")


def _applied_wire(applied: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "line": applied.line,
        "purse_id": applied.purse_id,
        "amount_rial": applied.amount_rial,
        "quantity_milli": applied.quantity_milli,
        "requested_amount_rial": applied.requested_amount_rial,
        "requested_quantity_milli": applied.requested_quantity_milli,
        "status": applied.status,
    }
    if applied.status != "applied" and applied.reason:
        wire["reason"] = applied.reason
    return wire


def _effects(before: Purse, after: Purse) -> list[Effect]:
    """What a redemption took from one purse, field by field."""
    effects = []
    if after.balance_rial != before.balance_rial:
        effects.append(Effect(before.id, "balance", before.balance_rial - after.balance_rial))
    for category, limit in before.category_limits_rial.items():
        now_limit = after.category_limits_rial.get(category, limit)
        if now_limit != limit:
            effects.append(Effect(before.id, f"limit:{category}", limit - now_limit))
    remaining = {e.group: e.remaining_milli for e in after.entitlements}
    for entitlement in before.entitlements:
        left = remaining.get(entitlement.group, entitlement.remaining_milli)
        if left != entitlement.remaining_milli:
            effects.append(
                Effect(
                    before.id,
                    f"entitlement:{entitlement.group}",
                    entitlement.remaining_milli - left,
                )
            )
    return effects


def _give_back(held: Sequence[HeldPurse], effects: Sequence[Effect]) -> list[HeldPurse]:
    """The purses with what a voided redemption took put back.

    A balance goes back to the purse it came from, or, when that tranche has
    since been carried over, to the tranche that holds its balance now.
    """
    by_id = {h.purse.id: h for h in held}
    for effect in effects:
        target = effect.purse_id
        if effect.field == "balance":
            seen = set()
            while target in by_id and by_id[target].carried_over and target not in seen:
                seen.add(target)
                target = by_id[target].row.carry_over_to or target
        h = by_id.get(target)
        if h is None:
            continue
        purse = h.purse
        if effect.field == "balance":
            purse = replace(purse, balance_rial=purse.balance_rial + effect.taken)
        elif effect.field.startswith("limit:"):
            category = effect.field.split(":", 1)[1]
            limits = dict(purse.category_limits_rial)
            limits[category] = limits.get(category, 0) + effect.taken
            purse = replace(purse, category_limits_rial=limits)
        elif effect.field.startswith("entitlement:"):
            group = effect.field.split(":", 1)[1]
            purse = replace(
                purse,
                entitlements=tuple(
                    replace(e, remaining_milli=e.remaining_milli + effect.taken)
                    if e.group == group
                    else e
                    for e in purse.entitlements
                ),
            )
        by_id[target] = replace(h, purse=purse)
    return [by_id[h.purse.id] for h in held]
