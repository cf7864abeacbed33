"""The error tree outside the pure domain; see :mod:`pos_client.domain.errors` for the root.

    PosError
    ├── DomainError ...           (pos_client.domain.errors)
    ├── DeviceError ...           (pos_client.domain.errors: the receipt, a domain value, raises it)
    ├── ConfigError               the lane's configuration (names the key)
    │   └── ConfigFileError       the file itself: missing, unreadable, others may change it
    ├── StoreError                the local store cannot be read or written
    │   ├── AnswerNotSaved        the ledger answered; the lane could not write it down
    │   ├── CatalogRefused        a catalog not loaded (the last good one is kept)
    │   └── StoreRefused          the store at the lane's path is not the lane's (missing, another)
    ├── LedgerError               talking to the central ledger
    │   ├── LedgerUnavailable     not reached, or "come back later": safe to retry
    │   ├── LedgerRejected        a final problem document (4xx with a code)
    │   │   └── ForwarderStopped  the ledger refuses this terminal: forwarding waits
    │   ├── UnknownOutcome        may or may not be recorded: resolve by id, never guess
    │   └── DocumentRefused       a signed document refused; the last good one stays
    ├── PriceListError            a shop's price list that cannot be imported
    ├── ReceiptError              no receipt for that sale
    ├── ReportError               a report that cannot be made as asked
    ├── CheckoutError             bad input or the wrong moment at the counter; nothing changed
    ├── CheckoutRefused           the ledger, the rules or the lane's own checks say no
    └── BadInput                  the command line or a basket file is wrong (exit 2)

Every class is defined once, here or in the domain's module, and imported
where it is raised.
Third-party exceptions are translated into these where they enter (the ledger
client, the store, the drivers), with ``raise ... from exc``.
"""

from __future__ import annotations

from pos_client.domain.errors import (
    BarcodeError,
    ContractError,
    DeviceError,
    DomainError,
    InvalidNationalId,
    PosError,
    PrinterError,
    ScaleError,
    ScannerError,
    TokenError,
    TransitionError,
)
from pos_client.domain.redemption import RedemptionAnswer

__all__ = [
    "TERMINAL_REVOKED_SENTENCE",
    "AnswerNotSaved",
    "BadInput",
    "BarcodeError",
    "CatalogRefused",
    "CheckoutError",
    "CheckoutRefused",
    "ConfigError",
    "ConfigFileError",
    "ContractError",
    "DeviceError",
    "DocumentRefused",
    "DomainError",
    "ForwarderStopped",
    "InvalidNationalId",
    "LabelPriceMismatch",
    "LedgerError",
    "LedgerRejected",
    "LedgerUnavailable",
    "PosError",
    "PriceListError",
    "PrinterError",
    "ReceiptError",
    "ReportError",
    "ScaleError",
    "ScannerError",
    "StoreError",
    "StoreRefused",
    "TelemetryError",
    "TokenError",
    "TransitionError",
    "UnknownOutcome",
]


class TelemetryError(PosError):
    """The lane's telemetry (its MQTT broker) cannot be used; selling is never affected."""

    code = "telemetry_unavailable"


class ConfigError(PosError):
    """The lane's configuration is missing, unreadable or invalid (names the key)."""

    code = "config_invalid"

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class ConfigFileError(ConfigError):
    """The config file itself cannot be used (key ``config``); ``reason`` says why.

    ``missing``, ``unreadable`` (permissions, I/O), ``writable`` (others may change
    it) or ``not_toml`` (not UTF-8 TOML).
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, key="config")
        self.reason = reason


class StoreError(PosError):
    """The local store cannot be read or written (disk full, read-only, corrupt)."""

    code = "store_error"


class PriceListError(PosError):
    """A shop's price list that cannot be imported (names the line); nothing was imported."""

    code = "price_list_invalid"


class ReceiptError(PosError):
    """There is no receipt for that sale (unknown, or it did not go ahead); nothing changed."""

    code = "no_receipt"


class ReportError(PosError):
    """A report that cannot be made as asked (a future date, an unknown Z number)."""

    code = "report_error"


class LedgerError(PosError):
    """Talking to the central ledger went wrong."""

    code = "ledger_error"


class LedgerUnavailable(LedgerError):
    """The ledger could not be reached, or said to come back later (429/503).

    Nothing was recorded there for a request that never left: safe to retry.
    """

    code = "ledger_unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DocumentRefused(LedgerError):
    """A document from the ledger was refused (bad signature, malformed): the last good one stays.

    ``code`` is the reason: ``signature_missing``, ``signature_malformed``,
    ``signature_unknown_key``, ``signature_invalid``, ``malformed``, ``catalog_refused``.
    """

    code = "document_refused"


class LedgerRejected(LedgerError):
    """The ledger answered with a final problem document (4xx with a ``code``)."""

    code = "ledger_rejected"

    def __init__(self, message: str, *, status: int, code: str, detail: str = "") -> None:
        super().__init__(message, code=code)
        self.status = status
        self.detail = detail


#: What a lane whose terminal was revoked says (``401 terminal_revoked``), wherever it says it.
TERMINAL_REVOKED_SENTENCE = (
    "this lane's terminal was revoked by its merchant: it sells nothing, online or offline,"
    " until it is enrolled again (its outbox is kept)"
)


class UnknownOutcome(LedgerError):
    """A request may or may not have been recorded: resolve it by id, never guess.

    ``retry_after`` carries a ``Retry-After`` the ledger sent with it (a 503), if any.
    """

    code = "unknown_outcome"

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CheckoutError(PosError):
    """Bad input or the wrong moment for an action; nothing was changed."""

    code = "checkout_error"


class LabelPriceMismatch(CheckoutError):
    """A weight-and-price label's price cannot be charged by the contract's rounding rule.

    A line's amount is ``round_half_up(quantity_milli * unit_price_rial / 1000)``;
    no whole unit price gives ``label_price_rial`` for ``quantity_milli``. The
    nearest unit price, ``unit_price_rial``, charges ``charged_rial``. Nothing
    was added: the cashier chooses.
    """

    code = "label_price_mismatch"

    def __init__(
        self,
        gtin: str,
        quantity_milli: int,
        unit: str,
        label_price_rial: int,
        unit_price_rial: int,
        charged_rial: int,
    ) -> None:
        super().__init__(
            f"the label says {label_price_rial:,} Rials for "
            f"{quantity_milli // 1000}.{quantity_milli % 1000:03d} {unit}, which the contract's "
            f"rounding cannot charge: at {unit_price_rial:,} Rials a {unit} it is "
            f"{charged_rial:,} Rials; give a unit price"
        )
        self.gtin = gtin
        self.quantity_milli = quantity_milli
        self.label_price_rial = label_price_rial
        self.unit_price_rial = unit_price_rial
        self.charged_rial = charged_rial


class CheckoutRefused(PosError):
    """The ledger, the rules or the terminal's own checks refuse (a household or token)."""

    code = "checkout_refused"


class AnswerNotSaved(StoreError):
    """The ledger answered but the lane could not write it down (disk full, store locked).

    ``answer`` is the ledger's answer, kept in memory: the sale's true outcome.
    The redemption stays in the outbox as sent; a lookup by id records it later.
    """

    code = "answer_not_saved"

    def __init__(self, message: str, *, answer: RedemptionAnswer) -> None:
        super().__init__(message)
        self.answer = answer


class CatalogRefused(StoreError):
    """A catalog was not loaded (the last good one is kept)."""

    code = "catalog_refused"


class StoreRefused(StoreError):
    """The store at the lane's path is not the lane's store (missing, empty, another, older)."""

    code = "store_refused"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ForwarderStopped(LedgerRejected):
    """The ledger refuses this terminal (401/403): forwarding waits for a person."""


class BadInput(PosError):
    """The command line or the basket file is wrong (exit 2)."""

    code = "bad_input"
