"""Device URLs: how the lane's configuration names a scanner, a printer or a scale.

A device is written as a URL, in the manner of pyserial's ``serial_for_url``::

    serial:///dev/serial/by-id/usb-Scanner_123-if00?baudrate=9600&suffix=cr
    virtual://lane-T-0001                      a pseudo-terminal scanner for demos and tests
    usb://0416:5011?width=58                   an ESC/POS printer on USB (vendor:product, hex)
    tcp://192.0.2.10:9100                      an ESC/POS printer on the network
    file:///dev/usb/lp0                        an ESC/POS printer through the kernel's usblp
    dummy://                                   a printer that records the bytes it is sent
    virtual-scale://meat?weight=1250           a simulated Mettler Toledo 8217 scale

:func:`parse_device_url` splits such a URL into a frozen :class:`DeviceUrl` and
reads its query parameters with typed helpers; every malformed part raises the
caller's own :class:`~pos_client.errors.DeviceError` subclass (a scanner URL
raises :class:`~pos_client.errors.ScannerError`, and so on), naming the URL.

This module imports only the standard library and :mod:`pos_client.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl, unquote, urlsplit

from pos_client.errors import DeviceError

__all__ = ["DeviceUrl", "check_name", "parse_device_url"]

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _frozen(params: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(params))


@dataclass(frozen=True, slots=True)
class DeviceUrl:
    """One parsed device URL.

    ``host`` is the URL's authority (``"192.0.2.10:9100"``, ``"0416:5011"``,
    the virtual device's name, or ``""``); ``path`` is the unquoted path
    (``"/dev/ttyACM0"``); ``params`` the query parameters (each given once).
    """

    raw: str
    scheme: str
    host: str
    path: str
    params: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    error: type[DeviceError] = DeviceError

    @property
    def without_query(self) -> str:
        """The URL without its query: a stable, readable name for the device."""
        return self.raw.split("?", 1)[0]

    def fail(self, message: str, *, code: str = "device_url_invalid") -> DeviceError:
        """The caller's error for this URL (to be raised by the caller)."""
        return self.error(f"{message} (device {self.without_query!r})", code=code)

    def check_params(self, allowed: Iterable[str]) -> None:
        """Refuse a query parameter this kind of device does not know (a typo)."""
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise self.fail(
                f"unknown option {unknown[0]!r}; known options: {', '.join(sorted(allowed))}"
            )

    def text(self, key: str, default: str) -> str:
        return self.params.get(key, default)

    def choice(self, key: str, default: str, choices: Iterable[str]) -> str:
        value = self.params.get(key, default).lower()
        options = tuple(choices)
        if value not in options:
            raise self.fail(f"option {key} must be one of {', '.join(options)}, not {value!r}")
        return value

    def integer(self, key: str, default: int, *, minimum: int, maximum: int) -> int:
        raw = self.params.get(key)
        if raw is None:
            return default
        if not raw.isascii() or not raw.isdigit():
            raise self.fail(f"option {key} must be a whole number, not {raw!r}")
        value = int(raw)
        if not minimum <= value <= maximum:
            raise self.fail(f"option {key} must be between {minimum} and {maximum}, not {value}")
        return value

    def seconds(self, key: str, default: float, *, maximum: float = 600.0) -> float:
        """A duration given in milliseconds (``timeout_ms=1500``) as seconds."""
        millis = self.integer(key, round(default * 1000), minimum=0, maximum=round(maximum * 1000))
        return millis / 1000

    def flag(self, key: str, default: bool) -> bool:
        raw = self.params.get(key)
        if raw is None:
            return default
        value = raw.lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise self.fail(f"option {key} must be true or false, not {raw!r}")


def check_name(name: str, *, error: type[DeviceError], what: str) -> str:
    """Check a virtual device's name: letters, digits, ``.``, ``_``, ``-``; at most 64."""
    if not _NAME_RE.match(name):
        raise error(
            f"{what} name {name!r} must be 1-64 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit",
            code="device_url_invalid",
        )
    return name


def parse_device_url(url: str, *, error: type[DeviceError] = DeviceError) -> DeviceUrl:
    """Parse ``url``; raise ``error`` (a :class:`DeviceError` subclass) when it is malformed."""
    if not isinstance(url, str) or not url.strip():
        raise error("no device URL given", code="device_url_invalid")
    text = url.strip()
    if "://" not in text:
        raise error(
            f"device {text!r} is not a URL; write e.g. serial:///dev/ttyACM0 or virtual://NAME",
            code="device_url_invalid",
        )
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise error(f"device URL {text!r} is malformed: {exc}", code="device_url_invalid") from exc
    if not _SCHEME_RE.match(scheme):
        raise error(f"device URL {text!r} has no valid scheme", code="device_url_invalid")
    if parts.fragment:
        raise error(f"device URL {text!r} must not have a '#' part", code="device_url_invalid")
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise error(
                f"device URL {text!r} gives option {key!r} twice", code="device_url_invalid"
            )
        params[key] = value
    return DeviceUrl(
        raw=text,
        scheme=scheme,
        host=unquote(parts.netloc),
        path=unquote(parts.path),
        params=_frozen(params),
        error=error,
    )
