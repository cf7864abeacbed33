"""Layered terminal configuration: the chain, the store and the lane steer a lane's settings.

The ledger serves a signed document of layers (``fleet-api.md``, "Terminal
configuration")::

    {"version": "tc-000042", "issued_at": "...",
     "layers": [{"level": "chain", "values": {...}, "locks": [...], "ceilings": {...}},
                {"level": "store", "id": "S-017", "values": {...}},
                {"level": "lane", "id": "T-0001", "values": {...}}]}

The effective value of a key is, highest first: a lock's chain value; else the
lane's own config file; else the lane, store and chain layers; else the built-in
default. A ceiling caps whatever wins (a lane may lower an offline limit, never
raise it). Only the keys of :data:`KEYS` may be layered, each with its type and
bounds (the same bounds the lane's own file is held to); an unknown key or a bad
value is refused at every layer with the key and the layer named.

Choices where the contract is silent (also in the sandbox's ``openapi.yaml``):
locks and ceilings belong to the chain layer only; a lock names a key the chain
layer gives a value; ceilings are for the whole-number keys.

Pure: the standard library and the domain's errors only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from pos_client.domain.errors import ContractError, LayerError

__all__ = [
    "KEYS",
    "LEVELS",
    "ConfigDocument",
    "Effective",
    "KeySpec",
    "Layer",
    "LayerError",
    "flatten_values",
    "merge",
    "nest_values",
    "parse_config_document",
    "parse_layer",
    "parse_value_text",
]

MAX_RIAL = 10**15
MAX_HOURS = 24 * 31
LEVELS = ("chain", "store", "lane")
_VERSION = re.compile(r"tc-[0-9]{6,}")
_LAYER_ID = re.compile(r"[A-Za-z0-9._~:-]{1,64}")

#: Where an effective value came from.
SOURCES = ("default", "chain", "store", "lane", "file", "lock", "ceiling")


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One layerable key: its kind (``bool``, ``int``, ``choice``, ``url``), bounds and default."""

    name: str
    kind: str
    default: Any
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()

    @property
    def ceilable(self) -> bool:
        return self.kind == "int"

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not good for this key, or None when it is."""
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "int":
            if type(value) is not int:
                return "must be a whole number"
            if not self.low <= value <= self.high:
                return f"must be between {self.low} and {self.high}"
            return None
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                return f"must be one of {', '.join(self.choices)}"
            return None
        # url: "" for none, else a URL with one of the schemes and a host
        if not isinstance(value, str):
            return "must be a string"
        if value == "":
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (a bad port raises)
        except ValueError:
            return "is not a URL"
        if parts.scheme not in self.schemes or not parts.hostname:
            return f"must be a {' or '.join(s + '://' for s in self.schemes)} URL with a host"
        if parts.username or parts.password:
            return "must not hold a user name or password"
        return None


def _spec(*specs: KeySpec) -> Mapping[str, KeySpec]:
    return MappingProxyType({s.name: s for s in specs})


#: The keys a layer may set, with the bounds ``config.py`` holds the lane's file to.
KEYS: Mapping[str, KeySpec] = _spec(
    KeySpec("offline.enabled", "bool", True),
    KeySpec("offline.max_rial_per_transaction", "int", 5_000_000, 0, MAX_RIAL),
    KeySpec("offline.max_rial_per_beneficiary_per_day", "int", 5_000_000, 0, MAX_RIAL),
    KeySpec("offline.max_outstanding_rial", "int", 50_000_000, 0, MAX_RIAL),
    KeySpec("offline.max_hours_since_contact", "int", 24, 0, MAX_HOURS),
    KeySpec("ui.language", "choice", "fa", choices=("fa", "en")),
    KeySpec("ui.currency", "choice", "toman", choices=("toman", "rial")),
    KeySpec("ledger.sale_budget_s", "int", 15, 3, 600),
    KeySpec("ledger.stuck_after_hours", "int", 6, 1, MAX_HOURS),
    KeySpec("telemetry.url", "url", "", schemes=("mqtt", "mqtts")),
)


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer: ``values`` flat by dotted key; ``locks`` and ``ceilings`` (chain only)."""

    level: str
    id: str | None = None
    values: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    locks: frozenset[str] = frozenset()
    ceilings: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def name(self) -> str:
        """How the layer is named in a refusal: ``chain``, ``store S-017``, ``lane T-0001``."""
        return self.level if self.id is None else f"{self.level} {self.id}"


def _fail(reason: str, layer: str, key: str | None, what: str) -> LayerError:
    where = f"{key} (in the {layer} layer)" if key else f"the {layer} layer"
    return LayerError(reason, f"{where}: {what}", key=key, layer=layer)


def flatten_values(values: Any, *, layer: str) -> dict[str, Any]:
    """``{"offline": {"enabled": false}}`` into ``{"offline.enabled": False}``, checked."""
    if not isinstance(values, Mapping):
        raise _fail("invalid_layer", layer, None, "values must be an object")
    flat: dict[str, Any] = {}
    for section, inner in values.items():
        if not isinstance(inner, Mapping):
            key = str(section)
            if key in KEYS:  # a dotted key given flat is taken as it is
                flat[key] = inner
                continue
            raise _fail("unknown_key", layer, key, "unknown key")
        for name, value in inner.items():
            flat[f"{section}.{name}"] = value
    for key, value in flat.items():
        spec = KEYS.get(key)
        if spec is None:
            raise _fail("unknown_key", layer, key, "unknown key")
        problem = spec.check(value)
        if problem is not None:
            raise _fail("invalid_value", layer, key, problem)
    return flat


def nest_values(flat: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The wire form of flat values: ``{"offline.enabled": False}`` → ``{"offline": {...}}``."""
    nested: dict[str, dict[str, Any]] = {}
    for key in sorted(flat):
        section, _, name = key.partition(".")
        nested.setdefault(section, {})[name] = flat[key]
    return nested


def parse_layer(data: Any, *, level: str, layer_id: str | None = None) -> Layer:
    """Read and check one layer (``{"values", "locks"?, "ceilings"?}``); ``LayerError`` if bad."""
    name = level if layer_id is None else f"{level} {layer_id}"
    if level not in LEVELS:
        raise _fail("invalid_layer", name, None, f"the level must be one of {', '.join(LEVELS)}")
    if not isinstance(data, Mapping):
        raise _fail("invalid_layer", name, None, "must be an object")
    unknown = sorted(set(data) - {"level", "id", "values", "locks", "ceilings"})
    if unknown:
        raise _fail("invalid_layer", name, None, f"unknown member {unknown[0]!r}")
    values = flatten_values(data.get("values") or {}, layer=name)
    locks_raw = data.get("locks") or []
    ceilings_raw = data.get("ceilings") or {}
    if level != "chain" and (locks_raw or ceilings_raw):
        raise _fail("invalid_layer", name, None, "only the chain layer may hold locks or ceilings")
    if not isinstance(locks_raw, list) or not all(isinstance(k, str) for k in locks_raw):
        raise _fail("invalid_layer", name, None, "locks must be a list of keys")
    for key in locks_raw:
        if key not in KEYS:
            raise _fail("unknown_key", name, key, "unknown key (in locks)")
        if key not in values:
            raise _fail("invalid_lock", name, key, "a lock needs the chain layer's value to lock")
    if not isinstance(ceilings_raw, Mapping):
        raise _fail("invalid_layer", name, None, "ceilings must be an object of keys")
    ceilings: dict[str, int] = {}
    for key, value in ceilings_raw.items():
        spec = KEYS.get(key)
        if spec is None:
            raise _fail("unknown_key", name, key, "unknown key (in ceilings)")
        if not spec.ceilable:
            raise _fail("invalid_ceiling", name, key, "only a whole-number key has a ceiling")
        problem = spec.check(value)
        if problem is not None:
            raise _fail("invalid_value", name, key, f"ceiling {problem}")
        ceilings[key] = value
    return Layer(
        level=level,
        id=layer_id,
        values=MappingProxyType(values),
        locks=frozenset(locks_raw),
        ceilings=MappingProxyType(ceilings),
    )


def layer_to_wire(layer: Layer) -> dict[str, Any]:
    """The wire form of a layer, as in the document (members sorted)."""
    out: dict[str, Any] = {"level": layer.level}
    if layer.id is not None:
        out["id"] = layer.id
    out["values"] = nest_values(layer.values)
    if layer.level == "chain":
        out["locks"] = sorted(layer.locks)
        out["ceilings"] = {k: layer.ceilings[k] for k in sorted(layer.ceilings)}
    return out


@dataclass(frozen=True, slots=True)
class ConfigDocument:
    version: str
    issued_at: datetime
    layers: tuple[Layer, ...]


def parse_config_document(data: Any) -> ConfigDocument:
    """Read a terminal-config document (a ``LayerError`` names the key and the layer)."""
    if not isinstance(data, Mapping):
        raise ContractError("invalid_config", "the terminal config must be an object")
    version = data.get("version")
    if not isinstance(version, str) or _VERSION.fullmatch(version) is None:
        raise ContractError("invalid_config", "version: not a terminal config version (tc-NNNNNN)")
    issued = data.get("issued_at")
    try:
        issued_at = datetime.fromisoformat(str(issued).replace("Z", "+00:00"))
    except ValueError:
        raise ContractError("invalid_config", "issued_at: not an RFC 3339 time") from None
    if issued_at.tzinfo is None:
        raise ContractError("invalid_config", "issued_at: not an RFC 3339 time")
    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list):
        raise ContractError("invalid_config", "layers: must be a list")
    layers: list[Layer] = []
    seen: set[str] = set()
    for raw in raw_layers:
        if not isinstance(raw, Mapping):
            raise ContractError("invalid_config", "layers: each layer must be an object")
        level = raw.get("level")
        layer_id = raw.get("id")
        if not isinstance(level, str) or level not in LEVELS:
            raise ContractError("invalid_config", f"layers: unknown level {level!r}")
        if level in seen:
            raise ContractError("invalid_config", f"layers: the {level} layer twice")
        seen.add(level)
        if level != "chain" and (
            not isinstance(layer_id, str) or _LAYER_ID.fullmatch(layer_id) is None
        ):
            raise ContractError("invalid_config", f"layers: the {level} layer needs an id")
        layers.append(
            parse_layer(raw, level=level, layer_id=layer_id if level != "chain" else None)
        )
    return ConfigDocument(version=version, issued_at=issued_at, layers=tuple(layers))


@dataclass(frozen=True, slots=True)
class Effective:
    """One key's effective value and where it came from (``SOURCES``); ``capped_from``: the
    value the ceiling lowered, ``overridden``: what a lock or the file set aside."""

    key: str
    value: Any
    source: str
    capped_from: Any = None
    wanted: Any = None
    wanted_from: str | None = None


def merge(
    layers: Iterable[Layer], *, file_values: Mapping[str, Any] | None = None
) -> dict[str, Effective]:
    """Each key's effective value (every key of :data:`KEYS`), deterministic for its inputs.

    ``layers``: at most one per level, any order; ``file_values``: the keys the
    lane's own config file sets (checked like a layer's, named ``file``).
    """
    by_level: dict[str, Layer] = {}
    for layer in layers:
        if layer.level in by_level:
            raise _fail("invalid_layer", layer.name, None, "given twice")
        by_level[layer.level] = layer
    local = flatten_values(dict(file_values or {}), layer="file") if file_values else {}
    chain = by_level.get("chain")
    result: dict[str, Effective] = {}
    for key in sorted(KEYS):
        spec = KEYS[key]
        value: Any = spec.default
        source = "default"
        for level in ("chain", "store", "lane"):
            held = by_level.get(level)
            if held is not None and key in held.values:
                value, source = held.values[key], level
        if key in local:
            value, source = local[key], "file"
        wanted: Any = None
        wanted_from: str | None = None
        if chain is not None and key in chain.locks and key in chain.values:
            if source != "chain" or value != chain.values[key]:
                wanted, wanted_from = value, source
            value, source = chain.values[key], "lock"
        capped_from: Any = None
        if chain is not None and key in chain.ceilings and value > chain.ceilings[key]:
            capped_from = value
            wanted_from = wanted_from or source
            value, source = chain.ceilings[key], "ceiling"
        result[key] = Effective(key, value, source, capped_from, wanted, wanted_from)
    return result


def parse_value_text(key: str, text: str) -> Any:
    """``KEY=VALUE`` from a command line: the value typed by the key (``LayerError`` if bad)."""
    spec = KEYS.get(key)
    if spec is None:
        raise _fail("unknown_key", "command line", key, "unknown key")
    value: Any = text
    if spec.kind == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise _fail("invalid_value", "command line", key, "must be true or false")
        value = lowered == "true"
    elif spec.kind == "int":
        digits = text.strip().replace(",", "").replace("_", "")
        if not digits.isascii() or not digits.lstrip("-").isdigit():
            raise _fail("invalid_value", "command line", key, "must be a whole number")
        value = int(digits)
    problem = spec.check(value)
    if problem is not None:
        raise _fail("invalid_value", "command line", key, problem)
    return value
