"""The lane's configuration: one TOML file per checkout lane, read once and validated at start.

::

    [terminal]  id, city, shop_name
    [ledger]    url, token, connect_timeout_ms, read_timeout_ms, sale_budget_s,
                stuck_after_hours, rotate_token_days, [ledger.trusted_keys]
    [store]     path
    [offline]   enabled, max_rial_per_transaction, max_rial_per_beneficiary_per_day,
                max_outstanding_rial, max_hours_since_contact
    [ui]        language, currency, rtl
    [devices]   scanners, printer, scale
    [retention] keep_days, archive
    [telemetry] url, merchant_id, store_id, username, password, ca_file, keepalive_s
                (:mod:`pos_client.config_telemetry`)

Everything is parsed with :mod:`tomllib` into frozen dataclasses (the
``[offline]`` limits straight into the domain's
:class:`~pos_client.domain.offline.OfflineLimits`). A value that
is missing, of the wrong type or out of range raises :class:`ConfigError`
whose message starts with the key (``ledger.url: must be https unless the host
is loopback``), so a shopkeeper or installer can fix the file. Unknown keys are
refused too: a misspelt ``max_hours_since_contac`` must not silently become the
default.

Where the file is: ``--config FILE``, else ``POS_CLIENT_CONFIG``, else the
platform's usual place (``$XDG_CONFIG_HOME/pos-client/config.toml`` on Linux,
``~/Library/Application Support/pos-client`` on macOS, ``%APPDATA%\\pos-client``
on Windows). The file holds the terminal's token, so one that other users may
change (group- or other-writable) is refused with the ``chmod`` that fixes it;
a group-writable file is accepted only when its group is the owner's own
(the "user private group" many systems give each user). A relative
``store.path`` is relative to the config file's folder; without one the store
goes to the platform's data folder.

Imports the standard library, the domain's offline limits and signing helpers, and the
project's errors only.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from pos_client.config_telemetry import TelemetryConfig, parse_telemetry
from pos_client.domain.config_layers import KEYS as LAYERABLE_KEYS
from pos_client.domain.errors import ContractError
from pos_client.domain.offline import OfflineLimits
from pos_client.domain.signing import PUBLIC_KEY_BYTES, b64url_decode, is_valid_kid
from pos_client.errors import ConfigError, ConfigFileError

__all__ = [
    "CONFIG_ENV",
    "CONFIG_TEMPLATE",
    "DEFAULT_OFFLINE",
    "Config",
    "ConfigFileError",
    "DevicesConfig",
    "LedgerConfig",
    "RetentionConfig",
    "StoreConfig",
    "TerminalConfig",
    "UiConfig",
    "default_config_path",
    "default_data_dir",
    "insecure_mode_problem",
    "is_loopback_host",
    "load_config",
    "parse_config",
    "resolve_config_path",
    "write_template",
]

CONFIG_ENV = "POS_CLIENT_CONFIG"
APP_DIR_NAME = "pos-client"
_TERMINAL_ID = re.compile(r"[A-Za-z0-9._~:-]{1,64}")
_CITY = re.compile(r"[a-z0-9_-]{1,64}")
_MAX_TIMEOUT_MS = 600_000
_MAX_RIAL = 10**15


@dataclass(frozen=True, slots=True)
class TerminalConfig:
    id: str
    city: str
    shop_name: str = ""


@dataclass(frozen=True, slots=True)
class LedgerConfig:
    url: str  # always ends with "/"
    token: str = field(repr=False)
    connect_timeout_ms: int = 3000
    read_timeout_ms: int = 10000
    trusted_keys: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    sale_budget_s: int = 15  # the whole confirm step, from the cashier's Enter to an outcome
    stuck_after_hours: int = 6  # an outbox item undecided this long is told to a person
    rotate_token_days: int = 30  # the lane rotates its terminal token this often

    @property
    def connect_timeout(self) -> float:
        return self.connect_timeout_ms / 1000

    @property
    def read_timeout(self) -> float:
        return self.read_timeout_ms / 1000


@dataclass(frozen=True, slots=True)
class StoreConfig:
    path: Path


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    """How long the live store keeps a sale's full row before it moves to a monthly archive.

    ``keep_days``: full rows of this many days stay in the store (the programme's
    audit period); older final ones are archived beside it, never deleted
    (``archive = false``: none are).
    """

    keep_days: int = 400
    archive: bool = True


#: The fewest days ``[retention] keep_days`` may keep (a closed month is reconciled by then).
MIN_KEEP_DAYS = 35

#: ``[offline]`` when the config leaves it (or some of its keys) out.
DEFAULT_OFFLINE: OfflineLimits = OfflineLimits(
    enabled=True,
    max_rial_per_transaction=5_000_000,
    max_rial_per_beneficiary_per_day=5_000_000,
    max_outstanding_rial=50_000_000,
    max_hours_since_contact=24,
)


@dataclass(frozen=True, slots=True)
class UiConfig:
    language: str = "fa"
    currency: str = "toman"
    rtl: str = "app"


@dataclass(frozen=True, slots=True)
class DevicesConfig:
    scanners: tuple[str, ...] = ()
    printer: str = ""
    scale: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    terminal: TerminalConfig
    ledger: LedgerConfig
    store: StoreConfig
    offline: OfflineLimits = DEFAULT_OFFLINE
    ui: UiConfig = UiConfig()
    devices: DevicesConfig = DevicesConfig()
    retention: RetentionConfig = RetentionConfig()
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    source: Path | None = None  # the file it was read from
    #: The layerable keys this file sets itself (``offline.enabled`` ...): above every
    #: config layer but a chain's lock or ceiling (see :mod:`pos_client.domain.config_layers`).
    file_values: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


# --------------------------------------------------------------------------- locations


def default_config_dir(
    *, environ: Mapping[str, str] | None = None, platform: str | None = None
) -> Path:
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    home = Path(env.get("HOME") or Path.home())
    if plat.startswith("win"):
        base = env.get("APPDATA")
        return Path(base) / APP_DIR_NAME if base else home / "AppData" / "Roaming" / APP_DIR_NAME
    if plat == "darwin":
        return home / "Library" / "Application Support" / APP_DIR_NAME
    xdg = env.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config") / APP_DIR_NAME


def default_config_path(
    *, environ: Mapping[str, str] | None = None, platform: str | None = None
) -> Path:
    """Where the lane's config lives when no ``--config`` and no ``POS_CLIENT_CONFIG`` say."""
    return default_config_dir(environ=environ, platform=platform) / "config.toml"


def default_data_dir(
    *, environ: Mapping[str, str] | None = None, platform: str | None = None
) -> Path:
    """Where the store goes when the config names none."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    home = Path(env.get("HOME") or Path.home())
    if plat.startswith("win"):
        base = env.get("LOCALAPPDATA") or env.get("APPDATA")
        return Path(base) / APP_DIR_NAME if base else home / "AppData" / "Local" / APP_DIR_NAME
    if plat == "darwin":
        return home / "Library" / "Application Support" / APP_DIR_NAME
    xdg = env.get("XDG_DATA_HOME")
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base_dir / APP_DIR_NAME


def resolve_config_path(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Path:
    """The config file to read: ``path``, else ``$POS_CLIENT_CONFIG``, else the default."""
    env = os.environ if environ is None else environ
    if path:
        return Path(path)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return default_config_path(environ=env)


# --------------------------------------------------------------------------- reading


def insecure_mode_problem(info: os.stat_result) -> str | None:
    """Why a config with this ``stat`` may be changed by other users, or None if it may not.

    Other-writable is always refused; group-writable unless the group is the
    owner's private group (named as the owner, with no other member). Not
    checked on Windows, whose permissions are not mode bits.
    """
    if os.name == "nt":
        return None
    mode = info.st_mode
    if mode & stat.S_IWOTH:
        return "can be changed by any user of this computer"
    if mode & stat.S_IWGRP and not _private_group(info.st_uid, info.st_gid):
        return "can be changed by other users in its group"
    return None


def _private_group(uid: int, gid: int) -> bool:
    import grp
    import pwd

    try:
        owner = pwd.getpwuid(uid).pw_name
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return group.gr_name == owner and set(group.gr_mem) <= {owner}


def load_config(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Read and validate the lane config (see the module docstring for where it is)."""
    env = os.environ if environ is None else environ
    file = resolve_config_path(path, environ=env)
    try:
        with open(file, "rb") as handle:
            problem = insecure_mode_problem(os.fstat(handle.fileno()))
            raw = handle.read()
    except FileNotFoundError:
        raise ConfigFileError(
            f"config: no file at {file} (write one with `pos-client config init`)",
            reason="missing",
        ) from None
    except OSError as exc:
        raise ConfigFileError(
            f"config: cannot read {file}: {exc.strerror}", reason="unreadable"
        ) from None
    if problem is not None:
        raise ConfigFileError(
            f"config: {file} {problem}, and it holds the terminal's token;"
            f" make it private with `chmod 600 {file}`",
            reason="writable",
        )
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigFileError(f"config: {file} is not UTF-8 text", reason="not_toml") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(
            f"config: {file} is not valid TOML ({exc})", reason="not_toml"
        ) from None
    return parse_config(data, base_dir=file.resolve().parent, source=file, environ=env)


class _Section:
    """Typed reads of one TOML table, remembering which keys were used."""

    def __init__(self, data: Mapping[str, Any], name: str) -> None:
        self.data = data
        self.name = name
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.name}.{key}"

    def fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{self.key(key)}: {what}", key=self.key(key))

    def _get(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def string(self, key: str, *, default: str | None = None) -> str:
        value = self._get(key)
        if value is None:
            if default is None:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.fail(key, "must be a string")
        return value

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        if type(value) is not int:
            raise self.fail(key, "must be a whole number")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high}")
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def choice(self, key: str, *, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(key, default=default)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}")
        return value

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return tuple(v for v in value if v)

    def finish(self, *, allowed_tables: tuple[str, ...] = ()) -> None:
        unknown = sorted(set(self.data) - self.used - set(allowed_tables))
        if unknown:
            raise self.fail(unknown[0], "unknown key (misspelt?)")


def _table(data: Mapping[str, Any], name: str, *, required: bool) -> _Section:
    value = data.get(name)
    if value is None:
        if required:
            raise ConfigError(f"{name}: the [{name}] section is required", key=name)
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: must be a [{name}] section", key=name)
    return _Section(value, name)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _ledger_url(section: _Section) -> str:
    url = section.string("url").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise section.fail("url", "is not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise section.fail("url", "must be an https:// URL with a host")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise section.fail("url", "must be https unless the host is loopback")
    if parts.username or parts.password:
        raise section.fail("url", "must not hold a user name or password")
    if parts.query or parts.fragment:
        raise section.fail("url", "must not hold a query or fragment")
    del port
    return url if url.endswith("/") else url + "/"


def _trusted_keys(data: Mapping[str, Any]) -> Mapping[str, bytes]:
    value = data.get("trusted_keys")
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict):
        raise ConfigError("ledger.trusted_keys: must be a table", key="ledger.trusted_keys")
    keys: dict[str, bytes] = {}
    for kid, encoded in value.items():
        key = f"ledger.trusted_keys.{kid}"
        if not is_valid_kid(kid):
            raise ConfigError(f"{key}: not a usable key id", key=key)
        if not isinstance(encoded, str):
            raise ConfigError(f"{key}: must be a base64url string", key=key)
        try:
            raw = b64url_decode(encoded.strip())
        except ContractError:
            raise ConfigError(f"{key}: must be base64url without padding", key=key) from None
        if len(raw) != PUBLIC_KEY_BYTES:
            raise ConfigError(f"{key}: an Ed25519 public key is 32 bytes", key=key)
        keys[kid] = raw
    return MappingProxyType(keys)


def parse_config(
    data: Mapping[str, Any],
    *,
    base_dir: Path,
    source: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate decoded TOML into a :class:`Config` (``ConfigError`` names the bad key)."""
    known = ("terminal", "ledger", "store", "offline", "ui", "devices", "retention", "telemetry")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section (misspelt?)", key=unknown[0])

    t = _table(data, "terminal", required=True)
    terminal_id = t.string("id")
    if _TERMINAL_ID.fullmatch(terminal_id) is None:
        raise t.fail("id", "must be 1-64 letters, digits or . _ ~ : -")
    city = t.string("city")
    if _CITY.fullmatch(city) is None:
        raise t.fail("city", "must be a city id: lowercase letters, digits, - or _")
    terminal = TerminalConfig(
        id=terminal_id, city=city, shop_name=t.string("shop_name", default="")
    )
    t.finish()

    lg = _table(data, "ledger", required=True)
    url = _ledger_url(lg)
    token = lg.string("token").strip()
    if not token or not token.isascii() or any(c.isspace() for c in token):
        raise lg.fail("token", "must be the terminal's token (no spaces)")
    ledger = LedgerConfig(
        url=url,
        token=token,
        connect_timeout_ms=lg.integer(
            "connect_timeout_ms", default=3000, low=1, high=_MAX_TIMEOUT_MS
        ),
        read_timeout_ms=lg.integer("read_timeout_ms", default=10000, low=1, high=_MAX_TIMEOUT_MS),
        trusted_keys=_trusted_keys(lg.data),
        sale_budget_s=lg.integer("sale_budget_s", default=15, low=3, high=600),
        stuck_after_hours=lg.integer("stuck_after_hours", default=6, low=1, high=24 * 31),
        rotate_token_days=lg.integer("rotate_token_days", default=30, low=1, high=366),
    )
    lg.finish(allowed_tables=("trusted_keys",))

    st = _table(data, "store", required=False)
    raw_path = st.string("path", default="")
    if raw_path:
        path = Path(os.path.expanduser(raw_path))
        if not path.is_absolute():
            path = base_dir / path
    else:
        path = default_data_dir(environ=environ) / f"lane-{terminal_id}.sqlite"
    st.finish()

    off = _table(data, "offline", required=False)
    base = DEFAULT_OFFLINE
    offline = OfflineLimits(
        enabled=off.boolean("enabled", default=base.enabled),
        max_rial_per_transaction=off.integer(
            "max_rial_per_transaction", default=base.max_rial_per_transaction, low=0, high=_MAX_RIAL
        ),
        max_rial_per_beneficiary_per_day=off.integer(
            "max_rial_per_beneficiary_per_day",
            default=base.max_rial_per_beneficiary_per_day,
            low=0,
            high=_MAX_RIAL,
        ),
        max_outstanding_rial=off.integer(
            "max_outstanding_rial", default=base.max_outstanding_rial, low=0, high=_MAX_RIAL
        ),
        max_hours_since_contact=off.integer(
            "max_hours_since_contact", default=base.max_hours_since_contact, low=0, high=24 * 31
        ),
    )
    off.finish()

    u = _table(data, "ui", required=False)
    ui = UiConfig(
        language=u.choice("language", default="fa", choices=("fa", "en")),
        currency=u.choice("currency", default="toman", choices=("toman", "rial")),
        rtl=u.choice("rtl", default="app", choices=("app", "terminal")),
    )
    u.finish()

    d = _table(data, "devices", required=False)
    devices = DevicesConfig(
        scanners=d.string_list("scanners"),
        printer=d.string("printer", default=""),
        scale=d.string("scale", default=""),
    )
    for key, url_value in (("printer", devices.printer), ("scale", devices.scale)):
        if url_value and "://" not in url_value:
            raise d.fail(key, "must be a device URL such as dummy:// or serial:///dev/ttyUSB0")
    for scanner in devices.scanners:
        if "://" not in scanner:
            raise d.fail("scanners", "must hold device URLs such as virtual://lane-1")
    d.finish()

    r = _table(data, "retention", required=False)
    retention = RetentionConfig(
        keep_days=r.integer("keep_days", default=400, low=MIN_KEEP_DAYS, high=36_500),
        archive=r.boolean("archive", default=True),
    )
    r.finish()

    file_values = {
        key: data[section][name]
        for key in LAYERABLE_KEYS
        for section, _, name in [key.partition(".")]
        if isinstance(data.get(section), dict) and name in data[section]
    }
    return Config(
        terminal=terminal,
        ledger=ledger,
        store=StoreConfig(path=path),
        offline=offline,
        ui=ui,
        devices=devices,
        retention=retention,
        telemetry=parse_telemetry(data.get("telemetry"), base_dir=base_dir),
        source=source,
        file_values=MappingProxyType(file_values),
    )


# --------------------------------------------------------------------------- template

CONFIG_TEMPLATE = """\
# pos-client lane configuration (one file per checkout lane).
# Keep this file private: it holds the terminal's token.

[terminal]
id = "T-0001"                 # the terminal id the ledger gave this lane
city = "rasht"                # the city the shop is in (purses may be city-bound)
shop_name = ""                # printed on receipts

[ledger]
url = "https://ledger.example/"   # https is required unless the host is loopback
token = "tok_replace_me"          # the terminal's bearer token
connect_timeout_ms = 3000
read_timeout_ms = 10000
sale_budget_s = 15                # from the cashier's Enter to an outcome on screen
stuck_after_hours = 6             # an unsent sale undecided this long goes to the problems list
rotate_token_days = 30            # the lane rotates its token this often (and `token rotate`)

[ledger.trusted_keys]         # kid = base64url Ed25519 public key (rules and tokens)
# k1 = "..."

[store]
# path = "lane.sqlite"        # relative to this file's folder; default: the data folder

[offline]
enabled = true                          # approve within limits when the ledger is unreachable
max_rial_per_transaction = 5000000
max_rial_per_beneficiary_per_day = 5000000
max_outstanding_rial = 50000000         # not yet forwarded, on this terminal
max_hours_since_contact = 24            # since the last answer from the ledger

[ui]                          # defaults: what is picked on the settings screen (F8) wins
language = "fa"               # fa | en
currency = "toman"            # toman | rial
rtl = "app"                   # app | terminal

[devices]
scanners = []                 # device URLs, e.g. ["virtual://lane-1"]
printer = ""                  # e.g. "dummy://"; "" for none
scale = ""                    # "" for none

[retention]
keep_days = 400               # full rows kept in the store; older final ones go to monthly archives
archive = true
"""


def write_template(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write :data:`CONFIG_TEMPLATE` to ``path`` with mode 0600 (refuses to overwrite)."""
    target = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise ConfigError(f"config: {target} already exists", key="config") from None
    except OSError as exc:
        raise ConfigError(f"config: cannot write {target}: {exc.strerror}", key="config") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(CONFIG_TEMPLATE)
    os.chmod(target, 0o600)
    return target
