"""The project's one exception tree (its root and the pure domain's branches).

Every error the program raises to a caller is a :class:`PosError`. Adapters and
drivers translate third-party exceptions into a branch of this tree where they
enter (``raise LedgerUnavailable(...) from exc``), so that the UI and the CLI
need to know one tree only and can always show a sentence, never a traceback.

    PosError                      code: a stable machine word
    ├── DomainError               bad data met by the pure core
    │   ├── InvalidNationalId     (also a ValueError) reason: length, not_digits, ...
    │   ├── BarcodeError          (also a ValueError) reason: ...
    │   ├── TokenError            (also a ValueError) reason: token_malformed, ...
    │   ├── ContractError         (also a ValueError) a document that breaks the contract
    │   └── TransitionError       a redemption state change that is not allowed
    ├── DeviceError               a device cannot be opened or used
    │   ├── ScannerError
    │   ├── PrinterError          also a receipt that does not add up (receipt_invalid)
    │   └── ScaleError
    └── (outside the domain, drawn in pos_client.errors)
        ConfigError, StoreError, LedgerError and its children, and the use
        cases' own refusals (checkout, receipts, reports, refresh)

The device branch is drawn here, not in :mod:`pos_client.errors` (which
re-exports it), because a domain value raises it: the receipt
(:mod:`pos_client.domain.receipt`) refuses to exist when it does not add up,
and that is a :class:`PrinterError` for whoever would print it.

This module must not import anything but the standard library's typing.
"""

from __future__ import annotations


class PosError(Exception):
    """Root of every error this project raises on purpose."""

    code: str = "error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message or self.__class__.__name__)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class DomainError(PosError):
    """Bad data met by the pure core."""

    code = "domain_error"


class _ReasonError(DomainError, ValueError):
    """A domain error whose ``reason`` is a stable word (also its ``code``)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason, code=reason)
        self.reason = reason


class InvalidNationalId(_ReasonError):
    """A national ID (کد ملی) that cannot belong to anyone.

    ``reason`` is one of ``length``, ``not_digits``, ``check_digit``,
    ``repeated_digits``, ``zero_serial``.
    """


class BarcodeError(_ReasonError):
    """A scan that cannot be read as anything this program knows."""


class TokenError(_ReasonError):
    """A KB1 beneficiary token that is malformed, forged, expired or not yet valid."""


class ContractError(_ReasonError):
    """A document (from the ledger, a file or a request) that breaks the contract."""


class LayerError(ContractError):
    """A terminal config layer or value that is refused; ``key`` and ``layer`` name it."""

    def __init__(self, reason: str, message: str, *, key: str | None, layer: str) -> None:
        super().__init__(reason, message)
        self.key = key
        self.layer = layer


class TransitionError(DomainError):
    """A redemption state change the state machine does not allow."""

    code = "invalid_transition"


class DeviceError(PosError):
    """A device (scanner, printer, scale) cannot be opened or used."""

    code = "device_error"


class ScannerError(DeviceError):
    code = "scanner_error"


class PrinterError(DeviceError):
    code = "printer_error"


class ScaleError(DeviceError):
    code = "scale_error"
