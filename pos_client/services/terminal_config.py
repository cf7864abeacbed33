"""The lane's terminal configuration: the ledger's signed layers, merged with the lane's own file.

:class:`TerminalConfigBook` keeps the last good signed document (its exact
bytes, its ``X-Signature`` and ``ETag``, in the store's meta) and the effective
values merged from it (:func:`pos_client.domain.config_layers.merge`, with the
keys the lane's own config file sets). A document is taken only when its
signature verifies with the keys the lane trusts now, it reads as the
contract says, every layer's keys and values are good and it is not older than
the one held; otherwise nothing changes: the last good one is kept and the
refusal is recorded (``last_error``, for ``doctor``) and returned.

A new version is not put to work here: :meth:`TerminalConfigBook.sync` hands
the effective values to ``apply`` (the checkout takes them at its next sale,
never inside one, see :meth:`CheckoutService.stage_settings`).

Imports the standard library, the domain, the ports, the project's errors and
the rules book (for the trusted keys and the signature check).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pos_client.domain.config_layers import ConfigDocument, Effective, merge
from pos_client.domain.config_layers import parse_config_document as _parse_document
from pos_client.domain.contract import load_json
from pos_client.domain.errors import ContractError
from pos_client.domain.offline import OfflineLimits
from pos_client.errors import DocumentRefused, LedgerRejected
from pos_client.ports import Ledger
from pos_client.services.refresh import RulesBook, verify_signature

__all__ = ["ConfigSync", "TerminalConfigBook", "offline_limits_of"]

log = logging.getLogger(__name__)

#: Store meta: the last good document (body, signature, etag, when taken).
CONFIG_META = "terminal_config"
#: Store meta: the last refusal of a document ("" when the last one was taken).
CONFIG_ERROR_META = "terminal_config_error"


class _MetaStore(Protocol):
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ConfigSync:
    """What one fetch did: ``changed`` (a new version taken), ``version`` held, ``error``."""

    changed: bool
    version: str | None
    error: str | None = None


def offline_limits_of(effective: Mapping[str, Effective]) -> OfflineLimits:
    """The domain's offline limits from the effective values."""
    return OfflineLimits(
        enabled=bool(effective["offline.enabled"].value),
        max_rial_per_transaction=int(effective["offline.max_rial_per_transaction"].value),
        max_rial_per_beneficiary_per_day=int(
            effective["offline.max_rial_per_beneficiary_per_day"].value
        ),
        max_outstanding_rial=int(effective["offline.max_outstanding_rial"].value),
        max_hours_since_contact=int(effective["offline.max_hours_since_contact"].value),
    )


def _version_number(version: str) -> int:
    return int(version.removeprefix("tc-"))


class TerminalConfigBook:
    """The last good terminal config of this lane and the effective values it gives."""

    def __init__(
        self, *, store: _MetaStore, rules: RulesBook, file_values: Mapping[str, Any]
    ) -> None:
        self._store = store
        self._rules = rules
        self._file_values = dict(file_values)
        self._document: ConfigDocument | None = None
        self._etag: str | None = None
        self._loaded = False

    # ------------------------------------------------------------------ reading

    def _check(self, body: bytes, signature: str | None) -> ConfigDocument:
        verify_signature(body, signature, self._rules.trusted_keys())
        try:
            document = _parse_document(load_json(body))
            merge(document.layers, file_values=self._file_values)  # every value checked
        except ContractError as exc:
            raise DocumentRefused(
                f"the terminal config is refused: {exc.message}; the last good one is kept",
                code="malformed",
            ) from None
        return document

    def document(self) -> ConfigDocument | None:
        """The last good document (verified again when first read), or None."""
        if not self._loaded:
            self._loaded = True
            raw = self._store.get_meta(CONFIG_META)
            if raw:
                try:
                    saved = json.loads(raw)
                    body = str(saved["body"]).encode("utf-8")
                    self._document = self._check(body, saved.get("signature"))
                    self._etag = saved.get("etag")
                except (ValueError, KeyError, TypeError, DocumentRefused) as exc:
                    log.warning("the saved terminal config is not trusted: %s", exc)
        return self._document

    @property
    def version(self) -> str | None:
        document = self.document()
        return None if document is None else document.version

    def last_error(self) -> str | None:
        """Why the last document fetched was refused (None: the last one was good)."""
        return self._store.get_meta(CONFIG_ERROR_META) or None

    def effective(self) -> dict[str, Effective]:
        """Each layerable key's value and where it came from (no document: file and defaults)."""
        document = self.document()
        layers = document.layers if document is not None else ()
        return merge(layers, file_values=self._file_values)

    # ------------------------------------------------------------------ taking

    def accept(
        self, body: bytes, signature: str | None, *, etag: str | None, at: datetime
    ) -> ConfigDocument:
        """Verify and keep a document; :class:`DocumentRefused` (nothing changed) if it is bad."""
        try:
            document = self._check(body, signature)
            held = self.document()
            if held is not None and _version_number(document.version) < _version_number(
                held.version
            ):
                raise DocumentRefused(
                    f"the terminal config {document.version} is older than {held.version},"
                    " the one in force: refused, it is kept",
                    code="rollback",
                )
        except DocumentRefused as exc:
            self._store.set_meta(CONFIG_ERROR_META, exc.message)
            raise
        self._store.set_meta(
            CONFIG_META,
            json.dumps(
                {
                    "body": body.decode("utf-8"),
                    "signature": signature,
                    "etag": etag,
                    "at": at.isoformat(),
                },
                sort_keys=True,
            ),
        )
        self._store.set_meta(CONFIG_ERROR_META, "")
        self._document = document
        self._etag = etag
        self._loaded = True
        return document

    async def sync(
        self,
        ledger: Ledger,
        *,
        at: datetime,
        apply: Callable[[str, dict[str, Effective]], None] | None = None,
    ) -> ConfigSync:
        """Fetch (``If-None-Match``); a new good version goes to ``apply``; a bad one is kept out.

        A ledger that serves no terminal config (404) leaves the lane on its
        own file; the ledger not answering raises as any fetch does.
        """
        held = self.document()
        try:
            fetched = await ledger.get_terminal_config(etag=self._etag if held else None)
        except LedgerRejected as exc:
            if exc.status == 404:
                return ConfigSync(False, self.version)
            raise
        if fetched is None:
            return ConfigSync(False, self.version)
        try:
            document = self.accept(fetched.body, fetched.signature, etag=fetched.etag, at=at)
        except DocumentRefused as exc:
            log.warning("%s", exc.message)
            return ConfigSync(False, self.version, error=exc.message)
        changed = held is None or held.version != document.version
        if changed and apply is not None:
            apply(document.version, self.effective())
        return ConfigSync(changed, document.version)
