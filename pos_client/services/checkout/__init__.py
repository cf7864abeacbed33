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
  a store that cannot write refuses the sale; once it is written, no failure
  is told as "nothing charged": an answer the store cannot take is told as it
  is (``approved_unsaved``) and saved later, a store failing before any answer
  leaves the outcome unknown;
- the whole confirm step keeps to a budget (``sale_budget``, shorter when the
  inquiry found the ledger slow);
- it is sent with its id as ``Idempotency-Key``; with no answer or a 5xx the
  outcome is unknown and is resolved by ``GET /v1/redemptions/{id}``, and the
  body is sent again only after a ``404``;
- the terminal approves by itself only within :func:`decide_offline`, which
  needs a QR token verified on the terminal; a typed national ID or a
  purchase code is served online only;
- a sale interrupted by a crash shows up in :meth:`CheckoutService.interrupted`
  for the cashier to finish or cancel (void).

The package: :mod:`.values` (what the checkout hands out and its errors),
:mod:`.session` (one household at the counter), :mod:`.service` (what
outlives a sale: sending, recovery after a crash, voids). The sending itself,
the lookups by id and the recording go through
:mod:`pos_client.services.delivery`, like every other path.

Imports the standard library, the domain, the ports and the project's errors.
"""

from pos_client.domain.bounds import MAX_UNIT_PRICE_RIAL
from pos_client.errors import CheckoutError, CheckoutRefused
from pos_client.services.checkout.service import CheckoutService
from pos_client.services.checkout.session import CheckoutSession
from pos_client.services.checkout.values import (
    MIN_SEND_WINDOW,
    SALE_BUDGET,
    SLOW_SHARE,
    BasketItem,
    BasketView,
    Household,
    OfflineApproval,
    Progress,
    RulesSource,
    SendPhase,
    Stage,
    VoidOutcome,
)

__all__ = [
    "MAX_UNIT_PRICE_RIAL",
    "MIN_SEND_WINDOW",
    "SALE_BUDGET",
    "SLOW_SHARE",
    "BasketItem",
    "BasketView",
    "CheckoutError",
    "CheckoutRefused",
    "CheckoutService",
    "CheckoutSession",
    "Household",
    "OfflineApproval",
    "Progress",
    "RulesSource",
    "SendPhase",
    "Stage",
    "VoidOutcome",
]
