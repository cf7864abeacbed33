"""The signed rule set: issued, kept in the books, renewed when it is due.

A rule set is issued on the first start and again whenever it is a day old
(valid for two days, so a terminal that refreshes daily never runs on an
expired one), when the hot list changes, when the catalog has a new version,
and when the sandbox clock was moved back before the latest one was issued.
A settable next tranche unlock (``next_unlock_at``, default none: the member
is left out) goes into the rule sets issued from then on; setting it issues
one at once, signed like any other. Versions are ``r-<date>-<n>``, ``n``
counting every rule set ever issued for that date, so a version is never
issued twice whatever the clock does. Each is kept with its exact signed
bytes: ``GET /v1/rules`` sends the latest, and a redemption's
``rules_version`` is checked against the books.

Imports the standard library, the pure domain and the sandbox's modules.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from pos_client.domain.contract import dump_json, rule_set_to_wire
from pos_client.domain.models import RuleSet, SigningKey
from pos_client.domain.national_id import national_id_hash
from pos_client.domain.signing import ED25519_ALG

from .books import RuleSetRow, Tx
from .catalog import Catalog
from .clock import TEHRAN, parse_rfc3339, to_rfc3339
from .demo import CATEGORIES, PROGRAMS
from .keys import SigningIdentity

RENEW_AFTER = timedelta(days=1)
VALID_FOR = timedelta(days=2)
#: The books' meta key of the next tranche unlock (RFC 3339; absent or empty: none).
NEXT_UNLOCK_META = "next_unlock_at"
#: How far in the future the latest rule set may have been issued before it is
#: renewed (the sandbox clock was moved back past it).
CLOCK_SKEW = timedelta(minutes=5)


class RuleSets:
    def __init__(self, *, signer: SigningIdentity, catalog: Catalog) -> None:
        self._signer = signer
        self._catalog = catalog

    def _content(self, tx: Tx) -> tuple[str, frozenset[str]]:
        hot = frozenset(national_id_hash(n) for n in tx.blocked_national_ids())
        return self._catalog.current(tx)[1], hot

    @staticmethod
    def next_unlock(tx: Tx) -> datetime | None:
        """The next tranche unlock the rule sets announce (none unless set)."""
        return parse_rfc3339(tx.meta(NEXT_UNLOCK_META) or "")

    def set_next_unlock(self, tx: Tx, when: datetime | None, *, now: datetime) -> RuleSetRow:
        """Announce ``when`` (None: no unlock) from now on: a rule set is issued at once."""
        tx.set_meta(NEXT_UNLOCK_META, "" if when is None else to_rfc3339(when))
        return self.issue(tx, now=now)

    def issue(self, tx: Tx, *, now: datetime) -> RuleSetRow:
        """Issue (sign and keep) a new rule set as of ``now``."""
        latest = tx.latest_rule_set()
        seq = 1 if latest is None else latest.seq + 1
        issued = now.astimezone(TEHRAN).replace(microsecond=0)
        day = issued.date().isoformat()
        # The next number of the day among every rule set ever issued for it, not
        # only the latest: the clock may have been moved forward and back since.
        version = f"r-{day}-{tx.last_rule_set_number(f'r-{day}-') + 1:02d}"
        catalog_version, hot = self._content(tx)
        rules = RuleSet(
            version=version,
            issued_at=issued,
            valid_until=issued + VALID_FOR,
            signing_keys=(SigningKey(self._signer.kid, ED25519_ALG, self._signer.public_key),),
            categories=CATEGORIES,
            programs=PROGRAMS,
            catalog_version=catalog_version,
            hot_list=hot,
            next_unlock_at=self.next_unlock(tx),
        )
        body = dump_json(rule_set_to_wire(rules))
        row = RuleSetRow(
            seq=seq,
            version=version,
            issued_at=issued,
            valid_until=rules.valid_until,
            body=body,
            signature=self._signer.sign(body),
        )
        tx.add_rule_set(row)
        return row

    def is_due(self, tx: Tx, *, now: datetime) -> bool:
        """Whether the latest rule set is missing, a day old, or out of date."""
        latest = tx.latest_rule_set()
        if latest is None or now >= latest.issued_at + RENEW_AFTER:
            return True
        if latest.issued_at > now + CLOCK_SKEW:  # the clock was moved back since
            return True
        catalog_version, hot = self._content(tx)
        wire = json.loads(latest.body)
        if wire["catalog"]["version"] != catalog_version or frozenset(wire["hot_list"]) != hot:
            return True
        unlock = self.next_unlock(tx)
        announced: object = wire.get("next_unlock_at")
        return announced != (None if unlock is None else to_rfc3339(unlock))

    def current(self, tx: Tx, *, now: datetime) -> RuleSetRow:
        """The latest rule set, issuing a new one first when it is due (write transaction)."""
        if self.is_due(tx, now=now):
            return self.issue(tx, now=now)
        latest = tx.latest_rule_set()
        assert latest is not None
        return latest
