"""Enrolling this lane with a ledger (``fleet-api.md``, "Enrolment"), and writing its config.

Two ways in, one way out:

- the device flow: ask for a user code, show it, then poll no sooner than the
  ledger's ``interval`` (``slow_down`` adds 5 s for good, as RFC 8628 §3.5
  says) until the ledger answers with credentials, ``access_denied`` or
  ``expired_token``; a ledger that cannot be reached for a moment is waited
  for, not given up on;
- a store code: one request, answered at once.

The ledger's answer may carry the chain's broker for the lane's telemetry
(``telemetry``: ``url``, ``username``, ``password``); it is written into the
config's ``[telemetry]`` section with the merchant and store that name the
lane's topic (the password, like the token, only in that private file). A
malformed ``telemetry`` member is left out with a warning: the lane is
enrolled and sells; only its telemetry waits for a config.

On success the lane's config file is written whole (temp file, fsync, then
linked into place, so it never half exists and an existing file is never
overwritten), mode 0600, with the terminal token in it and nowhere else.
Nothing is written before success.

The ledger client is passed in (:class:`EnrolmentLedger`); built by
:mod:`pos_client.compose`. Imports the standard library and the project's errors.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pos_client.config_telemetry import check_broker_url
from pos_client.errors import ConfigError, LedgerRejected, LedgerUnavailable

log = logging.getLogger(__name__)

SLOW_DOWN_STEP_S = 5
MIN_INTERVAL_S = 1
MAX_INTERVAL_S = 60
#: How long past ``expires_in`` the lane keeps polling a ledger that never says "expired".
EXPIRY_GRACE_S = 60
_CITY = re.compile(r"[a-z0-9_-]{1,64}")
_TERMINAL = re.compile(r"[A-Za-z0-9._~:-]{1,64}")
_TOPIC_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-?[BCDFGHJKLMNPQRSTVWXZ]{4}")


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


class EnrolmentLedger(Protocol):
    def start_enrolment(self, *, hostname: str, software_version: str) -> dict[str, Any]: ...

    def poll_enrolment(self, device_code: str) -> dict[str, Any]: ...

    def enrol_with_code(
        self, code: str, *, hostname: str, software_version: str
    ) -> dict[str, Any]: ...


class Ending(enum.Enum):
    """How an enrolment ended, when it did not end with credentials."""

    DENIED = "denied"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class BrokerCredentials:
    """The chain's MQTT broker for the lane's telemetry (the password never shown)."""

    url: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the ledger hands an enrolled lane (the token never shown, never in a repr)."""

    terminal_id: str
    merchant_id: str
    store_id: str
    city: str
    shop_name: str
    ledger_url: str
    trusted_keys: Mapping[str, str]
    token: str = field(repr=False)
    telemetry: BrokerCredentials | None = None


@dataclass(frozen=True, slots=True)
class UserCode:
    """What the person at the lane sees while the lane waits."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


def normal_user_code(text: str) -> str:
    """``bcdf ghjk`` or ``BCDFGHJK`` as ``BCDF-GHJK``; :class:`ConfigError` if it is not a code."""
    letters = re.sub(r"[\s-]", "", text).upper()
    if _USER_CODE.fullmatch(letters) is None:
        raise ConfigError(
            "a code is eight letters from BCDFGHJKLMNPQRSTVWXZ, written like BCDF-GHJK",
            key="code",
        )
    return f"{letters[:4]}-{letters[4:]}"


def _text(doc: Mapping[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise LedgerUnavailable(f"the ledger's enrolment answer lacks {name}")
    return value


def credentials_from(doc: Mapping[str, Any]) -> Credentials:
    """The credentials in the ledger's ``200`` body, checked before anything is written."""
    keys = doc.get("trusted_keys")
    if (
        not isinstance(keys, dict)
        or not keys
        or not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in keys.items())
    ):
        raise LedgerUnavailable("the ledger's enrolment answer lacks trusted_keys")
    creds = Credentials(
        terminal_id=_text(doc, "terminal_id"),
        merchant_id=_text(doc, "merchant_id"),
        store_id=_text(doc, "store_id"),
        city=_text(doc, "city"),
        shop_name=str(doc.get("shop_name") or ""),
        ledger_url=_text(doc, "ledger_url"),
        trusted_keys=dict(keys),
        token=_text(doc, "token"),
        telemetry=_broker(doc.get("telemetry")),
    )
    if _TERMINAL.fullmatch(creds.terminal_id) is None or _CITY.fullmatch(creds.city) is None:
        raise LedgerUnavailable("the ledger's enrolment answer names a malformed terminal or city")
    if not creds.token.isascii() or any(c.isspace() for c in creds.token):
        raise LedgerUnavailable("the ledger's enrolment answer holds a malformed token")
    return creds


def _broker(value: Any) -> BrokerCredentials | None:
    """The optional ``telemetry`` member, or None (absent, or malformed: told in the log)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        log.warning("the ledger's enrolment answer has a malformed telemetry member; left out")
        return None
    url, username, password = (value.get(k) for k in ("url", "username", "password"))
    fine = (
        isinstance(url, str)
        and check_broker_url(url) is None
        and isinstance(username, str)
        and _TOPIC_ID.fullmatch(username) is not None
        and isinstance(password, str)
        and password
        and "\n" not in password
    )
    if not fine:
        log.warning("the ledger's enrolment answer has a malformed telemetry member; left out")
        return None
    return BrokerCredentials(url=str(url), username=str(username), password=str(password))


def start(ledger: EnrolmentLedger, *, hostname: str, software_version: str) -> tuple[UserCode, str]:
    """Ask for a user code; the code to show and the device code (a secret kept in memory)."""
    doc = ledger.start_enrolment(hostname=hostname, software_version=software_version)
    device_code = _text(doc, "device_code")
    interval = doc.get("interval", 5)
    expires_in = doc.get("expires_in", 600)
    if type(interval) is not int or type(expires_in) is not int or expires_in <= 0:
        raise LedgerUnavailable("the ledger's enrolment answer has a malformed interval or expiry")
    code = UserCode(
        user_code=_text(doc, "user_code"),
        verification_uri=_text(doc, "verification_uri"),
        verification_uri_complete=str(doc.get("verification_uri_complete") or ""),
        expires_in=expires_in,
        interval=min(max(interval, MIN_INTERVAL_S), MAX_INTERVAL_S),
    )
    return code, device_code


def wait(
    ledger: EnrolmentLedger,
    code: UserCode,
    device_code: str,
    *,
    sleep: Callable[[float], None] | None = None,
) -> Credentials | Ending:
    """Poll until the ledger decides (or the code expires)."""
    sleep = sleep or _sleep
    interval = code.interval
    waited = 0.0
    while waited <= code.expires_in + EXPIRY_GRACE_S:
        sleep(interval)
        waited += interval
        try:
            return credentials_from(ledger.poll_enrolment(device_code))
        except LedgerRejected as exc:
            if exc.code == "authorization_pending":
                continue
            if exc.code == "slow_down":
                interval += SLOW_DOWN_STEP_S
                continue
            if exc.code == "access_denied":
                return Ending.DENIED
            if exc.code == "expired_token":
                return Ending.EXPIRED
            raise
        except LedgerUnavailable as exc:
            if exc.retry_after is not None and exc.retry_after > interval:
                sleep(exc.retry_after - interval)
                waited += exc.retry_after - interval
            continue
    return Ending.EXPIRED


def with_code(
    ledger: EnrolmentLedger, code: str, *, hostname: str, software_version: str
) -> Credentials:
    """Enrol at once with a store code (a wrong, used or expired one: ``LedgerRejected``)."""
    doc = ledger.enrol_with_code(
        normal_user_code(code), hostname=hostname, software_version=software_version
    )
    return credentials_from(doc)


# --------------------------------------------------------------------------- the config file


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def lane_config_text(creds: Credentials) -> str:
    """The lane's config (TOML) for ``creds``: its store beside the file, no devices yet."""
    tid = creds.terminal_id
    lines = [
        f"# Written by `pos-client enrol`: terminal {tid} of store {creds.store_id}"
        f" (merchant {creds.merchant_id}). Holds the terminal's token: keep it private (0600).",
        "[terminal]",
        f"id = {_toml(tid)}",
        f"city = {_toml(creds.city)}",
        f"shop_name = {_toml(creds.shop_name)}",
        "",
        "[ledger]",
        f"url = {_toml(creds.ledger_url)}",
        f"token = {_toml(creds.token)}",
        "[ledger.trusted_keys]",
        *(f"{_toml(kid)} = {_toml(key)}" for kid, key in sorted(creds.trusted_keys.items())),
        "",
        "[store]",
        f"path = {_toml(f'lane-{tid}.sqlite')}",
        "",
    ]
    ids = (creds.merchant_id, creds.store_id)
    if all(_TOPIC_ID.fullmatch(i) for i in ids):
        lines += [
            "[telemetry]  # the lane's state on the chain's MQTT broker",
            f"merchant_id = {_toml(creds.merchant_id)}",
            f"store_id = {_toml(creds.store_id)}",
        ]
        if creds.telemetry is not None:
            lines += [
                f"url = {_toml(creds.telemetry.url)}",
                f"username = {_toml(creds.telemetry.username)}",
                f"password = {_toml(creds.telemetry.password)}",
            ]
        lines.append("")
    return "\n".join(lines)


def refuse_existing(path: Path) -> None:
    """A lane config already at ``path`` is never replaced by an enrolment."""
    if path.exists() or path.is_symlink():
        raise ConfigError(
            f"config: {path} already exists (a lane is set up there); enrol with --config"
            " pointing at a new file, or retire that lane first",
            key="config",
        )


def write_lane_config(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` whole and private (0600); refuse if ``path`` exists."""
    refuse_existing(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if something appeared there meanwhile: never overwrite
        except FileExistsError:
            refuse_existing(path)
            raise
    finally:
        tmp.unlink(missing_ok=True)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path
