"""The ``[telemetry]`` section of the lane config: where the lane publishes its state (MQTT).

::

    [telemetry]
    url = "mqtts://broker.chain.example"   # mqtt:// or mqtts:// (TLS, verified); "" for none
    merchant_id = "M-0001"                  # the topic's merchant and store (from enrolment)
    store_id = "S-017"
    username = ""                           # default: the terminal id
    password = "..."                        # or password_file = "broker.secret" (mode 600)
    ca_file = ""                            # the chain's own CA, if its broker has one
    keepalive_s = 30
    devices_every_s = 30                    # how often a lane service asks its printer

The whole section is optional: without a URL here or in a config layer
(``telemetry.url``) nothing is published. The password is a secret like the
terminal's token: it lives in this private file (or a private file it names)
and is never logged. Imports the standard library and the project's errors only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pos_client.errors import ConfigError

__all__ = ["TelemetryConfig", "check_broker_url", "parse_telemetry", "telemetry_password"]

_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_KEYS = (
    "url",
    "merchant_id",
    "store_id",
    "username",
    "password",
    "password_file",
    "ca_file",
    "keepalive_s",
    "devices_every_s",
)


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    url: str = ""
    merchant_id: str = ""
    store_id: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    password_file: Path | None = None
    ca_file: Path | None = None
    keepalive_s: int = 30
    devices_every_s: int = 30


def _fail(key: str, what: str) -> ConfigError:
    return ConfigError(f"telemetry.{key}: {what}", key=f"telemetry.{key}")


def check_broker_url(url: str) -> str | None:
    """Why ``url`` is not a broker URL (``mqtt://host[:port]`` or ``mqtts://...``), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a bad port raises)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        return "must be an mqtt:// or mqtts:// URL with a host"
    if parts.username or parts.password:
        return "must not hold a user name or password"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "must not hold a path, query or fragment"
    return None


def parse_telemetry(data: Any, *, base_dir: Path) -> TelemetryConfig:
    """Validate the decoded ``[telemetry]`` table (absent: no telemetry)."""
    if data is None:
        return TelemetryConfig()
    if not isinstance(data, Mapping):
        raise ConfigError("telemetry: must be a [telemetry] section", key="telemetry")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise _fail(unknown[0], "unknown key (misspelt?)")
    text: dict[str, str] = {}
    for key in ("url", "merchant_id", "store_id", "username", "password", "password_file"):
        value = data.get(key, "")
        if not isinstance(value, str):
            raise _fail(key, "must be a string")
        text[key] = value.strip()
    ca_value = data.get("ca_file", "")
    if not isinstance(ca_value, str):
        raise _fail("ca_file", "must be a string")
    if text["url"] and (why := check_broker_url(text["url"])) is not None:
        raise _fail("url", why)
    for key in ("merchant_id", "store_id", "username"):
        if text[key] and _ID.fullmatch(text[key]) is None:
            raise _fail(key, "must be 1-64 letters, digits or . _ : -")
    if text["password"] and text["password_file"]:
        raise _fail("password", "give password or password_file, not both")
    keepalive = data.get("keepalive_s", 30)
    if type(keepalive) is not int or not 1 <= keepalive <= 3600:
        raise _fail("keepalive_s", "must be a whole number between 1 and 3600")
    devices_every = data.get("devices_every_s", 30)
    if type(devices_every) is not int or not 1 <= devices_every <= 3600:
        raise _fail("devices_every_s", "must be a whole number between 1 and 3600")

    def path(value: str) -> Path | None:
        if not value:
            return None
        found = Path(os.path.expanduser(value))
        return found if found.is_absolute() else base_dir / found

    return TelemetryConfig(
        url=text["url"],
        merchant_id=text["merchant_id"],
        store_id=text["store_id"],
        username=text["username"],
        password=text["password"],
        password_file=path(text["password_file"]),
        ca_file=path(ca_value.strip()),
        keepalive_s=keepalive,
        devices_every_s=devices_every,
    )


def telemetry_password(config: TelemetryConfig) -> str:
    """The broker password: ``password``, or the private file ``password_file`` names.

    :class:`ConfigError` for a file that is missing, open to other users (``chmod 600``)
    or empty; the password itself is never part of a message."""
    if config.password_file is None:
        return config.password
    path = config.password_file
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if os.name != "nt" and info.st_mode & 0o077:
                raise _fail(
                    "password_file", f"{path} can be read by other users; `chmod 600 {path}`"
                )
            raw = handle.read(8193)
    except FileNotFoundError:
        raise _fail("password_file", f"no file at {path}") from None
    except OSError as exc:
        raise _fail("password_file", f"cannot read {path}: {exc.strerror}") from None
    text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
    if not text.strip() or len(raw) > 8192:
        raise _fail("password_file", f"{path} holds no usable password")
    return text
