"""Terminal configuration layers (chain → store → lane) kept by the sandbox, served signed.

``GET /v1/terminal-config`` answers a terminal with the layers that reach it:
its merchant's chain layer, its store's and its own, signed with
``X-Signature`` like the rules. The document's version is the newest of those
three layers' versions (``tc-000000`` while none was ever written), so a write
to another store leaves this lane's ``ETag`` as it was.

``PUT /v1/config-layers/chain``, ``.../stores/{id}``, ``.../terminals/{id}``
(merchant admin) replace one layer (``{"values", "locks"?, "ceilings"?}``),
each write a new version ``tc-NNNNNN`` (one counter for the whole ledger). An
unknown key or a bad value: ``422 config_invalid`` naming the key and the
layer; another merchant's store or terminal: ``404``. ``GET`` on the same
paths reads a layer back (for an admin tool that changes one key).

The layers are kept in the books' meta (one JSON document, written in the same
transaction that bumps the version counter).

Imports the standard library, the pure domain and the sandbox's modules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pos_client.domain.config_layers import layer_to_wire, parse_layer
from pos_client.domain.contract import dump_json
from pos_client.domain.errors import LayerError

from . import fleet_rows
from .auth import MerchantAdmin, own_store, own_terminal
from .book_rows import TerminalRow
from .books import Books, Tx
from .clock import SandboxClock, to_rfc3339
from .keys import SigningIdentity
from .problems import Problem, problem

__all__ = ["ConfigLayers", "ServedConfig"]

LAYERS_META = "config_layers"
EMPTY_VERSION = "tc-000000"


@dataclass(frozen=True, slots=True)
class ServedConfig:
    version: str
    body: bytes
    signature: str


def _version(number: int) -> str:
    return f"tc-{number:06d}"


class ConfigLayers:
    def __init__(
        self, *, books: Books, signer: SigningIdentity, clock: SandboxClock, created_at: str
    ) -> None:
        self.books = books
        self.signer = signer
        self.clock = clock
        self.created_at = created_at

    @staticmethod
    def _state(tx: Tx) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(tx.meta(LAYERS_META) or "{}")
        state.setdefault("seq", 0)
        state.setdefault("layers", {})
        return state

    @staticmethod
    def _slot(state: dict[str, Any], merchant_id: str, level: str, layer_id: str | None) -> str:
        return f"{merchant_id}/{level}/{layer_id or ''}"

    def _records(
        self, terminal: TerminalRow
    ) -> tuple[list[tuple[str, str | None]], dict[str, dict[str, Any]]]:
        """The layers that reach ``terminal`` (level, id) and the records written of them."""
        with self.books.read() as tx:
            state = self._state(tx)
            store_id = fleet_rows.terminal_store(tx, terminal.id)
        targets: list[tuple[str, str | None]] = [("chain", None)]
        if store_id is not None:
            targets.append(("store", store_id))
        targets.append(("lane", terminal.id))
        found = {}
        for level, layer_id in targets:
            record = state["layers"].get(self._slot(state, terminal.merchant_id, level, layer_id))
            if record is not None:
                found[level] = record
        return targets, found

    def version_for(self, terminal: TerminalRow) -> str:
        """The version of the terminal's document (cheap: for ``If-None-Match``)."""
        _, records = self._records(terminal)
        return max((r["version"] for r in records.values()), default=EMPTY_VERSION)

    def document(self, terminal: TerminalRow) -> ServedConfig:
        targets, records = self._records(terminal)
        version = max((r["version"] for r in records.values()), default=EMPTY_VERSION)
        issued_at = max((r["at"] for r in records.values()), default=self.created_at)
        layers = []
        for level, layer_id in targets:
            record = records.get(level)
            wire: dict[str, Any] = record["layer"] if record else {"values": {}}
            layer = parse_layer(wire, level=level, layer_id=layer_id)
            layers.append(layer_to_wire(layer))
        body = dump_json({"version": version, "issued_at": issued_at, "layers": layers})
        return ServedConfig(version=version, body=body, signature=self.signer.sign(body))

    @staticmethod
    def _check_owner(tx: Tx, who: MerchantAdmin, level: str, layer_id: str | None) -> None:
        """Another merchant's store or terminal, or none: ``404`` (ids do not leak)."""
        if level == "store":
            own_store(tx, who, str(layer_id))
        elif level == "lane":
            own_terminal(tx, who, str(layer_id))

    def read(self, who: MerchantAdmin, level: str, layer_id: str | None) -> bytes:
        merchant_id = who.merchant_id
        with self.books.read() as tx:
            self._check_owner(tx, who, level, layer_id)
            state = self._state(tx)
        record = state["layers"].get(self._slot(state, merchant_id, level, layer_id))
        wire = record["layer"] if record else {"values": {}}
        out = layer_to_wire(parse_layer(wire, level=level, layer_id=layer_id))
        out["version"] = record["version"] if record else EMPTY_VERSION
        return dump_json(out)

    def write(self, who: MerchantAdmin, level: str, layer_id: str | None, data: Any) -> bytes:
        """Replace one layer; the new version's number (``422 config_invalid`` if refused)."""
        merchant_id = who.merchant_id
        with self.books.read() as tx:
            self._check_owner(tx, who, level, layer_id)
        if not isinstance(data, dict) or not set(data) <= {"values", "locks", "ceilings"}:
            raise problem("invalid_request", 'send {"values", "locks"?, "ceilings"?}')
        if "values" not in data:
            raise problem("invalid_request", 'send {"values", "locks"?, "ceilings"?}')
        for member, kind in (("values", dict), ("locks", list), ("ceilings", dict)):
            if member in data and not isinstance(data[member], kind):
                what = "a list of keys" if kind is list else "an object"
                raise problem("invalid_request", f"{member} must be {what}")
        try:
            layer = parse_layer(data, level=level, layer_id=layer_id)
        except LayerError as exc:
            raise Problem(status=422, code="config_invalid", detail=exc.message) from None
        wire = layer_to_wire(layer)
        with self.books.write() as tx:
            self._check_owner(tx, who, level, layer_id)
            state = self._state(tx)
            state["seq"] += 1
            version = _version(state["seq"])
            state["layers"][self._slot(state, merchant_id, level, layer_id)] = {
                "layer": wire,
                "version": version,
                "at": to_rfc3339(self.clock.now()),
            }
            tx.set_meta(LAYERS_META, json.dumps(state, sort_keys=True))
        out = dict(wire)
        out["version"] = version
        return dump_json(out)
