"""The ledger contract's common readers: JSON text, fields and times (tolerant, never lax).

What every reader of the contract shares (:mod:`pos_client.domain.contract`
re-exports the public names). The contract's "Conventions" say readers are
tolerant and writers strict, so:

- unknown members are ignored (a newer ledger may add some anywhere);
- an optional member may be absent, ``null`` or, for text, ``""``: all three
  mean "not given" (``_text``/``_int``/``_bool``/``_enum`` with a default,
  ``_optional_id``, ``_optional_int``, ``_optional_time``);
- a required member must be there with its JSON type: integers are JSON
  integers (not ``true``, not ``1.0``), money and quantities are never
  negative and fit a signed 64-bit integer, times are RFC 3339 with an offset.

Every refusal is ``ContractError("malformed", "<field path>: <what is wrong>")``.

Pure: imports the standard library and the domain only; no I/O, no clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pos_client.domain.errors import ContractError

__all__ = ["MAX_INT64", "dump_json", "format_time", "load_json", "parse_time"]

T = TypeVar("T")
JsonObject = dict[str, Any]

MAX_INT64 = 2**63 - 1
_MAX_ID_CHARS = 200
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_GTIN = re.compile(r"[0-9]{8,14}")


def _fail(path: str, what: str) -> ContractError:
    return ContractError("malformed", f"{path or '(document)'}: {what}")


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------- JSON text


def _unique_object(pairs: list[tuple[str, Any]]) -> JsonObject:
    result: JsonObject = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def load_json(body: bytes | str) -> Any:
    """Decode one JSON document strictly (UTF-8, no duplicate keys, no NaN/Infinity)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
        if not isinstance(text, str):
            raise TypeError("not text")
        return json.loads(text, object_pairs_hook=_unique_object, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, TypeError, RecursionError):
        raise _fail("", "not a JSON document") from None


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes of a wire value (what the sandbox sends and signs)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


# --------------------------------------------------------------------------- field readers


def _object(data: object, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
        raise _fail(path, "not an object")
    return data


def _list(data: object, path: str) -> list[Any]:
    if not isinstance(data, list | tuple):
        raise _fail(path, "not a list")
    return list(data)


def _required(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise _fail(_at(path, key), "missing")
    return obj[key]


def _check_text(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, "not a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(path, "not valid text") from None
    return value


def _absent(obj: Mapping[str, Any], key: str) -> bool:
    """An optional member the ledger left out, sent as null or as an empty string."""
    value = obj.get(key)
    return value is None or value == ""


def _text(obj: Mapping[str, Any], key: str, path: str, *, default: str | None = None) -> str:
    if default is not None and obj.get(key) is None:
        return default
    return _check_text(_required(obj, key, path), _at(path, key))


def _ident(value: object, path: str) -> str:
    text = _check_text(value, path)
    if not text or len(text) > _MAX_ID_CHARS or text != text.strip():
        raise _fail(path, f"not an id (1-{_MAX_ID_CHARS} characters, no surrounding space)")
    return text


def _id(obj: Mapping[str, Any], key: str, path: str) -> str:
    return _ident(_required(obj, key, path), _at(path, key))


def _optional_id(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    return None if value is None or value == "" else _ident(value, _at(path, key))


def _check_int(value: object, path: str, *, low: int = 0) -> int:
    if type(value) is not int:
        raise _fail(path, "not an integer")
    if not low <= value <= MAX_INT64:
        raise _fail(path, "out of range")
    return value


def _int(obj: Mapping[str, Any], key: str, path: str, *, default: int | None = None) -> int:
    if default is not None and obj.get(key) is None:
        return default
    return _check_int(_required(obj, key, path), _at(path, key))


def _optional_int(obj: Mapping[str, Any], key: str, path: str, *, low: int = 0) -> int | None:
    value = obj.get(key)
    return None if value is None else _check_int(value, _at(path, key), low=low)


def _bool(obj: Mapping[str, Any], key: str, path: str, *, default: bool | None = None) -> bool:
    if default is not None and obj.get(key) is None:
        return default
    value = _required(obj, key, path)
    if not isinstance(value, bool):
        raise _fail(_at(path, key), "not a boolean")
    return value


def _ids(obj: Mapping[str, Any], key: str, path: str, *, unique: bool = False) -> tuple[str, ...]:
    if key not in obj or obj[key] is None:
        return ()
    where = _at(path, key)
    values = tuple(_ident(v, _at(where, i)) for i, v in enumerate(_list(obj[key], where)))
    if unique:
        _check_unique(values, where)
    return values


def _items(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    parse: Callable[[object, str], T],
    *,
    required: bool = True,
) -> tuple[T, ...]:
    if not required and obj.get(key) is None:
        return ()
    where = _at(path, key)
    return tuple(
        parse(item, _at(where, i)) for i, item in enumerate(_list(_required(obj, key, path), where))
    )


def _check_unique(ids: Iterable[str], path: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise _fail(path, "an id appears twice")
        seen.add(value)


def _enum(
    obj: Mapping[str, Any], key: str, path: str, kind: type[T], *, default: T | None = None
) -> T:
    if default is not None and _absent(obj, key):
        return default
    value = _required(obj, key, path)
    try:
        return kind(value)  # type: ignore[call-arg]
    except ValueError:
        raise _fail(_at(path, key), "not one of the known values") from None


# --------------------------------------------------------------------------- times


def parse_time(value: object, path: str = "time") -> datetime:
    """An RFC 3339 time with an offset as an aware ``datetime`` (``ContractError`` otherwise)."""
    if not isinstance(value, str) or _RFC3339.fullmatch(value) is None:
        raise _fail(path, "not an RFC 3339 time with offset")
    text = value.upper()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(path, "not a real time") from None
    offset = moment.utcoffset()
    if offset is None or abs(offset) >= timedelta(hours=24):
        raise _fail(path, "not an RFC 3339 time with offset")
    return moment


def format_time(moment: datetime, path: str = "time") -> str:
    """An aware ``datetime`` as RFC 3339 (its own offset; UTC if that has seconds)."""
    offset = moment.utcoffset() if isinstance(moment, datetime) else None
    if offset is None:
        raise _fail(path, "a time without an offset cannot be sent")
    if offset % timedelta(minutes=1):
        moment = moment.astimezone(UTC)
    return moment.isoformat()


def _time(obj: Mapping[str, Any], key: str, path: str) -> datetime:
    return parse_time(_required(obj, key, path), _at(path, key))


def _optional_time(obj: Mapping[str, Any], key: str, path: str) -> datetime | None:
    value = obj.get(key)
    return None if value is None or value == "" else parse_time(value, _at(path, key))


def _optional_time_to_wire(moment: datetime | None, path: str) -> str | None:
    return None if moment is None else format_time(moment, path)
