"""Wallets the agent inquired shortly before, held for the redeem of the same credential.

A chain's software identifies the household (``POST /v1/wallet-inquiries``)
while the cashier scans, then confirms with ``POST /v1/redemptions``: as at the
screen, the sale then needs one exchange with the ledger (the redemption), not
two. The inquiry's checkout session (identified, its wallet read) is held here
under its credential; a redeem naming the very same credential (the same token,
purchase code or national ID, byte for byte) within :data:`FRESH_S` takes it
(once) instead of asking the ledger again.

What a held wallet may never do, and why it cannot:

- serve another credential: the key is the credential itself (a hash of its
  kind and text); anything else is a miss and the redeem inquires itself;
- outlive its freshness: older than :data:`FRESH_S` (monotonic clock) it is
  dropped; the screen holds a wallet for a whole basket, with no limit, so this
  is the stricter of the two;
- outlive a sale: every checkout on the lane (a sale, a void, an interrupted
  sale finished or cancelled) drops every held wallet when it ends, and a
  wallet whose inquiry began before a checkout ended is not kept (the
  *generation*): balances may have moved, the next sale inquires again;
- miss a new configuration: one that came after the inquiry takes over before
  the held session confirms (the session reads the limits and the sale's budget
  from the service when it confirms);
- be used twice: taking it removes it.

Another lane may spend the same household's credit in between: that the lane
cannot see. The ledger stays the judge: the redemption is checked against its
balances of now and declined (``insufficient_balance``) when they no longer
cover it; never a double charge (a new redemption id per sale, written before
it is sent). Only wallets the ledger answered are held, never an offline one.

Imports the standard library and the checkout service's session (a type).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from pos_client.services.checkout import CheckoutSession

__all__ = ["FRESH_S", "MAX_HELD", "HeldInquiries"]

#: How long a wallet inquired through the agent serves the redeem of its credential (s).
FRESH_S = 120.0
#: The most wallets held at once (the oldest goes first).
MAX_HELD = 8


@dataclass(frozen=True, slots=True)
class _Held:
    session: CheckoutSession
    at: float
    generation: int


def _key(kind: str, value: str) -> str:
    # The credential is a secret: only its hash is kept as the key.
    return hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()


class HeldInquiries:
    """The identified sessions of recent inquiries (one event loop: no lock needed)."""

    def __init__(
        self, *, fresh_s: float = FRESH_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.fresh_s = fresh_s
        self._clock = clock
        self._held: OrderedDict[str, _Held] = OrderedDict()
        #: Moves on at the end of every checkout: a wallet asked before it is not kept.
        self.generation = 0

    def __len__(self) -> int:
        return len(self._held)

    def keep(self, kind: str, value: str, session: CheckoutSession, *, generation: int) -> None:
        """Hold ``session`` for ``(kind, value)``, if still of this generation and online."""
        if generation != self.generation or session.household().offline:
            return
        key = _key(kind, value)
        self._held.pop(key, None)
        self._held[key] = _Held(session, self._clock(), generation)
        while len(self._held) > MAX_HELD:
            self._held.popitem(last=False)

    def take(self, kind: str, value: str) -> CheckoutSession | None:
        """The session held for ``(kind, value)``, if fresh; it is held no more either way."""
        held = self._held.pop(_key(kind, value), None)
        if held is None or held.generation != self.generation:
            return None
        if not 0 <= self._clock() - held.at <= self.fresh_s:
            return None
        return held.session

    def checkout_ended(self) -> None:
        """A checkout ended on the lane: balances may have moved, nothing held is used."""
        self.generation += 1
        self._held.clear()
